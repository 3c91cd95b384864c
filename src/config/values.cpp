// SPDX-License-Identifier: MIT
// Single-value parsers: strict text in, typed value or a reason out.
#include "config/values.h"

#include <algorithm>

#include "config/ini.h"

namespace slirpvpn::config {

namespace {

tl::unexpected<std::string> bad(std::string_view text, std::string_view what) {
  return tl::unexpected<std::string>(quote(text) + " " + std::string(what));
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && equals_ignore_case(text.substr(0, prefix.size()), prefix);
}

// Strips a "tcp:" / "udp:" prefix.
Protocol take_protocol(std::string_view& text) noexcept {
  if (starts_with_ignore_case(text, "tcp:")) {
    text.remove_prefix(4);
    return Protocol::kTcp;
  }
  if (starts_with_ignore_case(text, "udp:")) {
    text.remove_prefix(4);
    return Protocol::kUdp;
  }
  return Protocol::kAny;
}

bool is_digits(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string_view protocol_name(Protocol protocol) noexcept {
  switch (protocol) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kAny:
      break;
  }
  return "any";
}

std::string_view log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

bool DestinationRule::matches(Protocol packet_protocol, const net::IpAddress& address,
                              uint16_t port) const noexcept {
  if (protocol != Protocol::kAny && protocol != packet_protocol) return false;
  if (!prefix.contains(address)) return false;
  if (packet_protocol == Protocol::kAny) return !has_port_range();
  return port >= port_low && port <= port_high;
}

std::string DestinationRule::to_string() const {
  std::string text;
  if (protocol != Protocol::kAny) text = std::string(protocol_name(protocol)) + ":";
  if (!has_port_range()) return text + prefix.to_string();
  text += prefix.is_v4() ? prefix.to_string() : "[" + prefix.to_string() + "]";
  text += ":" + std::to_string(port_low);
  if (port_high != port_low) text += "-" + std::to_string(port_high);
  return text;
}

bool ForwardPort::conflicts_with(const ForwardPort& other) const noexcept {
  if (protocol != other.protocol || server_port != other.server_port) return false;
  // A wildcard bind (no address) takes the port on every address.
  return !bind_address || !other.bind_address || *bind_address == *other.bind_address;
}

std::string ForwardPort::to_string() const {
  std::string text(protocol_name(protocol));
  text += ":";
  if (bind_address) {
    text +=
        bind_address->is_v4() ? bind_address->to_string() : "[" + bind_address->to_string() + "]";
    text += ":";
  }
  return text + std::to_string(server_port) + ":" + std::to_string(client_port);
}

std::string quote(std::string_view value) {
  constexpr size_t kMaxQuoted = 64;
  std::string text = "'";
  for (size_t i = 0; i < value.size() && i < kMaxQuoted; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    text += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  }
  if (value.size() > kMaxQuoted) text += "...";
  return text + "'";
}

ValueResult<std::vector<std::string_view>> split_list(std::string_view value) {
  std::vector<std::string_view> items;
  if (trim(value).empty()) return tl::unexpected<std::string>("the value is empty");
  size_t position = 0;
  while (true) {
    const size_t comma = value.find(',', position);
    const auto item = trim(value.substr(position, comma - position));
    if (item.empty()) return tl::unexpected<std::string>("empty item in a comma-separated list");
    items.push_back(item);
    if (comma == std::string_view::npos) break;
    position = comma + 1;
  }
  return items;
}

ValueResult<bool> parse_bool(std::string_view text) {
  for (const char* yes : {"true", "yes", "on", "1"}) {
    if (equals_ignore_case(text, yes)) return true;
  }
  for (const char* no : {"false", "no", "off", "0"}) {
    if (equals_ignore_case(text, no)) return false;
  }
  return bad(text, "is not a boolean (true/false, yes/no, on/off, 1/0)");
}

ValueResult<uint64_t> parse_unsigned(std::string_view text, uint64_t min, uint64_t max) {
  const std::string range = "(" + std::to_string(min) + ".." + std::to_string(max) + ")";
  if (!is_digits(text) || text.size() > 19) return bad(text, "is not a number " + range);
  uint64_t value = 0;
  for (char c : text) value = value * 10 + uint64_t(c - '0');
  if (value < min || value > max) return bad(text, "is out of range " + range);
  return value;
}

ValueResult<uint16_t> parse_port(std::string_view text, bool allow_zero) {
  auto value = parse_unsigned(text, allow_zero ? 0 : 1, 65535);
  if (!value)
    return bad(text, allow_zero ? "is not a port (0..65535)" : "is not a port (1..65535)");
  return uint16_t(*value);
}

ValueResult<uint32_t> parse_mtu(std::string_view text) {
  return parse_unsigned(text, kMinMtu, kMaxMtu).map([](uint64_t v) { return uint32_t(v); });
}

ValueResult<uint32_t> parse_slirp_mtu(std::string_view text) {
  return parse_unsigned(text, kMinMtu, kMaxSlirpMtu).map([](uint64_t v) { return uint32_t(v); });
}

ValueResult<std::chrono::seconds> parse_keepalive(std::string_view text) {
  if (equals_ignore_case(text, "off")) return std::chrono::seconds(0);
  auto value = parse_unsigned(text, 0, 65535);
  if (!value) return bad(text, "is not a number of seconds (0..65535) or 'off'");
  return std::chrono::seconds(*value);
}

ValueResult<std::chrono::seconds> parse_idle_timeout(std::string_view text) {
  if (equals_ignore_case(text, "off") || equals_ignore_case(text, "never")) {
    return std::chrono::seconds(0);
  }
  auto value = parse_unsigned(text, 0, 86400);
  if (!value) return bad(text, "is not a number of seconds (0..86400), 'off' or 'never'");
  return std::chrono::seconds(*value);
}

ValueResult<uint32_t> parse_flow_limit(std::string_view text) {
  if (equals_ignore_case(text, "unlimited")) return 0;
  auto value = parse_unsigned(text, 0, kMaxFlowLimit);
  if (!value) {
    return bad(text, "is not a limit (0.." + std::to_string(kMaxFlowLimit) +
                         ", 0 or 'unlimited' for none)");
  }
  return uint32_t(*value);
}

ValueResult<uint64_t> parse_rate_limit(std::string_view text) {
  if (equals_ignore_case(text, "unlimited")) return 0;
  const auto fail = [&] {
    return bad(text,
               "is not a rate in bits per second (e.g. 8000, 500k, 100M, 1G; 0 or "
               "'unlimited' for none)");
  };
  uint64_t multiplier = 1;
  std::string_view digits = text;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        multiplier = 1000;
        break;
      case 'm':
      case 'M':
        multiplier = 1000 * 1000;
        break;
      case 'g':
      case 'G':
        multiplier = 1000 * 1000 * 1000;
        break;
      default:
        break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  auto value = parse_unsigned(digits, 0, kMaxRateLimit / multiplier);
  if (!value) return fail();
  const uint64_t rate = *value * multiplier;
  if (rate != 0 && rate < kMinRateLimit) {
    return bad(text, "is below the smallest rate limit, " + std::to_string(kMinRateLimit) +
                         " bits per second");
  }
  return rate;
}

ValueResult<uint32_t> parse_fd_reserve(std::string_view text) {
  return parse_unsigned(text, kMinFdReserve, 65536).map([](uint64_t v) { return uint32_t(v); });
}

ValueResult<LogLevel> parse_log_level(std::string_view text) {
  for (auto level : {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    if (equals_ignore_case(text, log_level_name(level))) return level;
  }
  return bad(text, "is not a log level (error, warn, info, debug)");
}

ValueResult<RouteTable> parse_table(std::string_view text) {
  if (equals_ignore_case(text, "auto")) return RouteTable{RouteTable::Mode::kAuto, 0};
  if (equals_ignore_case(text, "off")) return RouteTable{RouteTable::Mode::kOff, 0};
  // iproute2's fixed name for table 254.
  if (equals_ignore_case(text, "main")) return RouteTable{RouteTable::Mode::kId, 254};
  auto value = parse_unsigned(text, 1, UINT32_MAX);
  if (!value) return bad(text, "is not a routing table ('off', 'auto', 'main' or 1..4294967295)");
  return RouteTable{RouteTable::Mode::kId, uint32_t(*value)};
}

ValueResult<FwMark> parse_fwmark(std::string_view text) {
  const auto reason = "is not a firewall mark ('off', decimal or 0x hexadecimal, 32 bits)";
  if (equals_ignore_case(text, "off")) return FwMark{FwMark::Mode::kOff, 0};
  uint64_t value = 0;
  if (starts_with_ignore_case(text, "0x")) {
    const auto digits = text.substr(2);
    if (digits.empty() || digits.size() > 8) return bad(text, reason);
    for (char c : digits) {
      unsigned digit;
      if (c >= '0' && c <= '9') {
        digit = unsigned(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = unsigned(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = unsigned(c - 'A' + 10);
      } else {
        return bad(text, reason);
      }
      value = value * 16 + digit;
    }
  } else {
    auto decimal = parse_unsigned(text, 0, UINT32_MAX);
    if (!decimal) return bad(text, reason);
    value = *decimal;
  }
  // As in `wg`: a mark of 0 means none.
  if (value == 0) return FwMark{FwMark::Mode::kOff, 0};
  return FwMark{FwMark::Mode::kValue, uint32_t(value)};
}

ValueResult<net::IpAddress> parse_address(std::string_view text) {
  if (auto address = net::IpAddress::parse(text)) return *address;
  return bad(text, "is not an IP address");
}

ValueResult<net::IpPrefix> parse_prefix(std::string_view text) {
  if (auto prefix = net::IpPrefix::parse(text)) return *prefix;
  return bad(text, "is not an IP prefix");
}

ValueResult<net::InterfaceAddress> parse_interface_address(std::string_view text) {
  if (auto address = net::InterfaceAddress::parse(text)) return *address;
  return bad(text, "is not an IP address with an optional /length");
}

ValueResult<net::HostPort> parse_host_port(std::string_view text) {
  if (auto host_port = net::HostPort::parse(text)) return *host_port;
  return bad(text, "is not host:port (an IPv6 address goes in brackets: [2001:db8::1]:51820)");
}

ValueResult<DestinationRule> parse_destination_rule(std::string_view text) {
  const auto reason =
      "is not a destination ([tcp:|udp:]CIDR[:PORT[-HIGH]], IPv6 in brackets with a port)";
  std::string_view rest = text;
  DestinationRule rule;
  rule.protocol = take_protocol(rest);
  std::string_view cidr = rest;
  std::string_view ports;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(text, reason);
    cidr = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (after.empty() || after.front() != ':') return bad(text, reason);
    ports = after.substr(1);
    if (ports.empty()) return bad(text, reason);
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    const auto colon = rest.find(':');
    cidr = rest.substr(0, colon);
    ports = rest.substr(colon + 1);
    if (ports.empty()) return bad(text, reason);
  }
  const auto prefix = net::IpPrefix::parse(cidr);
  if (!prefix) return bad(text, reason);
  // A bracketed IPv4 prefix would be harmless but is not the documented form.
  if (!rest.empty() && rest.front() == '[' && prefix->is_v4()) return bad(text, reason);
  rule.prefix = *prefix;
  if (!ports.empty()) {
    const auto dash = ports.find('-');
    auto low = parse_port(ports.substr(0, dash), true);
    auto high = dash == std::string_view::npos ? low : parse_port(ports.substr(dash + 1), true);
    if (!low || !high) return bad(text, reason);
    if (*low > *high) return bad(text, "has a port range whose start is above its end");
    rule.port_low = *low;
    rule.port_high = *high;
  }
  return rule;
}

ValueResult<ForwardPort> parse_forward_port(std::string_view text) {
  const auto reason =
      "is not a port forward (tcp|udp:[BIND_ADDRESS:]SERVER_PORT:CLIENT_PORT, e.g. tcp:8080:80)";
  std::string_view rest = text;
  ForwardPort forward;
  forward.protocol = take_protocol(rest);
  if (forward.protocol == Protocol::kAny) return bad(text, reason);
  // The two ports are the last two colon-separated fields; whatever precedes is the address.
  const auto last = rest.rfind(':');
  if (last == std::string_view::npos) return bad(text, reason);
  const auto client_port = parse_port(rest.substr(last + 1), false);
  rest = rest.substr(0, last);
  const auto middle = rest.rfind(':');
  const auto server_port =
      parse_port(middle == std::string_view::npos ? rest : rest.substr(middle + 1), false);
  if (!client_port || !server_port) return bad(text, reason);
  if (middle != std::string_view::npos) {
    auto host = rest.substr(0, middle);
    bool bracketed = false;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
      bracketed = true;
    }
    const auto address = net::IpAddress::parse(host);
    if (!address || address->is_v4() == bracketed) return bad(text, reason);
    forward.bind_address = *address;
  }
  forward.server_port = *server_port;
  forward.client_port = *client_port;
  return forward;
}

bool is_search_domain(std::string_view text) noexcept {
  if (text.empty() || text.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      // Empty labels are invalid, except for a single trailing dot (an absolute name).
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  // A search domain that is all digits and dots would be an IPv4 address typed wrong.
  return text.find_first_not_of("0123456789.") != std::string_view::npos;
}

}  // namespace slirpvpn::config
