// SPDX-License-Identifier: MIT
// A peer's slirp session settings from the server file: flow limits, peer over interface.
#include "server/session_config.h"

#include <gtest/gtest.h>

#include "config/server_config.h"

namespace slirpvpn::server {
namespace {

constexpr const char* kServerKey = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
constexpr const char* kKeyA = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
constexpr const char* kKeyB = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

config::ServerConfig parse(const std::string& text) {
  auto config = config::parse_server_config(
      std::string("[Interface]\nPrivateKey = ") + kServerKey + "\n" + text, "test.conf");
  EXPECT_TRUE(config) << (config ? "" : config.error().to_string());
  return std::move(*config);
}

TEST(SessionConfigTest, FlowLimitsDefaultInterfaceAndPeer) {
  const auto plain = parse(std::string("[Peer]\nPublicKey = ") + kKeyA + "\n");
  const auto defaults = make_session_config(plain.interface, plain.peers[0], {}).limits;
  const slirp::FlowLimits expected;
  EXPECT_EQ(defaults.max_tcp_flows, expected.max_tcp_flows);
  EXPECT_EQ(defaults.max_udp_flows, expected.max_udp_flows);
  EXPECT_EQ(defaults.max_host_sockets, expected.max_host_sockets);
  EXPECT_EQ(defaults.max_new_flows_per_second, expected.max_new_flows_per_second);

  const auto config = parse(std::string("MaxTcpFlows = 10\nMaxUdpFlows = 20\n") +
                            "[Peer]\nName = small\nPublicKey = " + kKeyA +
                            "\nMaxUdpFlows = 5\nMaxHostSockets = unlimited\n" +
                            "[Peer]\nPublicKey = " + kKeyB + "\n");
  const auto own = make_session_config(config.interface, config.peers[0], {});
  EXPECT_EQ(own.limits.max_tcp_flows, 10u);
  EXPECT_EQ(own.limits.max_udp_flows, 5u);
  EXPECT_EQ(own.limits.max_host_sockets, 0u);
  EXPECT_EQ(own.limits.max_new_flows_per_second, expected.max_new_flows_per_second);
  EXPECT_EQ(own.log_name, "small");
  const auto shared = make_session_config(config.interface, config.peers[1], {});
  EXPECT_EQ(shared.limits.max_tcp_flows, 10u);
  EXPECT_EQ(shared.limits.max_udp_flows, 20u);
  EXPECT_EQ(shared.limits.max_host_sockets, expected.max_host_sockets);
  EXPECT_EQ(shared.log_name, kKeyB);  // unnamed peers by their key
}

}  // namespace
}  // namespace slirpvpn::server
