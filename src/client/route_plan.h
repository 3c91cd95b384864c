// SPDX-License-Identifier: MIT
// Which routes and policy rules the client installs for its AllowedIPs, the wg-quick way.
//
// Theory of operation
//   Table = off: nothing. Table = N (or main): one route per AllowedIPs prefix in that table.
//   Table = auto: a prefix that is not a default route goes into the main table. A default
//   route (0.0.0.0/0 or ::/0) makes a full tunnel, as wg-quick does it:
//     ip rule add not fwmark M table T                 (all unmarked traffic: table T)
//     ip rule add table main suppress_prefixlength 0   (main's specific routes still win)
//     ip route add default dev TUN table T
//   and our UDP socket carries mark M (SO_MARK), so the tunnel's own packets take the main
//   table. With an IPv4 full tunnel IPv6 must not leak either: ::/0 goes into table T through
//   the TUN when it is allowed and the client has an IPv6 address, and as an unreachable route
//   otherwise (applications get an immediate error instead of a path outside the tunnel).
#pragma once

#include <cstdint>
#include <vector>

#include "config/values.h"
#include "net/ip_address.h"
#include "net/netlink.h"

namespace slirpvpn::client {

// wg-quick's first table and mark for a full tunnel (it counts up from here when taken).
inline constexpr uint32_t kDefaultTable = 51820;

struct RoutePlan {
  std::vector<net::Route> routes;
  std::vector<net::Rule> rules;
  // True when rules send unmarked traffic into table T: the UDP socket needs the mark and the
  // kernel net.ipv4.conf.all.src_valid_mark = 1 (replies to marked packets pass rp_filter).
  bool full_tunnel = false;
};

struct RoutePlanInput {
  std::vector<net::IpPrefix> allowed_ips;
  std::vector<net::InterfaceAddress> addresses;
  config::RouteTable table;
  int ifindex = 0;                      // the TUN
  uint32_t auto_table = kDefaultTable;  // T for Table = auto
  uint32_t fwmark = kDefaultTable;      // M
};

// Pure: no kernel access, so tests can check the exact plan.
RoutePlan plan_routes(const RoutePlanInput& input);

}  // namespace slirpvpn::client
