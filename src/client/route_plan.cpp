// SPDX-License-Identifier: MIT
// The route and rule plan for AllowedIPs (see route_plan.h).
#include "client/route_plan.h"

#include <algorithm>

namespace slirpvpn::client {
namespace {

void add_full_tunnel_rules(RoutePlan& plan, bool ipv6, uint32_t table, uint32_t fwmark) {
  net::Rule to_table;
  to_table.ipv6 = ipv6;
  to_table.fwmark = fwmark;
  to_table.invert = true;
  to_table.table = table;
  net::Rule suppress;
  suppress.ipv6 = ipv6;
  suppress.table = net::kTableMain;
  suppress.suppress_prefixlength = 0;
  plan.rules.push_back(to_table);
  plan.rules.push_back(suppress);
}

}  // namespace

RoutePlan plan_routes(const RoutePlanInput& input) {
  RoutePlan plan;
  if (input.table.mode == config::RouteTable::Mode::kOff) return plan;
  const bool automatic = input.table.mode == config::RouteTable::Mode::kAuto;
  const uint32_t plain_table = automatic ? net::kTableMain : input.table.id;

  bool default_v4 = false, default_v6 = false;
  for (const auto& prefix : input.allowed_ips) {
    if (prefix.length() != 0 || !automatic) continue;
    (prefix.is_v4() ? default_v4 : default_v6) = true;
  }
  const bool has_v6_address = std::any_of(input.addresses.begin(), input.addresses.end(),
                                          [](const auto& a) { return a.address.is_v6(); });
  const bool has_v4_address = std::any_of(input.addresses.begin(), input.addresses.end(),
                                          [](const auto& a) { return a.address.is_v4(); });

  for (const auto& prefix : input.allowed_ips) {
    if (automatic && prefix.length() == 0) continue;  // below, into table T
    net::Route route;
    route.destination = prefix;
    route.ifindex = input.ifindex;
    route.table = plain_table;
    plan.routes.push_back(route);
  }

  plan.full_tunnel = default_v4 || default_v6;
  if (!plan.full_tunnel) return plan;

  // IPv4: through the TUN when allowed; an IPv6-only full tunnel leaves IPv4 alone.
  if (default_v4) {
    net::Route route;
    route.destination = net::IpPrefix();
    route.table = input.auto_table;
    if (has_v4_address) {
      route.ifindex = input.ifindex;
    } else {
      route.type = net::RouteType::kUnreachable;
    }
    plan.routes.push_back(route);
    add_full_tunnel_rules(plan, false, input.auto_table, input.fwmark);
  }
  // IPv6: never outside the tunnel once there is a full tunnel.
  net::Route route6;
  route6.destination = net::IpPrefix(net::IpAddress::v6({}), 0);
  route6.table = input.auto_table;
  if (default_v6 && has_v6_address) {
    route6.ifindex = input.ifindex;
  } else {
    route6.type = net::RouteType::kUnreachable;
  }
  plan.routes.push_back(route6);
  add_full_tunnel_rules(plan, true, input.auto_table, input.fwmark);
  return plan;
}

}  // namespace slirpvpn::client
