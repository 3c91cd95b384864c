// SPDX-License-Identifier: MIT
// Tests of the relay's socket loop on loopback: both directions, delay, NAT rebinding,
// filtering of foreign senders, the client limit, IPv6.
#include "relay.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace slirpvpn::wanem {
namespace {

using std::chrono::milliseconds;

// A bound UDP socket on loopback, closed on destruction.
struct Udp {
  int fd = -1;
  SocketAddress address;

  explicit Udp(const char* host = "127.0.0.1:0") {
    address = *SocketAddress::parse(host);
    fd = socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(bind(fd, address.sockaddr_ptr(), address.length), 0);
    address.length = sizeof address.storage;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length);
  }
  ~Udp() { close(fd); }

  void send_to(const SocketAddress& to, const std::string& text) const {
    EXPECT_EQ(sendto(fd, text.data(), text.size(), 0, to.sockaddr_ptr(), to.length),
              ssize_t(text.size()));
  }
  // One datagram if there is one now.
  std::optional<std::pair<std::string, SocketAddress>> try_receive() const {
    char buffer[2048];
    SocketAddress from;
    from.length = sizeof from.storage;
    const ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0,
                               reinterpret_cast<sockaddr*>(&from.storage), &from.length);
    if (n < 0) return std::nullopt;
    return std::pair{std::string(buffer, size_t(n)), from};
  }
};

// Runs the relay's loop until `socket` receives a datagram or 2 s pass.
std::optional<std::pair<std::string, SocketAddress>> pump_until(Relay& relay, const Udp& socket) {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    if (auto got = socket.try_receive()) return got;
    EXPECT_TRUE(relay.poll_once(milliseconds(5)));
  }
  return socket.try_receive();
}

// Runs the loop for `duration`, for datagrams that must NOT arrive.
void pump_for(Relay& relay, milliseconds duration) {
  const auto deadline = Clock::now() + duration;
  while (Clock::now() < deadline) ASSERT_TRUE(relay.poll_once(milliseconds(5)));
}

RelayConfig loopback_config(const Udp& target) {
  RelayConfig config;
  config.listen = *SocketAddress::parse("127.0.0.1:0");
  config.target = target.address;
  config.seed = 1;
  config.up.queue_bytes = config.down.queue_bytes = 1 << 20;
  return config;
}

TEST(Relay, RelaysBothWaysThroughOneMappingPerClient) {
  Udp target, client_a, client_b;
  auto relay = Relay::create(loopback_config(target));
  ASSERT_TRUE(relay) << relay.error().message();
  const SocketAddress listen = (*relay)->listen_address();
  ASSERT_NE(listen.port(), 0);

  client_a.send_to(listen, "from a");
  auto got = pump_until(**relay, target);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "from a");
  EXPECT_EQ(got->second.port(), (*relay)->mapping_port(0));
  const SocketAddress a_mapped = got->second;

  client_b.send_to(listen, "from b");
  got = pump_until(**relay, target);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "from b");
  EXPECT_NE(got->second.port(), a_mapped.port());
  EXPECT_EQ((*relay)->mapping_count(), 2u);

  // The reply to a's mapping goes to a (from the listen address), not to b.
  target.send_to(a_mapped, "to a");
  got = pump_until(**relay, client_a);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "to a");
  EXPECT_EQ(got->second, listen);
  EXPECT_FALSE(client_b.try_receive());
  EXPECT_EQ((*relay)->up().counters().tx_packets, 2u);
  EXPECT_EQ((*relay)->down().counters().tx_packets, 1u);
}

TEST(Relay, DelaysByTheConfiguredTime) {
  Udp target, client;
  RelayConfig config = loopback_config(target);
  config.up.delay = milliseconds(30);
  auto relay = Relay::create(config);
  ASSERT_TRUE(relay);
  const auto sent = Clock::now();
  client.send_to((*relay)->listen_address(), "slow");
  auto got = pump_until(**relay, target);
  const auto took = Clock::now() - sent;
  ASSERT_TRUE(got);
  EXPECT_GE(took, milliseconds(30) - config.granularity / 2);
  EXPECT_LT(took, milliseconds(200));
}

TEST(Relay, RebindMovesTheClientToANewPortAndDropsRepliesToTheOld) {
  Udp target, client;
  auto relay = Relay::create(loopback_config(target));
  ASSERT_TRUE(relay);
  const SocketAddress listen = (*relay)->listen_address();
  client.send_to(listen, "one");
  auto got = pump_until(**relay, target);
  ASSERT_TRUE(got);
  const SocketAddress old_mapping = got->second;

  (*relay)->rebind_all();
  EXPECT_NE((*relay)->mapping_port(0), old_mapping.port());
  EXPECT_EQ((*relay)->mapping_count(), 1u);  // same client, same mapping, new port
  client.send_to(listen, "two");
  got = pump_until(**relay, target);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "two");
  EXPECT_EQ(got->second.port(), (*relay)->mapping_port(0));
  const SocketAddress new_mapping = got->second;

  target.send_to(old_mapping, "lost");
  pump_for(**relay, milliseconds(50));
  EXPECT_FALSE(client.try_receive());
  target.send_to(new_mapping, "back");
  got = pump_until(**relay, client);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "back");
}

TEST(Relay, DropsDatagramsFromAnyoneButTheTarget) {
  Udp target, client, stranger;
  auto relay = Relay::create(loopback_config(target));
  ASSERT_TRUE(relay);
  client.send_to((*relay)->listen_address(), "hi");
  auto got = pump_until(**relay, target);
  ASSERT_TRUE(got);
  stranger.send_to(got->second, "spoof");
  pump_for(**relay, milliseconds(50));
  EXPECT_FALSE(client.try_receive());
  EXPECT_EQ((*relay)->down().counters().drop_foreign, 1u);
}

TEST(Relay, ClientsPastTheLimitAreDroppedAndCounted) {
  Udp target, first, second;
  RelayConfig config = loopback_config(target);
  config.max_clients = 1;
  auto relay = Relay::create(config);
  ASSERT_TRUE(relay);
  first.send_to((*relay)->listen_address(), "ok");
  ASSERT_TRUE(pump_until(**relay, target));
  second.send_to((*relay)->listen_address(), "no room");
  pump_for(**relay, milliseconds(50));
  EXPECT_FALSE(target.try_receive());
  EXPECT_EQ((*relay)->up().counters().drop_no_mapping, 1u);
}

TEST(Relay, WorksOverIpv6) {
  const int probe = socket(AF_INET6, SOCK_DGRAM, 0);
  const auto loop6 = *SocketAddress::parse("[::1]:0");
  const bool have_v6 = probe >= 0 && bind(probe, loop6.sockaddr_ptr(), loop6.length) == 0;
  if (probe >= 0) close(probe);
  if (!have_v6) GTEST_SKIP() << "no IPv6 loopback here";
  Udp target("[::1]:0"), client("[::1]:0");
  RelayConfig config = loopback_config(target);
  config.listen = loop6;
  auto relay = Relay::create(config);
  ASSERT_TRUE(relay) << relay.error().message();
  client.send_to((*relay)->listen_address(), "six");
  auto got = pump_until(**relay, target);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "six");
  target.send_to(got->second, "back");
  got = pump_until(**relay, client);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, "back");
}

}  // namespace
}  // namespace slirpvpn::wanem
