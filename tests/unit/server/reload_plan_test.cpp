// SPDX-License-Identifier: MIT
// What a SIGHUP changes: added, removed, updated (field by field) and unchanged peers.
#include "server/reload_plan.h"

#include <gtest/gtest.h>

#include "config/server_config.h"

namespace slirpvpn::server {
namespace {

constexpr const char* kServerKey = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
constexpr const char* kKeyA = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
constexpr const char* kKeyB = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
constexpr const char* kKeyC = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";

config::ServerConfig parse(const std::string& peers, const std::string& interface_extra = "") {
  const std::string text = std::string("[Interface]\nPrivateKey = ") + kServerKey + "\n" +
                           interface_extra + "\n" + peers;
  auto config = config::parse_server_config(text, "test.conf");
  EXPECT_TRUE(config) << (config ? "" : config.error().to_string());
  return std::move(*config);
}

std::string peer(const char* key, const std::string& extra = "") {
  return std::string("[Peer]\nPublicKey = ") + key + "\n" + extra + "\n";
}

std::vector<const config::ServerPeer*> pointers(const config::ServerConfig& config) {
  std::vector<const config::ServerPeer*> out;
  for (const auto& p : config.peers) out.push_back(&p);
  return out;
}

TEST(ReloadPlan, SameFileChangesNothing) {
  const auto running = parse(peer(kKeyA) + peer(kKeyB, "PersistentKeepalive = 25"));
  const auto file = parse(peer(kKeyB, "PersistentKeepalive = 25") + peer(kKeyA));  // reordered
  const auto plan = plan_reload(running.interface, pointers(running), file);
  EXPECT_TRUE(plan.added.empty());
  EXPECT_TRUE(plan.removed.empty());
  EXPECT_TRUE(plan.updated.empty());
  EXPECT_EQ(plan.unchanged, 2u);
  EXPECT_TRUE(plan.needs_restart.empty());
}

TEST(ReloadPlan, AddedRemovedAndUpdatedPeers) {
  const auto running = parse(peer(kKeyA) + peer(kKeyB));
  const auto file = parse(peer(kKeyB,
                               "PersistentKeepalive = 7\nAllowedIPs = 10.0.2.16/32\n"
                               "Name = bee\nEndpoint = 198.51.100.9:5") +
                          peer(kKeyC));
  const auto plan = plan_reload(running.interface, pointers(running), file);
  ASSERT_EQ(plan.removed.size(), 1u);
  EXPECT_EQ(plan.removed[0], running.peers[0].public_key);
  ASSERT_EQ(plan.added.size(), 1u);
  EXPECT_EQ(plan.added[0], 1u);
  ASSERT_EQ(plan.updated.size(), 1u);
  const auto& update = plan.updated[0];
  EXPECT_EQ(update.index, 0u);
  EXPECT_TRUE(update.keepalive);
  EXPECT_TRUE(update.allowed_ips);
  EXPECT_TRUE(update.name);
  EXPECT_TRUE(update.endpoint);
  EXPECT_FALSE(update.preshared_key);
  EXPECT_FALSE(update.session);  // the slirp network and its flows are kept
  EXPECT_EQ(plan.unchanged, 0u);
}

TEST(ReloadPlan, PresharedKeyAndSessionChanges) {
  const auto running = parse(peer(kKeyA) + peer(kKeyB));
  const auto file =
      parse(peer(kKeyA, std::string("PresharedKey = ") + kKeyC) + peer(kKeyB, "MTU = 1280"));
  const auto plan = plan_reload(running.interface, pointers(running), file);
  ASSERT_EQ(plan.updated.size(), 2u);
  EXPECT_TRUE(plan.updated[0].preshared_key);
  EXPECT_FALSE(plan.updated[0].session);
  EXPECT_TRUE(plan.updated[1].session);
  EXPECT_FALSE(plan.updated[1].preshared_key);
}

TEST(ReloadPlan, PeerFlowLimitsApplyLiveInterfaceOnesNeedARestart) {
  const auto running = parse(peer(kKeyA) + peer(kKeyB));
  const auto file = parse(peer(kKeyA, "MaxTcpFlows = 10") + peer(kKeyB), "FdReserve = 128");
  const auto plan = plan_reload(running.interface, pointers(running), file);
  ASSERT_EQ(plan.updated.size(), 1u);
  EXPECT_TRUE(plan.updated[0].flow_limits);
  EXPECT_FALSE(plan.updated[0].session);  // the flows already open are kept
  EXPECT_EQ(plan.unchanged, 1u);
  EXPECT_EQ(plan.needs_restart, std::vector<std::string>{"FdReserve"});
  const auto shared = parse(peer(kKeyA) + peer(kKeyB), "MaxUdpFlows = 5");
  EXPECT_EQ(plan_reload(running.interface, pointers(running), shared).needs_restart,
            std::vector<std::string>{"flow limits (Max*, RateLimit)"});
}

TEST(ReloadPlan, RunTimeChangesAreUndoneByTheFile) {
  // `wg set` added an allowed IP to the running peer: the file's list wins.
  auto running = parse(peer(kKeyA));
  running.peers[0].allowed_ips.push_back(*net::IpPrefix::parse("10.0.2.20/32"));
  const auto file = parse(peer(kKeyA));
  const auto plan = plan_reload(running.interface, pointers(running), file);
  ASSERT_EQ(plan.updated.size(), 1u);
  EXPECT_TRUE(plan.updated[0].allowed_ips);
}

TEST(ReloadPlan, RoamedEndpointKeptWhenTheFileLineIsTheSame) {
  const auto running = parse(peer(kKeyA, "Endpoint = 198.51.100.9:5"));
  const auto file = parse(peer(kKeyA, "Endpoint = 198.51.100.9:5"));
  EXPECT_EQ(plan_reload(running.interface, pointers(running), file).unchanged, 1u);
  const auto dropped = parse(peer(kKeyA));  // no Endpoint line any more: nothing to set
  EXPECT_EQ(plan_reload(running.interface, pointers(running), dropped).updated.size(), 0u);
}

TEST(ReloadPlan, InterfaceChangesNeedARestart) {
  const auto running = parse(peer(kKeyA));
  const auto file = parse(peer(kKeyA), "ListenPort = 5000\nDenyDestinations = 198.51.100.0/24");
  const auto plan = plan_reload(running.interface, pointers(running), file);
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"ListenPort", "DenyDestinations"}));
  EXPECT_EQ(plan.unchanged, 1u);
}

}  // namespace
}  // namespace slirpvpn::server
