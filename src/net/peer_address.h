// SPDX-License-Identifier: MIT
// Conversions between the socket layer's Endpoint and the protocol core's PeerAddress.
#pragma once

#include <algorithm>

#include "net/ip_address.h"
#include "wireguard/peer_address.h"

namespace slirpvpn::net {

// IPv4-mapped IPv6 addresses (from a dual-stack socket) become IPv4, so that roaming and
// cookies see one address per host.
inline wireguard::PeerAddress to_peer_address(const Endpoint& endpoint) noexcept {
  wireguard::PeerAddress result;
  const IpAddress address = endpoint.address.unmapped();
  const auto bytes = address.bytes();
  result.family = address.is_v4() ? 4 : 6;
  std::copy(bytes.begin(), bytes.end(), result.address.begin());
  result.port = endpoint.port;
  return result;
}

inline Endpoint to_endpoint(const wireguard::PeerAddress& peer) noexcept {
  Endpoint endpoint;
  if (peer.family == 4) {
    endpoint.address =
        IpAddress::v4({peer.address[0], peer.address[1], peer.address[2], peer.address[3]});
  } else {
    endpoint.address = IpAddress::v6(peer.address);
  }
  endpoint.port = peer.port;
  return endpoint;
}

}  // namespace slirpvpn::net
