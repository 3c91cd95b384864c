// SPDX-License-Identifier: MIT
// Translates the server configuration into one peer's libslirp session settings.
#pragma once

#include <vector>

#include "config/server_config.h"
#include "net/ip_address.h"
#include "slirp/slirp_session.h"

namespace slirpvpn::server {

// `server_addresses` are the host's own addresses, which the egress policy refuses.
slirp::SessionConfig make_session_config(const config::ServerInterface& interface,
                                         const config::ServerPeer& peer,
                                         const std::vector<net::IpAddress>& server_addresses);

// The peer's flow limits: its [Peer] keys, else the [Interface]'s, else slirp's defaults.
slirp::FlowLimits flow_limits(const config::ServerInterface& interface,
                              const config::ServerPeer& peer);

// Every address configured on the host's interfaces (getifaddrs), loopback included.
std::vector<net::IpAddress> host_addresses();

}  // namespace slirpvpn::server
