// SPDX-License-Identifier: MIT
// IP address, prefix and UDP endpoint value types (IPv4 and IPv6), parsed from and printed as text.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace slirpvpn::net {

// An IPv4 or IPv6 address, bytes in network order. A plain value: copy freely; thread-safe as
// any const value is. Default-constructed: 0.0.0.0.
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv6 address here: it is never equal to
// the IPv4 address and never inside an IPv4 prefix. Use `unmapped()` where a dual-stack socket
// hands you one.
class IpAddress {
 public:
  IpAddress() noexcept = default;

  static IpAddress v4(std::array<uint8_t, 4> bytes) noexcept;
  static IpAddress v6(std::array<uint8_t, 16> bytes) noexcept;
  // 4 bytes make an IPv4 address, 16 an IPv6 one; any other size is nullopt.
  static std::optional<IpAddress> from_bytes(std::span<const uint8_t> bytes) noexcept;

  // Dotted quad ("10.0.2.15", no leading zeros, exactly 4 parts) or RFC 4291 text
  // ("fec0::15", "::ffff:10.0.2.15"); no brackets, no zone ("%eth0"), no surrounding spaces.
  static std::optional<IpAddress> parse(std::string_view text);

  // "10.0.2.15" / "fec0::15" (RFC 5952 compressed form, as inet_ntop prints).
  std::string to_string() const;

  bool is_v4() const noexcept { return is_v4_; }
  bool is_v6() const noexcept { return !is_v4_; }
  // 4 bytes for IPv4, 16 for IPv6, network order; valid as long as this object.
  std::span<const uint8_t> bytes() const noexcept {
    return std::span<const uint8_t>(bytes_.data(), is_v4_ ? 4 : 16);
  }
  // Maximum prefix length: 32 or 128.
  uint8_t bit_length() const noexcept { return is_v4_ ? 32 : 128; }

  bool is_unspecified() const noexcept;  // 0.0.0.0 or ::
  bool is_loopback() const noexcept;     // 127.0.0.0/8 or ::1
  bool is_v4_mapped() const noexcept;    // ::ffff:0:0/96
  // ::ffff:a.b.c.d for an IPv4 address; an IPv6 address unchanged.
  IpAddress to_v4_mapped() const noexcept;
  // a.b.c.d for ::ffff:a.b.c.d; anything else unchanged.
  IpAddress unmapped() const noexcept;

  // Orders every IPv4 address before every IPv6 address, then bytewise (numeric order).
  friend bool operator==(const IpAddress&, const IpAddress&) noexcept = default;
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) noexcept;

 private:
  // Unused trailing bytes of an IPv4 address stay zero, so defaulted == is exact.
  std::array<uint8_t, 16> bytes_{};
  bool is_v4_ = true;
};

// A network: an address whose host bits are zero, and a prefix length (0..32 or 0..128).
// Always canonical: constructing from an address with host bits set clears them.
class IpPrefix {
 public:
  IpPrefix() noexcept = default;  // 0.0.0.0/0
  // Clears the host bits. `length` must be <= address.bit_length() (asserted).
  IpPrefix(const IpAddress& address, uint8_t length) noexcept;

  // "10.0.2.0/24", "fec0::/64"; a bare address means /32 or /128. Host bits set in the text
  // ("10.0.2.15/24") are accepted and cleared, as `wg` does for AllowedIPs. nullopt for bad
  // text or a length out of range ("/33", "/-1", "/" alone, leading '+').
  static std::optional<IpPrefix> parse(std::string_view text);

  const IpAddress& address() const noexcept { return address_; }
  uint8_t length() const noexcept { return length_; }
  bool is_v4() const noexcept { return address_.is_v4(); }

  // Hot path: no allocation. An IPv4 address never matches an IPv6 prefix and vice versa
  // (so ::ffff:10.0.2.15 is not in 10.0.2.0/24, and nothing v6 is in 0.0.0.0/0).
  bool contains(const IpAddress& address) const noexcept;
  // True when every address of `other` is in this prefix (same family, not shorter).
  bool contains(const IpPrefix& other) const noexcept;
  bool overlaps(const IpPrefix& other) const noexcept;

  // Always with the length: "10.0.2.15/32".
  std::string to_string() const;

  friend bool operator==(const IpPrefix&, const IpPrefix&) noexcept = default;
  friend std::strong_ordering operator<=>(const IpPrefix& a, const IpPrefix& b) noexcept;

 private:
  IpAddress address_;
  uint8_t length_ = 0;
};

// An address assigned to an interface together with its network length, as wg-quick's
// `Address = 10.0.2.2/24`: unlike IpPrefix, the host bits are the point and are kept.
struct InterfaceAddress {
  IpAddress address;
  uint8_t length = 32;

  // "10.0.2.2/24"; a bare address means /32 or /128.
  static std::optional<InterfaceAddress> parse(std::string_view text);
  IpPrefix network() const noexcept { return IpPrefix(address, length); }
  std::string to_string() const;
  friend bool operator==(const InterfaceAddress&, const InterfaceAddress&) noexcept = default;
};

// A UDP endpoint: address and port (host order). Value type.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;

  // "198.51.100.1:51820" or "[2001:db8::1]:51820"; the port is 1..65535 in decimal. A bare
  // IPv6 address without brackets is refused (the last colon would be ambiguous).
  static std::optional<Endpoint> parse(std::string_view text);
  // From a received source address: AF_INET or AF_INET6 (kept as given, so a dual-stack
  // socket yields ::ffff:a.b.c.d; call unmapped() to compare with IPv4 endpoints); any other
  // family is nullopt. `address` must point at a sockaddr of at least the size its family needs.
  static std::optional<Endpoint> from_sockaddr(const sockaddr* address) noexcept;

  // Fills `storage` (sockaddr_in or sockaddr_in6, zeroed first) and returns its length.
  socklen_t to_sockaddr(sockaddr_storage& storage) const noexcept;
  // "198.51.100.1:51820", "[2001:db8::1]:51820".
  std::string to_string() const;
  // The same port with address.unmapped().
  Endpoint unmapped() const noexcept { return Endpoint{address.unmapped(), port}; }

  friend bool operator==(const Endpoint&, const Endpoint&) noexcept = default;
  friend std::strong_ordering operator<=>(const Endpoint& a, const Endpoint& b) noexcept;
};

// Splits "host:port" / "[v6]:port" into the host text (brackets removed) and the port, without
// resolving; nullopt when the port is missing, not decimal, 0 or above 65535, or the host empty.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  static std::optional<HostPort> parse(std::string_view text);
  std::string to_string() const;  // brackets again around an IPv6 literal
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Resolves `host` (a name, an IPv4 literal, or an IPv6 literal with or without brackets) for
// UDP. A literal never touches the resolver; a name goes through getaddrinfo (blocking: call it
// at start-up or from a thread that may block). Results are de-duplicated, in resolver order.
Expected<std::vector<Endpoint>> resolve_endpoint(std::string_view host, uint16_t port);

// Text form for logs and test failure messages.
std::ostream& operator<<(std::ostream& out, const IpAddress& address);
std::ostream& operator<<(std::ostream& out, const IpPrefix& prefix);
std::ostream& operator<<(std::ostream& out, const Endpoint& endpoint);

}  // namespace slirpvpn::net

template <>
struct std::hash<slirpvpn::net::IpAddress> {
  size_t operator()(const slirpvpn::net::IpAddress& address) const noexcept;
};
template <>
struct std::hash<slirpvpn::net::Endpoint> {
  size_t operator()(const slirpvpn::net::Endpoint& endpoint) const noexcept;
};
