// SPDX-License-Identifier: MIT
// What a SIGHUP reload changes: the running peers against the re-read file (as `wg syncconf`
// does: the file is the source of truth, run-time `wg set` changes last until the next reload).
// Pure, no I/O.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "config/server_config.h"
#include "crypto/x25519.h"

namespace slirpvpn::server {

// One peer that is in both, with what differs. Fields the file does not set at run time stay
// as they are: an endpoint learnt by roaming is kept unless the file's Endpoint line changed.
struct PeerUpdate {
  size_t index = 0;  // into the file's peers
  bool preshared_key = false;
  bool allowed_ips = false;
  bool keepalive = false;
  bool endpoint = false;  // the file's Endpoint changed (set it again)
  bool name = false;
  // MTU or ForwardPort changed: the peer's slirp network is rebuilt (its flows end); its
  // WireGuard session and keys are kept.
  bool session = false;
  // The [Peer]'s flow limits changed: they apply to the running session's new flows (a
  // RateLimit at once).
  bool flow_limits = false;

  bool any() const noexcept {
    return preshared_key || allowed_ips || keepalive || endpoint || name || session || flow_limits;
  }
};

struct ReloadPlan {
  std::vector<crypto::PublicKey> removed;  // running, not in the file
  std::vector<size_t> added;               // file peers not running (indices into the file)
  std::vector<PeerUpdate> updated;         // running and in the file, with differences
  size_t unchanged = 0;
  // [Interface] settings that differ but need a restart (key, port, networks, policy); the
  // running values are kept and each is named in the log.
  std::vector<std::string> needs_restart;
};

// `running` holds each running peer's configuration as it is now (the file's values at the last
// load plus `wg set` changes; its `endpoint` is the file's Endpoint line at the last load).
ReloadPlan plan_reload(const config::ServerInterface& running_interface,
                       std::span<const config::ServerPeer* const> running,
                       const config::ServerConfig& file);

}  // namespace slirpvpn::server
