// SPDX-License-Identifier: MIT
// Egress policy: which inner destinations a peer may reach through libslirp.
//
// libslirp turns every inner packet into a socket call of the server process, so without a
// filter a client reaches whatever the server can: its loopback, its LAN, the cloud metadata
// service 169.254.169.254, the server's own public services. The policy is checked before
// slirp_input. Order of evaluation (first match decides):
//   1. operator `deny` rules            -> kDenyOperator   (explicit deny beats everything)
//   2. operator `allow` rules           -> kAllow          (opens a private range on purpose)
//   3. slirp's own gateway/DNS addresses -> kAllow
//   4. the server's own addresses       -> kDenyServerAddress
//   5. the built-in private/special list -> kDenyReserved
//   6. otherwise                        -> kAllow
// A rule matches an address prefix, optionally one protocol (TCP, UDP, ICMP...) and optionally
// a port range (TCP/UDP only: a port-ranged rule never matches other protocols). A packet with
// no transport header (a non-first fragment) matches port-ranged allow rules but not
// port-ranged deny rules: its first fragment already went through the port check.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "net/ip_address.h"

namespace slirpvpn::slirp {

struct EgressRule {
  net::IpPrefix prefix;
  std::optional<uint8_t> protocol;  // IP protocol number; nullopt = any
  uint16_t port_min = 0;            // inclusive; 0..65535 = any port
  uint16_t port_max = 65535;

  bool has_port_range() const noexcept { return port_min != 0 || port_max != 65535; }
};

struct EgressPolicyConfig {
  std::vector<EgressRule> allow;
  std::vector<EgressRule> deny;
  // Addresses of the server host itself (its public and LAN addresses).
  std::vector<net::IpAddress> server_addresses;
  // slirp's own virtual addresses: gateway and DNS, IPv4 and IPv6 (10.0.2.2, 10.0.2.3, ...).
  std::vector<net::IpAddress> virtual_services;
};

enum class EgressVerdict : uint8_t {
  kAllow,
  kDenyReserved,       // built-in list: loopback, private, link-local, CGNAT, multicast...
  kDenyServerAddress,  // one of the server's own addresses
  kDenyOperator,       // an explicit deny rule
};
const char* to_string(EgressVerdict verdict) noexcept;

class EgressPolicy {
 public:
  explicit EgressPolicy(EgressPolicyConfig config);

  // Hot path: no allocation. `port` is nullopt for protocols without ports or for a
  // non-first fragment; `protocol` is the IP protocol / final IPv6 next header.
  EgressVerdict check(const net::IpAddress& destination, uint8_t protocol,
                      std::optional<uint16_t> port) const noexcept;

  // The built-in reserved prefixes (IPv4 and IPv6), for documentation and tests.
  static const std::vector<net::IpPrefix>& reserved_prefixes();

 private:
  EgressPolicyConfig config_;
};

}  // namespace slirpvpn::slirp
