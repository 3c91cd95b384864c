// SPDX-License-Identifier: MIT
// Egress policy evaluation: operator rules, slirp's services, server addresses, reserved list.
#include "slirp/egress_policy.h"

#include <algorithm>
#include <utility>

#include "common/assert.h"

namespace slirpvpn::slirp {
namespace {

bool rule_matches(const EgressRule& rule, const net::IpAddress& destination, uint8_t protocol,
                  std::optional<uint16_t> port, bool is_allow) noexcept {
  if (!rule.prefix.contains(destination)) return false;
  if (rule.protocol && *rule.protocol != protocol) return false;
  if (!rule.has_port_range()) return true;
  if (!port) {
    // No transport header here (fragment) or a portless protocol: see the header.
    bool portful = protocol == 6 || protocol == 17;
    return is_allow && portful;
  }
  return *port >= rule.port_min && *port <= rule.port_max;
}

std::vector<net::IpPrefix> make_reserved() {
  // IANA special-purpose registries (RFC 6890 and successors), plus what a cloud host exposes.
  const char* const texts[] = {
      "0.0.0.0/8",       // "this network"
      "10.0.0.0/8",      // RFC 1918
      "100.64.0.0/10",   // RFC 6598 carrier-grade NAT
      "127.0.0.0/8",     // loopback
      "169.254.0.0/16",  // link-local, including the 169.254.169.254 metadata service
      "172.16.0.0/12",   // RFC 1918
      "192.168.0.0/16",  // RFC 1918
      "224.0.0.0/4",     // multicast
      "240.0.0.0/4",     // reserved, including 255.255.255.255 broadcast
      "::/96",           // unspecified, loopback ::1, deprecated IPv4-compatible
      "::ffff:0:0/96",   // IPv4-mapped: would reach IPv4 hosts past the IPv4 list
      "fc00::/7",        // unique local
      "fe80::/10",       // link-local
      "fec0::/10",       // deprecated site-local (slirp's own fec0::/64 lives here)
      "ff00::/8",        // multicast
  };
  std::vector<net::IpPrefix> prefixes;
  for (const char* text : texts) {
    auto prefix = net::IpPrefix::parse(text);
    SLIRPVPN_ASSERT(prefix.has_value());
    prefixes.push_back(*prefix);
  }
  return prefixes;
}

}  // namespace

const char* to_string(EgressVerdict verdict) noexcept {
  switch (verdict) {
    case EgressVerdict::kAllow:
      return "allow";
    case EgressVerdict::kDenyReserved:
      return "deny_reserved";
    case EgressVerdict::kDenyServerAddress:
      return "deny_server_address";
    case EgressVerdict::kDenyOperator:
      return "deny_operator";
  }
  return "unknown";
}

const std::vector<net::IpPrefix>& EgressPolicy::reserved_prefixes() {
  static const std::vector<net::IpPrefix> prefixes = make_reserved();
  return prefixes;
}

EgressPolicy::EgressPolicy(EgressPolicyConfig config) : config_(std::move(config)) {
  reserved_prefixes();  // built now, not on the first packet
}

EgressVerdict EgressPolicy::check(const net::IpAddress& destination, uint8_t protocol,
                                  std::optional<uint16_t> port) const noexcept {
  for (const EgressRule& rule : config_.deny) {
    if (rule_matches(rule, destination, protocol, port, false)) return EgressVerdict::kDenyOperator;
  }
  for (const EgressRule& rule : config_.allow) {
    if (rule_matches(rule, destination, protocol, port, true)) return EgressVerdict::kAllow;
  }
  const auto& services = config_.virtual_services;
  if (std::find(services.begin(), services.end(), destination) != services.end()) {
    return EgressVerdict::kAllow;
  }
  const auto& own = config_.server_addresses;
  if (std::find(own.begin(), own.end(), destination) != own.end()) {
    return EgressVerdict::kDenyServerAddress;
  }
  for (const net::IpPrefix& prefix : reserved_prefixes()) {
    if (prefix.contains(destination)) return EgressVerdict::kDenyReserved;
  }
  return EgressVerdict::kAllow;
}

}  // namespace slirpvpn::slirp
