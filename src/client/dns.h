// SPDX-License-Identifier: MIT
// Pointing the host's resolver at the tunnel's DNS servers while the client runs, and putting
// it back exactly.
//
// Theory of operation
//   Three ways, chosen in this order:
//   - /etc/resolv.conf is a mount point of its own (`ip netns exec` bind-mounts
//     /etc/netns/NAME/resolv.conf there, containers do the same): rewrite it in place;
//   - systemd-resolved runs (/run/systemd/resolve exists and resolvectl is installed):
//     `resolvectl dns/domain/default-route` on the TUN link; resolved forgets it when the link
//     goes away, so even a crash needs no cleanup;
//   - resolvconf is installed: `resolvconf -a IFACE -m 0 -x` with our lines, `-d` to undo;
//   - otherwise rewrite /etc/resolv.conf in place.
//   In place means the same inode (O_TRUNC and write, never rename): a bind mount or a
//   symlink target stays what it was. The original bytes go to a backup file first (fsync'd),
//   so a crash leaves what `--down` needs to restore them byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/host_changes.h"
#include "common/error.h"
#include "net/ip_address.h"

namespace slirpvpn::client {

// "nameserver A\n..." then "search d1 d2\n" when there are search domains, under a comment
// naming the interface.
std::string render_resolv_conf(const std::vector<net::IpAddress>& servers,
                               const std::vector<std::string>& search, std::string_view interface);

struct DnsSettings {
  std::vector<net::IpAddress> servers;
  std::vector<std::string> search;
  std::string interface;
  std::string resolv_conf = "/etc/resolv.conf";
  std::string backup;  // the backup file for the in-place method
};

// Decides the method (see above); never fails.
DnsChange::Method choose_dns_method(const std::string& resolv_conf);

// Applies `settings` with `method`; `journal` records the change first.
Expected<void> apply_dns(const DnsSettings& settings, DnsChange::Method method,
                         HostJournal& journal);

// Undoes one recorded DNS change. In place: restores the backup's bytes and removes the backup
// (a missing backup means nothing was written yet: success).
Expected<void> undo_dns(const DnsChange& change);

// Whole-file helpers, exposed for tests: read all bytes; write all bytes into the existing
// file (same inode) and fsync; write a new file (mode 0600) and fsync.
Expected<std::string> read_whole_file(const std::string& path);
Expected<void> rewrite_in_place(const std::string& path, std::string_view bytes);
Expected<void> write_new_file(const std::string& path, std::string_view bytes);

}  // namespace slirpvpn::client
