// SPDX-License-Identifier: MIT
// The server's AllowedIPs as the client checks them: which inner packets may come out of, and
// go into, the tunnel.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "net/ip_address.h"

namespace slirpvpn::client {

// The source and destination of an IPv4 or IPv6 packet; nullopt when the bytes are too short
// for the header their version nibble announces, or the version is neither 4 nor 6.
struct InnerAddresses {
  net::IpAddress source;
  net::IpAddress destination;
};
std::optional<InnerAddresses> inner_addresses(std::span<const uint8_t> packet) noexcept;

// A fixed list of prefixes (the peer's AllowedIPs). Built once at start-up; contains() is a
// linear scan without allocation: a client has a handful of prefixes, and a linear scan of
// a few beats a trie's pointer chasing. Thread-safe for concurrent readers.
class AllowedIps {
 public:
  explicit AllowedIps(std::vector<net::IpPrefix> prefixes);
  bool contains(const net::IpAddress& address) const noexcept;
  const std::vector<net::IpPrefix>& prefixes() const noexcept { return prefixes_; }

 private:
  std::vector<net::IpPrefix> prefixes_;
};

}  // namespace slirpvpn::client
