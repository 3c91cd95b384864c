// SPDX-License-Identifier: MIT
// IPv4/IPv6 socket addresses: parsing "a.b.c.d:port" / "[v6]:port", printing, comparing.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slirpvpn::wanem {

// A sockaddr_in or sockaddr_in6 by value. Equality compares family, address and port only.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  // "198.51.100.1:51820", "[2001:db8::1]:51820"; the port may be omitted when !need_port
  // (then 0). Nothing for anything else (names are not resolved: tests use literals).
  static std::optional<SocketAddress> parse(std::string_view text, bool need_port = true);
  // Wildcard address (0.0.0.0 / ::) of `family`, port 0.
  static SocketAddress any(int family);

  int family() const noexcept { return storage.ss_family; }
  uint16_t port() const noexcept;
  void set_port(uint16_t port) noexcept;
  const sockaddr* sockaddr_ptr() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  std::string to_string() const;
  bool operator==(const SocketAddress& other) const noexcept;
};

// The same comparison on a raw sockaddr_storage (as filled by recvmmsg), without copying.
bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) noexcept;

}  // namespace slirpvpn::wanem
