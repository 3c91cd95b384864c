// SPDX-License-Identifier: MIT
// Netlink in a fresh network namespace: links, addresses, routes, wg-quick's rules, monitoring;
// every change is checked with our own list functions and with `ip -j` / `ip route get`.
#include "net/netlink.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "net/netns_fixture.h"
#include "net/tun_device.h"

namespace slirpvpn::net {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}
InterfaceAddress iface(const char* text) {
  return *InterfaceAddress::parse(text);
}

// Builds a Route or Rule field by field (GCC 12 warns on designated initializers that skip any).
template <typename T, typename F>
T make(F&& set) {
  T value;
  set(value);
  return value;
}

class NetlinkTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto opened = Netlink::open();
    ASSERT_TRUE(opened) << opened.error().message();
    netlink_.emplace(std::move(*opened));
  }
  void TearDown() override {
    netlink_.reset();
    tuns_.clear();
    NetnsTest::TearDown();
  }

  // A TUN device, up, with `address`; returns its index.
  int make_link(const char* name, const char* address) {
    auto tun = TunDevice::open(name);
    EXPECT_TRUE(tun) << tun.error().message();
    if (!tun) return 0;
    tuns_.push_back(std::move(*tun));
    auto index = netlink_->link_index(name);
    EXPECT_TRUE(index) << index.error().message();
    EXPECT_TRUE(netlink_->set_link_up(*index, true));
    auto added = netlink_->add_address(*index, iface(address));
    EXPECT_TRUE(added) << added.error().message();
    return *index;
  }

  std::optional<Netlink> netlink_;
  std::vector<TunDevice> tuns_;
};

TEST_F(NetlinkTest, LinkIndexMtuAndUpDown) {
  auto lo = netlink_->link_index("lo");
  ASSERT_TRUE(lo) << lo.error().message();
  EXPECT_EQ(*lo, 1);

  auto missing = netlink_->link_index("nosuchlink");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().error_number, ENODEV);
  EXPECT_NE(missing.error().message().find("nosuchlink"), std::string::npos);

  auto tun = TunDevice::open("svlink");
  ASSERT_TRUE(tun);
  auto index = netlink_->link_index("svlink");
  ASSERT_TRUE(index);
  ASSERT_TRUE(netlink_->set_mtu(*index, 1420));
  ASSERT_TRUE(netlink_->set_link_up(*index, true));
  auto link = netlink_->link(*index);
  ASSERT_TRUE(link) << link.error().message();
  EXPECT_EQ(link->name, "svlink");
  EXPECT_EQ(link->mtu, 1420u);
  EXPECT_TRUE(link->up);
  const std::string shown = run("ip -j link show dev svlink");
  EXPECT_NE(shown.find("\"mtu\":1420"), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"UP\""), std::string::npos) << shown;

  ASSERT_TRUE(netlink_->set_link_up(*index, false));
  EXPECT_FALSE(netlink_->link(*index)->up);
  EXPECT_EQ(run("ip -j link show dev svlink").find("\"UP\""), std::string::npos);

  auto links = netlink_->list_links();
  ASSERT_TRUE(links);
  EXPECT_EQ(links->size(), 2u);  // lo and ours: a fresh namespace

  auto bad_mtu = netlink_->set_mtu(*index, 10);
  ASSERT_FALSE(bad_mtu);
  EXPECT_EQ(bad_mtu.error().error_number, EINVAL);
}

TEST_F(NetlinkTest, AddListAndDeleteAddresses) {
  const int index = make_link("svaddr", "198.51.100.1/24");
  ASSERT_NE(index, 0);
  ASSERT_TRUE(netlink_->add_address(index, iface("fec0::15/64")));

  auto v4 = netlink_->list_addresses(AF_INET, index);
  ASSERT_TRUE(v4) << v4.error().message();
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].address, iface("198.51.100.1/24"));
  auto v6 = netlink_->list_addresses(AF_INET6, index);
  ASSERT_TRUE(v6);
  EXPECT_TRUE(std::any_of(v6->begin(), v6->end(),
                          [](const AddressInfo& a) { return a.address == iface("fec0::15/64"); }));
  const std::string shown = run("ip -j addr show dev svaddr");
  EXPECT_NE(shown.find("\"local\":\"198.51.100.1\",\"prefixlen\":24"), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"local\":\"fec0::15\",\"prefixlen\":64"), std::string::npos) << shown;

  auto again = netlink_->add_address(index, iface("198.51.100.1/24"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().error_number, EEXIST);
  EXPECT_NE(again.error().message().find("already exists"), std::string::npos)
      << again.error().message();

  ASSERT_TRUE(netlink_->delete_address(index, iface("198.51.100.1/24")));
  ASSERT_TRUE(netlink_->delete_address(index, iface("fec0::15/64")));
  EXPECT_TRUE(netlink_->list_addresses(AF_INET, index)->empty());
  EXPECT_EQ(run("ip -j addr show dev svaddr").find("198.51.100.1"), std::string::npos);
  auto gone = netlink_->delete_address(index, iface("198.51.100.1/24"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().error_number, EADDRNOTAVAIL);
}

bool has_route(const std::vector<Route>& routes, const Route& wanted) {
  return std::any_of(routes.begin(), routes.end(), [&](const Route& r) {
    return r.destination == wanted.destination && r.table == wanted.table &&
           r.type == wanted.type && r.ifindex == wanted.ifindex &&
           (!wanted.metric || r.metric == wanted.metric) && r.gateway == wanted.gateway;
  });
}

TEST_F(NetlinkTest, AddListAndDeleteRoutes) {
  const int index = make_link("svroute", "198.51.100.1/24");
  ASSERT_NE(index, 0);
  ASSERT_TRUE(netlink_->add_address(index, iface("fec0::1/64")));

  auto none = netlink_->default_route(AF_INET);
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_FALSE(none->has_value());

  const Route device_route = make<Route>([&](Route& v) {
    v.destination = prefix("203.0.113.0/25");
    v.ifindex = index;
    v.metric = 50;
  });
  const Route gateway_default = make<Route>([&](Route& v) {
    v.destination = prefix("0.0.0.0/0");
    v.gateway = ip("198.51.100.254");
    v.ifindex = index;
  });
  const Route unreachable = make<Route>([&](Route& v) {
    v.destination = prefix("203.0.113.128/25");
    v.table = 51820;
    v.type = RouteType::kUnreachable;
  });
  const Route blackhole = make<Route>([&](Route& v) {
    v.destination = prefix("203.0.113.7/32");
    v.table = 51820;
    v.type = RouteType::kBlackhole;
  });
  const Route v6_route = make<Route>([&](Route& v) {
    v.destination = prefix("fec0:1::/64");
    v.ifindex = index;
    v.metric = 100;
  });
  for (const Route* route :
       {&device_route, &gateway_default, &unreachable, &blackhole, &v6_route}) {
    auto added = netlink_->add_route(*route);
    ASSERT_TRUE(added) << added.error().message();
  }

  auto main_v4 = netlink_->list_routes(AF_INET, kTableMain);
  ASSERT_TRUE(main_v4) << main_v4.error().message();
  EXPECT_TRUE(has_route(*main_v4, device_route));
  EXPECT_TRUE(has_route(*main_v4, gateway_default));
  EXPECT_FALSE(has_route(*main_v4, unreachable));  // other table
  auto custom = netlink_->list_routes(AF_INET, 51820u);
  ASSERT_TRUE(custom);
  EXPECT_TRUE(has_route(*custom, unreachable));
  EXPECT_TRUE(has_route(*custom, blackhole));
  auto v6 = netlink_->list_routes(AF_INET6);
  ASSERT_TRUE(v6);
  EXPECT_TRUE(has_route(*v6, v6_route));

  auto found = netlink_->default_route(AF_INET);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->gateway, ip("198.51.100.254"));
  EXPECT_EQ((*found)->ifindex, index);

  const std::string main_text = run("ip -4 route show table main");
  EXPECT_NE(main_text.find("default via 198.51.100.254 dev svroute"), std::string::npos)
      << main_text;
  EXPECT_NE(main_text.find("203.0.113.0/25 dev svroute"), std::string::npos) << main_text;
  EXPECT_NE(main_text.find("metric 50"), std::string::npos) << main_text;
  const std::string custom_text = run("ip -4 route show table 51820");
  EXPECT_NE(custom_text.find("unreachable 203.0.113.128/25"), std::string::npos) << custom_text;
  EXPECT_NE(custom_text.find("blackhole 203.0.113.7"), std::string::npos) << custom_text;
  EXPECT_NE(run("ip -6 route show").find("fec0:1::/64 dev svroute proto static metric 100"),
            std::string::npos);
  EXPECT_NE(run("ip -j route get 203.0.113.9").find("\"dev\":\"svroute\""), std::string::npos);

  auto again = netlink_->add_route(device_route);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().error_number, EEXIST);

  for (const Route* route :
       {&device_route, &gateway_default, &unreachable, &blackhole, &v6_route}) {
    auto deleted = netlink_->delete_route(*route);
    ASSERT_TRUE(deleted) << deleted.error().message();
  }
  EXPECT_FALSE(has_route(*netlink_->list_routes(AF_INET, kTableMain), device_route));
  EXPECT_TRUE(netlink_->list_routes(AF_INET, 51820u)->empty());
  EXPECT_FALSE(netlink_->default_route(AF_INET)->has_value());
  auto twice = netlink_->delete_route(device_route);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().error_number, ESRCH);
  EXPECT_NE(twice.error().message().find("no such route"), std::string::npos);

  // A gateway that is not on any link.
  auto stray = netlink_->add_route(make<Route>([&](Route& v) {
    v.destination = prefix("203.0.113.0/24");
    v.gateway = ip("203.0.113.1");
    v.ifindex = index;
  }));
  ASSERT_FALSE(stray);
  EXPECT_EQ(stray.error().error_number, ENETUNREACH);
}

// wg-quick's full tunnel: everything goes to the tunnel's table except the tunnel's own
// (marked) packets, and the main table still wins for anything more specific than a default.
TEST_F(NetlinkTest, WgQuickFullTunnelRulesSteerTraffic) {
  const int wan = make_link("svwan", "198.51.100.2/24");
  const int vpn = make_link("svvpn", "203.0.113.5/32");
  ASSERT_NE(wan, 0);
  ASSERT_NE(vpn, 0);
  ASSERT_TRUE(netlink_->add_route(make<Route>([&](Route& v) {
    v.destination = prefix("0.0.0.0/0");
    v.gateway = ip("198.51.100.1");
    v.ifindex = wan;
  })));
  ASSERT_TRUE(netlink_->add_route(make<Route>([&](Route& v) {
    v.destination = prefix("0.0.0.0/0");
    v.ifindex = vpn;
    v.table = 51820;
  })));

  const Rule not_marked = make<Rule>([&](Rule& v) {
    v.priority = 32000;
    v.fwmark = 51820;
    v.invert = true;
    v.table = 51820;
  });
  const Rule suppress = make<Rule>([&](Rule& v) {
    v.priority = 31999;
    v.table = kTableMain;
    v.suppress_prefixlength = 0;
  });
  ASSERT_TRUE(netlink_->add_rule(not_marked));
  ASSERT_TRUE(netlink_->add_rule(suppress));

  auto rules = netlink_->list_rules(false);
  ASSERT_TRUE(rules) << rules.error().message();
  auto find = [&](uint32_t priority) {
    return std::find_if(rules->begin(), rules->end(),
                        [&](const Rule& r) { return r.priority == priority; });
  };
  ASSERT_NE(find(32000), rules->end());
  EXPECT_TRUE(find(32000)->invert);
  EXPECT_EQ(find(32000)->fwmark, 51820u);
  EXPECT_EQ(find(32000)->table, 51820u);
  ASSERT_NE(find(31999), rules->end());
  EXPECT_EQ(find(31999)->suppress_prefixlength, 0u);
  EXPECT_EQ(find(31999)->table, kTableMain);
  EXPECT_FALSE(find(32766)->suppress_prefixlength.has_value());  // the stock "main" rule

  const std::string shown = run("ip -4 rule show");
  EXPECT_NE(shown.find("32000:\tnot from all fwmark 0xca6c lookup 51820"), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("31999:\tfrom all lookup main suppress_prefixlength 0"), std::string::npos)
      << shown;

  // The routing decisions the kernel makes with these rules.
  EXPECT_NE(run("ip -j route get 203.0.113.9").find("\"dev\":\"svvpn\""), std::string::npos);
  EXPECT_NE(run("ip -j route get 203.0.113.9 mark 51820").find("\"dev\":\"svwan\""),
            std::string::npos);
  EXPECT_NE(run("ip -j route get 198.51.100.77").find("\"dev\":\"svwan\""), std::string::npos);

  ASSERT_TRUE(netlink_->delete_rule(not_marked));
  ASSERT_TRUE(netlink_->delete_rule(suppress));
  auto after = netlink_->list_rules(false);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), 3u);  // local, main, default
  auto twice = netlink_->delete_rule(suppress);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message().find("delete rule"), std::string::npos);
  EXPECT_NE(run("ip -j route get 203.0.113.9").find("\"dev\":\"svwan\""), std::string::npos);

  // IPv6 rules too.
  const Rule v6 = make<Rule>([&](Rule& v) {
    v.ipv6 = true;
    v.priority = 32000;
    v.fwmark = 51820;
    v.invert = true;
    v.table = 51820;
  });
  ASSERT_TRUE(netlink_->add_rule(v6));
  EXPECT_NE(run("ip -6 rule show").find("not from all fwmark 0xca6c lookup 51820"),
            std::string::npos);
  ASSERT_TRUE(netlink_->delete_rule(v6));
}

TEST_F(NetlinkTest, MonitorReportsAddressRouteAndLinkChanges) {
  auto monitor = NetlinkMonitor::open();
  ASSERT_TRUE(monitor) << monitor.error().message();
  std::vector<NetlinkEvent> events;
  auto initial = monitor->read_events(events);
  ASSERT_TRUE(initial) << initial.error().message();
  EXPECT_EQ(*initial, 0u);

  const int index = make_link("svmon", "198.51.100.1/24");
  ASSERT_NE(index, 0);
  ASSERT_TRUE(netlink_->add_route(make<Route>([&](Route& v) {
    v.destination = prefix("203.0.113.0/24");
    v.ifindex = index;
  })));
  ASSERT_TRUE(netlink_->delete_route(make<Route>([&](Route& v) {
    v.destination = prefix("203.0.113.0/24");
    v.ifindex = index;
  })));
  ASSERT_TRUE(netlink_->set_link_up(index, false));

  auto seen = [&](NetlinkEvent::Kind kind, bool removed, std::optional<IpPrefix> what) {
    return std::any_of(events.begin(), events.end(), [&](const NetlinkEvent& e) {
      return e.kind == kind && e.removed == removed && e.ifindex == index &&
             (!what || e.prefix == what);
    });
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline &&
         !(seen(NetlinkEvent::Kind::kRoute, true, prefix("203.0.113.0/24")) &&
           seen(NetlinkEvent::Kind::kLink, false, std::nullopt))) {
    pollfd descriptor{monitor->fd(), POLLIN, 0};
    ::poll(&descriptor, 1, 100);
    ASSERT_TRUE(monitor->read_events(events));
  }
  EXPECT_TRUE(seen(NetlinkEvent::Kind::kAddress, false, prefix("198.51.100.1/32")));
  EXPECT_TRUE(seen(NetlinkEvent::Kind::kRoute, false, prefix("203.0.113.0/24")));
  EXPECT_TRUE(seen(NetlinkEvent::Kind::kRoute, true, prefix("203.0.113.0/24")));
  EXPECT_TRUE(seen(NetlinkEvent::Kind::kLink, false, std::nullopt));

  // Rules are reported too (wg-quick's rules appearing or vanishing).
  events.clear();
  ASSERT_TRUE(netlink_->add_rule(make<Rule>([&](Rule& v) {
    v.priority = 100;
    v.table = 51820;
  })));
  for (int i = 0; i < 20 && events.empty(); ++i) {
    pollfd descriptor{monitor->fd(), POLLIN, 0};
    ::poll(&descriptor, 1, 100);
    ASSERT_TRUE(monitor->read_events(events));
  }
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const NetlinkEvent& e) {
    return e.kind == NetlinkEvent::Kind::kRule && !e.removed && e.family == AF_INET;
  }));
}

}  // namespace
}  // namespace slirpvpn::net
