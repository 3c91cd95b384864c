// SPDX-License-Identifier: MIT
// Parsers for single configuration values (booleans, ports, MTUs, prefixes, rules) and their types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "net/ip_address.h"

namespace slirpvpn::config {

// A value parser's answer: the value, or why the text is not one, in words that follow
// "Key: " (e.g. "'10.0.2.300/32' is not an IP prefix").
template <typename T>
using ValueResult = tl::expected<T, std::string>;

// MTU limits: IPv6 needs 1280 (RFC 8200 §5); above 65535 an IP packet cannot be.
inline constexpr uint32_t kMinMtu = 1280;
inline constexpr uint32_t kMaxMtu = 65535;
inline constexpr uint32_t kDefaultMtu = 1420;  // as wg-quick: 1500 - 80 bytes of IPv6+UDP+WG
// libslirp's largest if_mtu (src/slirp.c).
inline constexpr uint32_t kMaxSlirpMtu = 65521;
inline constexpr uint16_t kDefaultListenPort = 51820;

enum class Protocol : uint8_t { kAny, kTcp, kUdp };
std::string_view protocol_name(Protocol protocol) noexcept;  // "any", "tcp", "udp"

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };
std::string_view log_level_name(LogLevel level) noexcept;

// One entry of DenyDestinations / AllowDestinations: "[tcp:|udp:]CIDR[:PORT[-HIGH]]", an IPv6
// CIDR in brackets when a port follows ("[2001:db8::/32]:443").
struct DestinationRule {
  Protocol protocol = Protocol::kAny;
  net::IpPrefix prefix;
  uint16_t port_low = 0;  // 0..65535 when no port is given: every port
  uint16_t port_high = 65535;

  // Hot path (checked per new flow): no allocation. kAny in the rule matches either protocol;
  // `protocol` is what the packet carries (kTcp, kUdp, or kAny for protocols without ports,
  // which only rules without a port range and without a protocol match).
  bool matches(Protocol protocol, const net::IpAddress& address, uint16_t port) const noexcept;
  bool has_port_range() const noexcept { return port_low != 0 || port_high != 65535; }
  std::string to_string() const;
  friend bool operator==(const DestinationRule&, const DestinationRule&) = default;
};

// One ForwardPort: connections to the server's `bind_address:server_port` are forwarded to the
// peer's `client_port` through its slirp network ("tcp:8080:80", "udp:203.0.113.1:5353:53",
// "tcp:[2001:db8::1]:8080:80").
struct ForwardPort {
  Protocol protocol = Protocol::kTcp;          // kTcp or kUdp, never kAny
  std::optional<net::IpAddress> bind_address;  // nullopt: every address (0.0.0.0)
  uint16_t server_port = 0;
  uint16_t client_port = 0;

  // Two forwards would bind the same server socket.
  bool conflicts_with(const ForwardPort& other) const noexcept;
  std::string to_string() const;
  friend bool operator==(const ForwardPort&, const ForwardPort&) = default;
};

// Client Table = off | auto | main | <1..4294967295>.
struct RouteTable {
  enum class Mode : uint8_t { kAuto, kOff, kId };
  Mode mode = Mode::kAuto;
  uint32_t id = 0;  // only for kId
  friend bool operator==(const RouteTable&, const RouteTable&) = default;
};

// Client FwMark = off | <decimal> | 0x<hex>; unset means the client picks one at run time.
struct FwMark {
  enum class Mode : uint8_t { kAuto, kOff, kValue };
  Mode mode = Mode::kAuto;
  uint32_t value = 0;  // only for kValue
  friend bool operator==(const FwMark&, const FwMark&) = default;
};

// The value quoted for an error message: at most 64 characters, non-printable bytes as '?'.
std::string quote(std::string_view value);

// Comma-separated items, each trimmed; an empty item (",," or a trailing comma) is an error,
// and so is an empty list.
ValueResult<std::vector<std::string_view>> split_list(std::string_view value);

// true/false/yes/no/on/off/1/0, any case.
ValueResult<bool> parse_bool(std::string_view text);
// Decimal digits only, within [min, max].
ValueResult<uint64_t> parse_unsigned(std::string_view text, uint64_t min, uint64_t max);
ValueResult<uint16_t> parse_port(std::string_view text, bool allow_zero);
ValueResult<uint32_t> parse_mtu(std::string_view text);
// SlirpMTU: kMinMtu..kMaxSlirpMtu.
ValueResult<uint32_t> parse_slirp_mtu(std::string_view text);
// 0..65535 seconds, or "off" (= 0 = disabled).
ValueResult<std::chrono::seconds> parse_keepalive(std::string_view text);
// 0..86400 seconds, or "off"/"never" (= 0 = never).
ValueResult<std::chrono::seconds> parse_idle_timeout(std::string_view text);
ValueResult<LogLevel> parse_log_level(std::string_view text);
// A flow limit (MaxTcpFlows, ...): 0..kMaxFlowLimit, or "unlimited" (= 0 = no limit).
inline constexpr uint32_t kMaxFlowLimit = 1048576;
ValueResult<uint32_t> parse_flow_limit(std::string_view text);
// RateLimit: bits per second with an optional k/M/G (decimal) suffix, in kMinRateLimit..
// kMaxRateLimit, or 0/"unlimited" (= 0 = no limit).
inline constexpr uint64_t kMinRateLimit = 8000;
inline constexpr uint64_t kMaxRateLimit = 1000ULL * 1000 * 1000 * 1000;
ValueResult<uint64_t> parse_rate_limit(std::string_view text);
// FdReserve: kMinFdReserve..65536 fds kept free for handshakes, the UAPI and reloads.
inline constexpr uint32_t kMinFdReserve = 16;
ValueResult<uint32_t> parse_fd_reserve(std::string_view text);
ValueResult<RouteTable> parse_table(std::string_view text);
ValueResult<FwMark> parse_fwmark(std::string_view text);
ValueResult<net::IpAddress> parse_address(std::string_view text);
ValueResult<net::IpPrefix> parse_prefix(std::string_view text);
ValueResult<net::InterfaceAddress> parse_interface_address(std::string_view text);
// host:port, host a name, IPv4 or [IPv6]; not resolved.
ValueResult<net::HostPort> parse_host_port(std::string_view text);
ValueResult<DestinationRule> parse_destination_rule(std::string_view text);
ValueResult<ForwardPort> parse_forward_port(std::string_view text);
// A DNS search domain: labels of letters, digits, '-' and '_', dots between, at most 253.
bool is_search_domain(std::string_view text) noexcept;

}  // namespace slirpvpn::config
