// SPDX-License-Identifier: MIT
// Egress policy: the default table, slirp's services, server addresses, allow/deny precedence.
#include "slirp/egress_policy.h"

#include <gtest/gtest.h>

namespace slirpvpn::slirp {
namespace {

net::IpAddress a(const char* text) {
  return *net::IpAddress::parse(text);
}

EgressPolicyConfig base() {
  EgressPolicyConfig config;
  config.virtual_services = {a("10.0.2.2"), a("10.0.2.3"), a("fec0::2"), a("fec0::3")};
  config.server_addresses = {a("198.51.100.1"), a("2001:db8::53")};
  return config;
}

struct Row {
  int line;
  const char* destination;
  uint8_t protocol;
  std::optional<uint16_t> port;
  EgressVerdict verdict;
};

TEST(EgressPolicy, DefaultTable) {
  EgressPolicy policy(base());
  using enum EgressVerdict;
  const Row rows[] = {
      {1, "93.184.216.34", 6, 443, kAllow},
      {2, "203.0.113.2", 17, 53, kAllow},
      {3, "10.0.2.2", 6, 22, kAllow},   // slirp's gateway
      {4, "10.0.2.3", 17, 53, kAllow},  // slirp's DNS
      {5, "fec0::3", 17, 53, kAllow},
      {6, "10.0.2.4", 6, 80, kDenyReserved},
      {7, "127.0.0.1", 6, 80, kDenyReserved},
      {8, "169.254.169.254", 6, 80, kDenyReserved},
      {9, "172.20.0.1", 6, 80, kDenyReserved},
      {10, "192.168.1.1", 17, 53, kDenyReserved},
      {11, "100.100.100.100", 17, 53, kDenyReserved},
      {12, "0.1.2.3", 1, std::nullopt, kDenyReserved},
      {13, "224.0.0.251", 17, 5353, kDenyReserved},
      {14, "255.255.255.255", 17, 67, kDenyReserved},
      {15, "::1", 6, 80, kDenyReserved},
      {16, "fe80::1", 6, 80, kDenyReserved},
      {17, "fd12:3456::1", 6, 80, kDenyReserved},
      {18, "ff02::1", 58, std::nullopt, kDenyReserved},
      {19, "::ffff:127.0.0.1", 6, 80, kDenyReserved},
      {20, "fec0::15", 6, 80, kDenyReserved},
      {21, "198.51.100.1", 6, 22, kDenyServerAddress},
      {22, "2001:db8::53", 6, 22, kDenyServerAddress},
      {23, "2606:4700::1111", 6, 443, kAllow},
      {24, "172.32.0.1", 6, 80, kAllow},   // just past 172.16/12
      {25, "100.128.0.1", 6, 80, kAllow},  // just past 100.64/10
  };
  for (const Row& row : rows) {
    EXPECT_EQ(policy.check(a(row.destination), row.protocol, row.port), row.verdict)
        << "row " << row.line << ": " << row.destination;
  }
}

TEST(EgressPolicy, AllowOpensPrivateRangeAndDenyWinsOverAllow) {
  EgressPolicyConfig config = base();
  config.allow.push_back({*net::IpPrefix::parse("192.168.10.0/24"), 6, 80, 443});
  config.allow.push_back({*net::IpPrefix::parse("fd00::/8"), std::nullopt, 0, 65535});
  config.deny.push_back({*net::IpPrefix::parse("192.168.10.99/32"), std::nullopt, 0, 65535});
  config.deny.push_back({*net::IpPrefix::parse("93.184.216.0/24"), 17, 53, 53});
  config.deny.push_back({*net::IpPrefix::parse("10.0.2.3/32"), 6, 0, 65535});
  EgressPolicy policy(config);
  using enum EgressVerdict;
  const Row rows[] = {
      {1, "192.168.10.5", 6, 80, kAllow},
      {2, "192.168.10.5", 6, 443, kAllow},
      {3, "192.168.10.5", 6, 444, kDenyReserved},           // outside the allowed ports
      {4, "192.168.10.5", 17, 80, kDenyReserved},           // allow is TCP only
      {5, "192.168.10.5", 1, std::nullopt, kDenyReserved},  // port rule never matches ICMP
      {6, "192.168.10.5", 6, std::nullopt, kAllow},         // non-first fragment of an allowed flow
      {7, "192.168.10.99", 6, 80, kDenyOperator},           // explicit deny beats allow
      {8, "fd00::1", 17, 1234, kAllow},
      {9, "93.184.216.34", 17, 53, kDenyOperator},
      {10, "93.184.216.34", 17, 54, kAllow},
      {11, "93.184.216.34", 17, std::nullopt, kAllow},  // port-ranged deny skips fragments
      {12, "10.0.2.3", 6, 53, kDenyOperator},           // deny beats the service exemption
      {13, "10.0.2.3", 17, 53, kAllow},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(policy.check(a(row.destination), row.protocol, row.port), row.verdict)
        << "row " << row.line << ": " << row.destination;
  }
}

}  // namespace
}  // namespace slirpvpn::slirp
