// SPDX-License-Identifier: MIT
// The kill switch: an nftables table of ours that lets nothing leave the host outside the
// tunnel, applied through libnftables.
//
// Theory of operation
//   One `inet` table per client interface ("slirpvpn_" + the interface name with anything but
//   letters, digits and '_' turned into '_'), with an output and a forward chain whose policy
//   is drop. Accepted: loopback; anything leaving through the TUN; our own UDP to the
//   endpoint (destination address, port and, when we mark, the socket's mark); neighbour
//   discovery and router solicitation, and DHCP/DHCPv6 clients, so the uplink keeps working.
//   Everything else is rejected (an immediate error for applications, nothing on the wire):
//   DNS in the clear included. ARP is not IP and never reaches an inet table.
//
//   The table is installed in one nft transaction that also replaces a previous version of it
//   ("table …; delete table …; table … { … }"), so a restart under the kill switch never opens
//   a gap. The kernel keeps the table when the process dies, even by kill -9: only a normal
//   stop or `slirpvpn client --down` removes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "net/ip_address.h"

namespace slirpvpn::client {

std::string kill_switch_table_name(std::string_view interface);

struct KillSwitchSpec {
  std::string table;      // kill_switch_table_name(interface)
  std::string interface;  // the TUN
  net::Endpoint endpoint;
  std::optional<uint32_t> fwmark;  // our socket's SO_MARK, if any
};

// The nft script that (re)creates the table atomically. Pure, for tests.
std::string render_kill_switch(const KillSwitchSpec& spec);

// Runs an nft script through libnftables; the error carries nft's own message.
Expected<void> run_nft(std::string_view script);
// Installs the table (render_kill_switch + run_nft).
Expected<void> apply_kill_switch(const KillSwitchSpec& spec);
// Deletes `table` if it exists.
Expected<void> remove_nft_table(std::string_view table);
// True when `table` exists in the inet family.
bool nft_table_exists(std::string_view table);

}  // namespace slirpvpn::client
