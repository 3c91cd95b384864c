// SPDX-License-Identifier: MIT
// The route/rule plan: wg-quick's full tunnel, IPv6 leak prevention, split tunnels, tables.
#include "client/route_plan.h"

#include <gtest/gtest.h>

namespace slirpvpn::client {
namespace {

net::IpPrefix prefix(const char* text) {
  return *net::IpPrefix::parse(text);
}
net::InterfaceAddress address(const char* text) {
  return *net::InterfaceAddress::parse(text);
}

RoutePlanInput input(std::vector<net::IpPrefix> allowed, std::vector<net::InterfaceAddress> addrs) {
  RoutePlanInput in;
  in.allowed_ips = std::move(allowed);
  in.addresses = std::move(addrs);
  in.ifindex = 9;
  in.auto_table = 51821;
  in.fwmark = 0x1234;
  return in;
}

TEST(RoutePlan, FullTunnelV4WithoutV6AddressBlocksIpv6) {
  const auto plan =
      plan_routes(input({prefix("0.0.0.0/0"), prefix("::/0")}, {address("10.0.2.15/32")}));
  EXPECT_TRUE(plan.full_tunnel);
  ASSERT_EQ(plan.routes.size(), 2u);
  EXPECT_EQ(plan.routes[0].destination, prefix("0.0.0.0/0"));
  EXPECT_EQ(plan.routes[0].table, 51821u);
  EXPECT_EQ(plan.routes[0].ifindex, 9);
  EXPECT_EQ(plan.routes[0].type, net::RouteType::kUnicast);
  EXPECT_EQ(plan.routes[1].destination, prefix("::/0"));
  EXPECT_EQ(plan.routes[1].type, net::RouteType::kUnreachable);
  EXPECT_EQ(plan.routes[1].ifindex, 0);
  ASSERT_EQ(plan.rules.size(), 4u);
  for (size_t i = 0; i < 4; i += 2) {
    EXPECT_EQ(plan.rules[i].ipv6, i == 2);
    EXPECT_EQ(plan.rules[i].fwmark, 0x1234u);
    EXPECT_TRUE(plan.rules[i].invert);
    EXPECT_EQ(plan.rules[i].table, 51821u);
    EXPECT_EQ(plan.rules[i + 1].table, net::kTableMain);
    EXPECT_EQ(plan.rules[i + 1].suppress_prefixlength, 0u);
    EXPECT_FALSE(plan.rules[i + 1].fwmark);
  }
}

TEST(RoutePlan, V4OnlyAllowedStillBlocksIpv6) {
  const auto plan = plan_routes(input({prefix("0.0.0.0/0")}, {address("10.0.2.15/32")}));
  ASSERT_EQ(plan.routes.size(), 2u);
  EXPECT_EQ(plan.routes[1].destination, prefix("::/0"));
  EXPECT_EQ(plan.routes[1].type, net::RouteType::kUnreachable);
}

TEST(RoutePlan, DualStackFullTunnelRoutesBothThroughTheTun) {
  const auto plan = plan_routes(input({prefix("0.0.0.0/0"), prefix("::/0")},
                                      {address("10.0.2.15/32"), address("fec0::15/128")}));
  ASSERT_EQ(plan.routes.size(), 2u);
  EXPECT_EQ(plan.routes[1].type, net::RouteType::kUnicast);
  EXPECT_EQ(plan.routes[1].ifindex, 9);
}

TEST(RoutePlan, SplitTunnelIsPlainRoutesInMain) {
  const auto plan = plan_routes(
      input({prefix("203.0.113.2/32"), prefix("10.0.2.0/24")}, {address("10.0.2.15/32")}));
  EXPECT_FALSE(plan.full_tunnel);
  EXPECT_TRUE(plan.rules.empty());
  ASSERT_EQ(plan.routes.size(), 2u);
  for (const auto& route : plan.routes) {
    EXPECT_EQ(route.table, net::kTableMain);
    EXPECT_EQ(route.ifindex, 9);
  }
}

TEST(RoutePlan, ExplicitTableTakesEverythingWithoutRules) {
  auto in = input({prefix("0.0.0.0/0"), prefix("198.51.100.0/24")}, {address("10.0.2.15/32")});
  in.table = {config::RouteTable::Mode::kId, 1000};
  const auto plan = plan_routes(in);
  EXPECT_FALSE(plan.full_tunnel);
  EXPECT_TRUE(plan.rules.empty());
  ASSERT_EQ(plan.routes.size(), 2u);
  EXPECT_EQ(plan.routes[0].table, 1000u);
  EXPECT_EQ(plan.routes[1].table, 1000u);
}

TEST(RoutePlan, TableOffInstallsNothing) {
  auto in = input({prefix("0.0.0.0/0")}, {address("10.0.2.15/32")});
  in.table = {config::RouteTable::Mode::kOff, 0};
  const auto plan = plan_routes(in);
  EXPECT_TRUE(plan.routes.empty());
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_FALSE(plan.full_tunnel);
}

}  // namespace
}  // namespace slirpvpn::client
