// SPDX-License-Identifier: MIT
// Inner packet address extraction and the AllowedIPs check.
#include "client/allowed_ips.h"

#include <array>
#include <utility>

namespace slirpvpn::client {

std::optional<InnerAddresses> inner_addresses(std::span<const uint8_t> packet) noexcept {
  if (packet.empty()) return std::nullopt;
  const unsigned version = packet[0] >> 4;
  if (version == 4) {
    // IPv4 header: source at 12..15, destination at 16..19 (RFC 791).
    if (packet.size() < 20) return std::nullopt;
    std::array<uint8_t, 4> source{}, destination{};
    for (size_t i = 0; i < 4; ++i) {
      source[i] = packet[12 + i];
      destination[i] = packet[16 + i];
    }
    return InnerAddresses{net::IpAddress::v4(source), net::IpAddress::v4(destination)};
  }
  if (version == 6) {
    // IPv6 header: source at 8..23, destination at 24..39 (RFC 8200).
    if (packet.size() < 40) return std::nullopt;
    std::array<uint8_t, 16> source{}, destination{};
    for (size_t i = 0; i < 16; ++i) {
      source[i] = packet[8 + i];
      destination[i] = packet[24 + i];
    }
    return InnerAddresses{net::IpAddress::v6(source), net::IpAddress::v6(destination)};
  }
  return std::nullopt;
}

AllowedIps::AllowedIps(std::vector<net::IpPrefix> prefixes) : prefixes_(std::move(prefixes)) {}

bool AllowedIps::contains(const net::IpAddress& address) const noexcept {
  for (const auto& prefix : prefixes_) {
    if (prefix.contains(address)) return true;
  }
  return false;
}

}  // namespace slirpvpn::client
