// SPDX-License-Identifier: MIT
// A UDP endpoint as the protocol core sees it: address bytes and port, no OS types.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace slirpvpn::wireguard {

struct PeerAddress {
  uint8_t family = 0;                 // 0 = none, 4 or 6
  std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  uint16_t port = 0;

  bool operator==(const PeerAddress&) const = default;
  bool empty() const noexcept { return family == 0; }
  // The bytes a cookie is bound to (§5.4.7: "the source IP address and port").
  size_t cookie_input(std::span<uint8_t, 18> out) const noexcept {
    const size_t length = family == 4 ? 4 : 16;
    for (size_t i = 0; i < length; ++i) out[i] = address[i];
    out[length] = uint8_t(port >> 8);
    out[length + 1] = uint8_t(port);
    return length + 2;
  }
};

}  // namespace slirpvpn::wireguard
