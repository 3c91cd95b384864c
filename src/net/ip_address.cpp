// SPDX-License-Identifier: MIT
// Text and sockaddr conversions for IP addresses, prefixes and endpoints (inet_pton/inet_ntop).
#include "net/ip_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ostream>

#include "common/assert.h"

namespace slirpvpn::net {

namespace {

// Longest accepted address text; INET6_ADDRSTRLEN already counts the terminating NUL.
constexpr size_t kMaxAddressText = INET6_ADDRSTRLEN;

// Decimal digits only (no sign, no spaces, no hex), value <= max.
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + unsigned(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

bool prefix_bits_equal(std::span<const uint8_t> a, std::span<const uint8_t> b,
                       unsigned length) noexcept {
  const unsigned whole = length / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  const unsigned rest = length % 8;
  if (rest == 0) return true;
  const auto mask = uint8_t(0xff << (8 - rest));
  return ((a[whole] ^ b[whole]) & mask) == 0;
}

}  // namespace

IpAddress IpAddress::v4(std::array<uint8_t, 4> bytes) noexcept {
  IpAddress address;
  std::copy(bytes.begin(), bytes.end(), address.bytes_.begin());
  address.is_v4_ = true;
  return address;
}

IpAddress IpAddress::v6(std::array<uint8_t, 16> bytes) noexcept {
  IpAddress address;
  address.bytes_ = bytes;
  address.is_v4_ = false;
  return address;
}

std::optional<IpAddress> IpAddress::from_bytes(std::span<const uint8_t> bytes) noexcept {
  IpAddress address;
  if (bytes.size() == 4) {
    std::copy(bytes.begin(), bytes.end(), address.bytes_.begin());
    address.is_v4_ = true;
    return address;
  }
  if (bytes.size() == 16) {
    std::copy(bytes.begin(), bytes.end(), address.bytes_.begin());
    address.is_v4_ = false;
    return address;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText) return std::nullopt;
  char buffer[kMaxAddressText];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  // inet_pton wants a NUL-terminated string, so an embedded NUL must not end the text early.
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) return std::nullopt;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes_.data()) != 1) return std::nullopt;
    address.is_v4_ = true;
  } else {
    if (inet_pton(AF_INET6, buffer, address.bytes_.data()) != 1) return std::nullopt;
    address.is_v4_ = false;
  }
  return address;
}

std::string IpAddress::to_string() const {
  char buffer[kMaxAddressText];
  const char* text = inet_ntop(is_v4_ ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  SLIRPVPN_ASSERT(text != nullptr);  // the buffer is large enough for either family
  return text;
}

bool IpAddress::is_unspecified() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t b) { return b == 0; });
}

bool IpAddress::is_loopback() const noexcept {
  if (is_v4_) return bytes_[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoopback;
}

bool IpAddress::is_v4_mapped() const noexcept {
  static constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return !is_v4_ && std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes_.begin());
}

IpAddress IpAddress::to_v4_mapped() const noexcept {
  if (!is_v4_) return *this;
  std::array<uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::copy(bytes_.begin(), bytes_.begin() + 4, mapped.begin() + 12);
  return v6(mapped);
}

IpAddress IpAddress::unmapped() const noexcept {
  if (!is_v4_mapped()) return *this;
  return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) noexcept {
  if (a.is_v4_ != b.is_v4_)
    return a.is_v4_ ? std::strong_ordering::less : std::strong_ordering::greater;
  const int c = std::memcmp(a.bytes_.data(), b.bytes_.data(), a.bytes_.size());
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

IpPrefix::IpPrefix(const IpAddress& address, uint8_t length) noexcept : length_(length) {
  SLIRPVPN_ASSERT(length <= address.bit_length());
  std::array<uint8_t, 16> bytes{};
  const auto source = address.bytes();
  std::copy(source.begin(), source.end(), bytes.begin());
  for (unsigned bit = length; bit < address.bit_length(); ++bit) {
    bytes[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
  }
  address_ = address.is_v4() ? IpAddress::v4({bytes[0], bytes[1], bytes[2], bytes[3]})
                             : IpAddress::v6(bytes);
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const auto parsed = InterfaceAddress::parse(text);
  if (!parsed) return std::nullopt;
  return IpPrefix(parsed->address, parsed->length);
}

bool IpPrefix::contains(const IpAddress& address) const noexcept {
  if (address.is_v4() != address_.is_v4()) return false;
  return prefix_bits_equal(address_.bytes(), address.bytes(), length_);
}

bool IpPrefix::contains(const IpPrefix& other) const noexcept {
  return other.length_ >= length_ && contains(other.address_);
}

bool IpPrefix::overlaps(const IpPrefix& other) const noexcept {
  return contains(other) || other.contains(*this);
}

std::string IpPrefix::to_string() const {
  return address_.to_string() + "/" + std::to_string(length_);
}

std::strong_ordering operator<=>(const IpPrefix& a, const IpPrefix& b) noexcept {
  if (const auto c = a.address_ <=> b.address_; c != 0) return c;
  return a.length_ <=> b.length_;
}

std::optional<InterfaceAddress> InterfaceAddress::parse(std::string_view text) {
  const size_t slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  if (slash == std::string_view::npos) return InterfaceAddress{*address, address->bit_length()};
  const auto length = parse_decimal(text.substr(slash + 1), address->bit_length());
  if (!length) return std::nullopt;
  return InterfaceAddress{*address, uint8_t(*length)};
}

std::string InterfaceAddress::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

std::optional<HostPort> HostPort::parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto port = parse_decimal(text.substr(colon + 1), 65535);
  if (!port || *port == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    // Brackets are only for IPv6 literals.
    if (!IpAddress::parse(host) || IpAddress::parse(host)->is_v4()) return std::nullopt;
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return std::nullopt;  // an unbracketed IPv6 literal, or stray brackets
  }
  if (host.empty()) return std::nullopt;
  return HostPort{std::string(host), uint16_t(*port)};
}

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  const auto host_port = HostPort::parse(text);
  if (!host_port) return std::nullopt;
  const auto address = IpAddress::parse(host_port->host);
  if (!address) return std::nullopt;
  return Endpoint{*address, host_port->port};
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* address) noexcept {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    std::array<uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &in.sin_addr, 4);
    return Endpoint{IpAddress::v4(bytes), ntohs(in.sin_port)};
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    return Endpoint{IpAddress::v6(bytes), ntohs(in6.sin6_port)};
  }
  return std::nullopt;
}

socklen_t Endpoint::to_sockaddr(sockaddr_storage& storage) const noexcept {
  std::memset(&storage, 0, sizeof storage);
  if (address.is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, address.bytes().data(), 4);
    std::memcpy(&storage, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, address.bytes().data(), 16);
  std::memcpy(&storage, &in6, sizeof in6);
  return sizeof in6;
}

std::string Endpoint::to_string() const {
  if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
  return "[" + address.to_string() + "]:" + std::to_string(port);
}

std::strong_ordering operator<=>(const Endpoint& a, const Endpoint& b) noexcept {
  if (const auto c = a.address <=> b.address; c != 0) return c;
  return a.port <=> b.port;
}

Expected<std::vector<Endpoint>> resolve_endpoint(std::string_view host, uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (const auto literal = IpAddress::parse(host)) {
    return std::vector<Endpoint>{Endpoint{*literal, port}};
  }
  if (host.empty()) return fail("resolve endpoint", "empty host name");
  const std::string name(host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* results = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &results);
  if (rc != 0) {
    const int saved_errno = rc == EAI_SYSTEM ? errno : 0;
    return fail("resolve endpoint", name + ": " + gai_strerror(rc), saved_errno);
  }
  std::vector<Endpoint> endpoints;
  for (const addrinfo* entry = results; entry != nullptr; entry = entry->ai_next) {
    auto endpoint = Endpoint::from_sockaddr(entry->ai_addr);
    if (!endpoint) continue;
    endpoint->port = port;
    if (std::find(endpoints.begin(), endpoints.end(), *endpoint) == endpoints.end()) {
      endpoints.push_back(*endpoint);
    }
  }
  freeaddrinfo(results);
  if (endpoints.empty()) return fail("resolve endpoint", name + ": no IPv4 or IPv6 address");
  return endpoints;
}

std::ostream& operator<<(std::ostream& out, const IpAddress& address) {
  return out << address.to_string();
}
std::ostream& operator<<(std::ostream& out, const IpPrefix& prefix) {
  return out << prefix.to_string();
}
std::ostream& operator<<(std::ostream& out, const Endpoint& endpoint) {
  return out << endpoint.to_string();
}

}  // namespace slirpvpn::net

size_t std::hash<slirpvpn::net::IpAddress>::operator()(
    const slirpvpn::net::IpAddress& address) const noexcept {
  // FNV-1a over family and bytes: cheap, no allocation, good enough for peer/endpoint tables.
  uint64_t h = 1469598103934665603ull ^ (address.is_v4() ? 4u : 6u);
  for (uint8_t b : address.bytes()) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return size_t(h);
}

size_t std::hash<slirpvpn::net::Endpoint>::operator()(
    const slirpvpn::net::Endpoint& endpoint) const noexcept {
  size_t h = std::hash<slirpvpn::net::IpAddress>{}(endpoint.address);
  return (h ^ endpoint.port) * 1099511628211ull;
}
