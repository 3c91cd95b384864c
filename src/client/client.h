// SPDX-License-Identifier: MIT
// The slirpvpn client program: brings the tunnel up (TUN, routes, DNS, kill switch), runs the
// data path until SIGINT/SIGTERM, and leaves the host exactly as it found it.
//
// Theory of operation
//   Start: load the config; take the per-interface lock (a second client on the same name is
//   refused); undo whatever a previous run that died left behind (its journal); resolve the
//   endpoint (or take the cached address when a leftover kill switch would block DNS); create
//   the TUN (MTU, addresses, up); then, each change journaled before it is made: the kill
//   switch, the src_valid_mark sysctl, routes and rules (route_plan.h), DNS (dns.h).
//   Run: the event loop carries the data path (tunnel.h), signals (INT/TERM stop, USR1 prints
//   counters), a netlink monitor that rebinds the UDP socket when the host's addresses or
//   routes change, and a periodic re-resolution of a named endpoint while handshakes fail.
//   Stop: undo the journal in reverse, close the TUN, remove the journal.
//   `--down`: undo a journal left by a client that was killed (refused while one runs).
//
//   Files in the state directory (/run/slirpvpn by default, per interface NAME): NAME.lock
//   (flock, holds the PID), NAME.state (the journal), NAME.endpoint (the last resolved
//   endpoint, kept across runs so a restart under the kill switch needs no DNS),
//   NAME.resolv.conf (the original resolv.conf while it is rewritten in place).
#pragma once

#include <string>

namespace slirpvpn::client {

struct ClientOptions {
  std::string config_path;
  std::string interface;  // empty: from the config file name (wg-quick's rule)
  std::string state_dir = "/run/slirpvpn";
  std::string resolv_conf = "/etc/resolv.conf";
};

// Runs until SIGINT/SIGTERM; returns the process exit code (0 after a clean stop). Errors are
// logged (spdlog) with what to do about them.
int run_client(const ClientOptions& options);

// Undoes a dead client's changes; returns the exit code.
int down_client(const ClientOptions& options);

// Arms only the kill switch of the configuration (early at boot, before the network) and
// exits; the client started later takes the table over without a gap. Returns the exit code.
int arm_kill_switch(const ClientOptions& options);

}  // namespace slirpvpn::client
