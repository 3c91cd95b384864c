// SPDX-License-Identifier: MIT
// The kill switch script, and libnftables applying, replacing and removing it in a fresh netns.
#include "client/kill_switch.h"

#include <gtest/gtest.h>

#include "net/netns_fixture.h"

namespace slirpvpn::client {
namespace {

KillSwitchSpec spec() {
  return {kill_switch_table_name("wg-0"), "wg-0", *net::Endpoint::parse("198.51.100.1:51820"),
          51820};
}

TEST(KillSwitch, TableNameIsAnNftIdentifier) {
  EXPECT_EQ(kill_switch_table_name("wg-0.a"), "slirpvpn_wg_0_a");
}

TEST(KillSwitch, ScriptAllowsOnlyTheTunnelAndTheEndpoint) {
  const auto script = render_kill_switch(spec());
  EXPECT_NE(script.find("policy drop;"), std::string::npos);
  EXPECT_NE(script.find("oifname \"wg-0\" accept"), std::string::npos);
  EXPECT_NE(script.find("meta mark 0x0000ca6c ip daddr 198.51.100.1 udp dport 51820 accept"),
            std::string::npos);
  EXPECT_NE(script.find("oifname \"lo\" accept"), std::string::npos);
  EXPECT_EQ(script.find("dport 53"), std::string::npos);  // no DNS in the clear
}

TEST(KillSwitch, Ipv6EndpointWithoutMark) {
  auto s = spec();
  s.endpoint = *net::Endpoint::parse("[2001:db8::1]:443");
  s.fwmark.reset();
  const auto script = render_kill_switch(s);
  EXPECT_NE(script.find("    ip6 daddr 2001:db8::1 udp dport 443 accept"), std::string::npos);
  EXPECT_EQ(script.find("meta mark"), std::string::npos);
}

class KillSwitchNetns : public net::testing::NetnsTest {};

TEST_F(KillSwitchNetns, AppliedReplacedAndRemoved) {
  EXPECT_FALSE(nft_table_exists(spec().table));
  auto applied = apply_kill_switch(spec());
  ASSERT_TRUE(applied) << applied.error().message();
  EXPECT_TRUE(nft_table_exists(spec().table));
  const auto listing = run("nft list table inet " + spec().table);
  EXPECT_NE(listing.find("ip daddr 198.51.100.1 udp dport 51820 accept"), std::string::npos)
      << listing;
  // A second apply replaces the table in one transaction: still exactly one output chain.
  auto moved = spec();
  moved.endpoint = *net::Endpoint::parse("198.51.100.9:51820");
  ASSERT_TRUE(apply_kill_switch(moved));
  const auto replaced = run("nft list table inet " + spec().table);
  EXPECT_EQ(replaced.find("198.51.100.1 "), std::string::npos) << replaced;
  EXPECT_NE(replaced.find("198.51.100.9"), std::string::npos) << replaced;
  ASSERT_TRUE(remove_nft_table(spec().table));
  EXPECT_FALSE(nft_table_exists(spec().table));
  // Removing what is not there is fine (--down after a clean stop).
  EXPECT_TRUE(remove_nft_table(spec().table));
}

TEST_F(KillSwitchNetns, NftErrorsComeBackAsText) {
  const auto result = run_nft("table inet x { chain y { type nonsense; } }\n");
  ASSERT_FALSE(result);
  EXPECT_FALSE(result.error().context.empty());
}

}  // namespace
}  // namespace slirpvpn::client
