// SPDX-License-Identifier: MIT
// UdpSocket on loopback: batches, IPv4/IPv6/dual-stack, GSO/GRO, PKTINFO, partial batches.
#include "net/udp_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "net/netlink.h"
#include "net/netns_fixture.h"

namespace slirpvpn::net {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

UdpSocketOptions small_options() {
  UdpSocketOptions options;
  options.gro = false;  // small slots
  return options;
}

// Slot i carries "payload-<tag>-<i>" padded to `size` bytes.
void put(DatagramBatch& batch, size_t i, const Endpoint& peer, uint32_t tag, size_t size = 64) {
  Datagram& datagram = batch[i];
  datagram.reset();
  datagram.peer = peer;
  std::memset(datagram.data, 'x', size);
  const std::string text = "payload-" + std::to_string(tag);
  std::memcpy(datagram.data, text.data(), text.size());
  datagram.length = static_cast<uint32_t>(size);
}

std::string head(std::span<const uint8_t> bytes) {
  std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text.substr(0, text.find('x'));
}

// Receives until `expected` datagrams (segments counted one each) arrived or 2 s passed.
std::vector<std::string> receive(UdpSocket& socket, DatagramBatch& batch, size_t expected,
                                 std::vector<Datagram>* slots = nullptr) {
  std::vector<std::string> payloads;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (payloads.size() < expected && std::chrono::steady_clock::now() < deadline) {
    pollfd descriptor{socket.fd(), POLLIN, 0};
    ::poll(&descriptor, 1, 100);
    auto count = socket.recv_batch(batch);
    EXPECT_TRUE(count.has_value()) << count.error().message();
    if (!count) break;
    for (size_t i = 0; i < *count; ++i) {
      if (slots) slots->push_back(batch[i]);
      for (size_t k = 0; k < batch[i].segment_count(); ++k) {
        payloads.push_back(head(batch[i].segment(k)));
      }
    }
  }
  return payloads;
}

void round_trip_many(const char* address) {
  auto receiver = UdpSocket::open(Endpoint{ip(address), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip(address), 0}, small_options());
  ASSERT_TRUE(receiver) << receiver.error().message();
  ASSERT_TRUE(sender) << sender.error().message();
  ASSERT_NE(receiver->local_port(), 0);
  const Endpoint to{ip(address), receiver->local_port()};

  // 8 batches of 32 = 256 datagrams, below the default receive buffer.
  DatagramBatch out(32, 1500);
  DatagramBatch in(32, 1500);
  std::set<std::string> expected;
  for (uint32_t round = 0; round < 8; ++round) {
    for (size_t i = 0; i < 32; ++i) {
      const uint32_t tag = round * 32 + static_cast<uint32_t>(i);
      put(out, i, to, tag, 40 + tag % 200);
      expected.insert("payload-" + std::to_string(tag));
    }
    const SendOutcome outcome = sender->send_batch(out, 0, 32);
    EXPECT_EQ(outcome.consumed, 32u);
    EXPECT_EQ(outcome.dropped, 0u);
    EXPECT_FALSE(outcome.would_block);
  }
  std::vector<Datagram> slots;
  const auto payloads = receive(*receiver, in, 256, &slots);
  EXPECT_EQ(payloads.size(), 256u);
  EXPECT_EQ(std::set<std::string>(payloads.begin(), payloads.end()), expected);
  for (const Datagram& datagram : slots) {
    EXPECT_EQ(datagram.peer, (Endpoint{ip(address), sender->local_port()}));
    ASSERT_TRUE(datagram.local.has_value());
    EXPECT_EQ(*datagram.local, ip(address));
    EXPECT_NE(datagram.ifindex, 0u);
  }
}

TEST(UdpSocket, BatchRoundTripIpv4) {
  round_trip_many("127.0.0.1");
}
TEST(UdpSocket, BatchRoundTripIpv6) {
  round_trip_many("::1");
}

TEST(UdpSocket, EmptySocketReceivesNothingWithoutError) {
  auto socket = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(socket);
  DatagramBatch batch(4, 1500);
  auto count = socket->recv_batch(batch);
  ASSERT_TRUE(count) << count.error().message();
  EXPECT_EQ(*count, 0u);
}

TEST(UdpSocket, DualStackSeesMappedPeerAndRepliesFromTheRequestedAddress) {
  auto server = UdpSocket::open(uint16_t{0}, small_options());
  ASSERT_TRUE(server) << server.error().message();
  ASSERT_EQ(server->family(), AF_INET6);
  auto client = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(client);

  DatagramBatch batch(4, 1500);
  put(batch, 0, Endpoint{ip("127.0.0.1"), server->local_port()}, 1);
  ASSERT_EQ(client->send_batch(batch, 0, 1).consumed, 1u);

  std::vector<Datagram> slots;
  ASSERT_EQ(receive(*server, batch, 1, &slots).size(), 1u);
  const Datagram request = slots[0];
  EXPECT_EQ(request.peer, (Endpoint{ip("::ffff:127.0.0.1"), client->local_port()}));
  EXPECT_EQ(request.peer.unmapped(), (Endpoint{ip("127.0.0.1"), client->local_port()}));
  ASSERT_TRUE(request.local.has_value());
  EXPECT_EQ(request.local->unmapped(), ip("127.0.0.1"));

  // The reply names the request's destination as its source (IPV6_PKTINFO with a mapped
  // address); an IPv4 peer given as plain IPv4 must work on the IPv6 socket too.
  put(batch, 0, request.peer.unmapped(), 2);
  batch[0].local = request.local;
  const SendOutcome outcome = server->send_batch(batch, 0, 1);
  EXPECT_EQ(outcome.consumed, 1u);
  EXPECT_EQ(outcome.dropped, 0u) << server->stats().send_last_error;
  slots.clear();
  const auto reply = receive(*client, batch, 1, &slots);
  ASSERT_EQ(reply.size(), 1u);
  EXPECT_EQ(reply[0], "payload-2");
  EXPECT_EQ(slots[0].peer, (Endpoint{ip("127.0.0.1"), server->local_port()}));
}

TEST(UdpSocket, SourceAddressThatIsNotLocalFallsBackToRouting) {
  auto server = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  auto client = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(server && client);
  DatagramBatch batch(2, 1500);
  put(batch, 0, Endpoint{ip("127.0.0.1"), client->local_port()}, 7);
  batch[0].local = ip("203.0.113.77");  // not an address of this host: EINVAL from the kernel
  const SendOutcome outcome = server->send_batch(batch, 0, 1);
  EXPECT_EQ(outcome.consumed, 1u);
  EXPECT_EQ(outcome.dropped, 0u);
  EXPECT_FALSE(batch[0].local.has_value());
  EXPECT_EQ(receive(*client, batch, 1), std::vector<std::string>{"payload-7"});
}

TEST(UdpSocket, RefusedDestinationInTheMiddleDropsOnlyThatDatagram) {
  auto receiver = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(receiver && sender);
  const Endpoint good{ip("127.0.0.1"), receiver->local_port()};
  DatagramBatch out(10, 1500);
  for (uint32_t i = 0; i < 10; ++i) put(out, i, good, i);
  out[4].peer = Endpoint{ip("127.0.0.1"), 0};    // port 0: the kernel says EINVAL
  out[7].peer = Endpoint{ip("2001:db8::1"), 9};  // IPv6 peer on an IPv4 socket
  const SendOutcome outcome = sender->send_batch(out, 0, 10);
  EXPECT_EQ(outcome.consumed, 10u);
  EXPECT_EQ(outcome.dropped, 2u);
  EXPECT_FALSE(outcome.would_block);
  EXPECT_EQ(sender->stats().send_dropped, 2u);
  DatagramBatch in(16, 1500);
  const auto payloads = receive(*receiver, in, 8);
  EXPECT_EQ(std::set<std::string>(payloads.begin(), payloads.end()),
            (std::set<std::string>{"payload-0", "payload-1", "payload-2", "payload-3", "payload-5",
                                   "payload-6", "payload-8", "payload-9"}));
}

TEST(UdpSocket, SendsOnlyTheRequestedRange) {
  auto receiver = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(receiver && sender);
  DatagramBatch out(8, 1500);
  for (uint32_t i = 0; i < 8; ++i)
    put(out, i, Endpoint{ip("127.0.0.1"), receiver->local_port()}, i);
  EXPECT_EQ(sender->send_batch(out, 3, 6).consumed, 3u);
  EXPECT_EQ(sender->send_batch(out, 6, 6).consumed, 0u);
  DatagramBatch in(8, 1500);
  const auto payloads = receive(*receiver, in, 3);
  EXPECT_EQ(payloads, (std::vector<std::string>{"payload-3", "payload-4", "payload-5"}));
}

TEST(UdpSocket, OversizeDatagramIsDroppedAndCounted) {
  auto receiver = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(receiver && sender);
  DatagramBatch out(2, 1500);
  put(out, 0, Endpoint{ip("127.0.0.1"), receiver->local_port()}, 1, 300);
  put(out, 1, Endpoint{ip("127.0.0.1"), receiver->local_port()}, 2, 50);
  ASSERT_EQ(sender->send_batch(out, 0, 2).consumed, 2u);
  DatagramBatch in(4, 100);
  EXPECT_EQ(receive(*receiver, in, 1), std::vector<std::string>{"payload-2"});
  EXPECT_EQ(receiver->stats().received_truncated, 1u);
}

// 10 segments of 1000 bytes and one of 500, one buffer: GSO on the way out, GRO on the way in.
void put_coalesced(DatagramBatch& batch, const Endpoint& to) {
  Datagram& datagram = batch[0];
  datagram.reset();
  datagram.peer = to;
  datagram.segment_size = 1000;
  datagram.length = 10500;
  std::memset(datagram.data, 'x', datagram.length);
  for (uint32_t k = 0; k < 11; ++k) {
    const std::string text = "payload-" + std::to_string(k);
    std::memcpy(datagram.data + k * 1000, text.data(), text.size());
  }
}

std::vector<std::string> segment_names() {
  std::vector<std::string> names;
  for (int k = 0; k < 11; ++k) names.push_back("payload-" + std::to_string(k));
  return names;
}

TEST(UdpSocket, GsoSendAndGroReceiveRoundTrip) {
  auto receiver = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0});
  auto sender = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0});
  ASSERT_TRUE(receiver && sender);
  if (!sender->gso_enabled() || !receiver->gro_enabled()) {
    GTEST_SKIP() << "kernel lacks UDP GSO (4.18) or GRO (5.0)";
  }
  DatagramBatch out(1, kMaxDatagramSize);
  put_coalesced(out, Endpoint{ip("127.0.0.1"), receiver->local_port()});
  const SendOutcome outcome = sender->send_batch(out, 0, 1);
  EXPECT_EQ(outcome.consumed, 1u);
  EXPECT_EQ(outcome.dropped, 0u) << sender->stats().send_last_error;

  DatagramBatch in(4, kMaxDatagramSize);
  std::vector<Datagram> slots;
  EXPECT_EQ(receive(*receiver, in, 11, &slots), segment_names());
  // Loopback hands the GSO buffer up whole: one slot, split by the gso_size cmsg.
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0].segment_size, 1000u);
  EXPECT_EQ(slots[0].length, 10500u);
  EXPECT_EQ(slots[0].segment(10).size(), 500u);
}

TEST(UdpSocket, GsoSendToReceiverWithoutGroArrivesAsSeparateDatagrams) {
  auto receiver = UdpSocket::open(Endpoint{ip("::1"), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip("::1"), 0});
  ASSERT_TRUE(receiver && sender);
  if (!sender->gso_enabled()) GTEST_SKIP() << "kernel lacks UDP GSO (4.18)";
  DatagramBatch out(1, kMaxDatagramSize);
  put_coalesced(out, Endpoint{ip("::1"), receiver->local_port()});
  EXPECT_EQ(sender->send_batch(out, 0, 1).consumed, 1u);
  DatagramBatch in(16, 1500);
  std::vector<Datagram> slots;
  EXPECT_EQ(receive(*receiver, in, 11, &slots), segment_names());
  EXPECT_EQ(slots.size(), 11u);
}

TEST(UdpSocket, CoalescedSlotWithoutGsoIsSentOneDatagramAtATime) {
  UdpSocketOptions no_gso;
  no_gso.gso = false;
  auto receiver = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, no_gso);
  ASSERT_TRUE(receiver && sender);
  EXPECT_FALSE(sender->gso_enabled());
  DatagramBatch out(3, kMaxDatagramSize);
  put(out, 0, Endpoint{ip("127.0.0.1"), receiver->local_port()}, 100);
  put_coalesced(out, Endpoint{ip("127.0.0.1"), receiver->local_port()});  // slot 0
  put(out, 1, Endpoint{ip("127.0.0.1"), receiver->local_port()}, 11);
  put(out, 2, Endpoint{ip("127.0.0.1"), receiver->local_port()}, 12);
  const SendOutcome outcome = sender->send_batch(out, 0, 3);
  EXPECT_EQ(outcome.consumed, 3u);
  EXPECT_EQ(outcome.dropped, 0u);
  DatagramBatch in(32, 1500);
  auto expected = segment_names();
  expected.push_back("payload-11");
  expected.push_back("payload-12");
  EXPECT_EQ(receive(*receiver, in, 13), expected);
}

TEST(UdpSocket, SetMarkAppliesSoMark) {
  auto socket = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(socket);
  auto marked = socket->set_mark(0x1234);
  if (!marked && marked.error().error_number == EPERM) {
    EXPECT_NE(marked.error().message().find("CAP_NET_ADMIN"), std::string::npos);
    GTEST_SKIP() << "not privileged: " << marked.error().message();
  }
  ASSERT_TRUE(marked) << marked.error().message();
  uint32_t mark = 0;
  socklen_t size = sizeof mark;
  ASSERT_EQ(::getsockopt(socket->fd(), SOL_SOCKET, SO_MARK, &mark, &size), 0);
  EXPECT_EQ(mark, 0x1234u);
}

TEST(UdpSocket, BindConflictIsAnError) {
  auto first = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(first);
  auto second = UdpSocket::open(Endpoint{ip("127.0.0.1"), first->local_port()}, small_options());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().error_number, EADDRINUSE);
  EXPECT_NE(second.error().message().find("bind"), std::string::npos);
}

TEST(UdpSocket, MoveKeepsTheDescriptor) {
  auto socket = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  ASSERT_TRUE(socket);
  const int fd = socket->fd();
  UdpSocket moved = std::move(*socket);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(socket->fd(), -1);
  auto local = moved.local_endpoint();
  ASSERT_TRUE(local);
  EXPECT_EQ(local->port, moved.local_port());
}

// A full socket send buffer is an outcome: the call reports how far it got and a later call
// resumes there. A tbf qdisc on lo (in a fresh namespace) holds the packets, so they stay charged
// to the sender's small buffer and sendmmsg runs into EAGAIN.
class UdpSocketNetnsTest : public testing::NetnsTest {};

TEST_F(UdpSocketNetnsTest, FullSendBufferStopsWithWouldBlockAndResumes) {
  auto netlink = Netlink::open();
  ASSERT_TRUE(netlink);
  ASSERT_TRUE(netlink->set_link_up(1, true));
  const std::string tc = run("tc qdisc add dev lo root tbf rate 2mbit burst 4k latency 2s 2>&1");
  if (!tc.empty()) GTEST_SKIP() << "no tbf qdisc: " << tc;

  UdpSocketOptions tight = small_options();
  tight.send_buffer_bytes = 4096;  // the kernel doubles it and keeps a floor: a few datagrams
  auto receiver = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, small_options());
  auto sender = UdpSocket::open(Endpoint{ip("127.0.0.1"), 0}, tight);
  ASSERT_TRUE(receiver && sender);
  const Endpoint to{ip("127.0.0.1"), receiver->local_port()};
  DatagramBatch out(64, 1500);
  for (uint32_t i = 0; i < 64; ++i) put(out, i, to, i, 1000);

  SendOutcome first = sender->send_batch(out, 0, 64);
  EXPECT_TRUE(first.would_block);
  EXPECT_GT(first.consumed, 0u);
  EXPECT_LT(first.consumed, 64u);
  EXPECT_EQ(first.dropped, 0u);

  size_t next = first.consumed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (next < 64 && std::chrono::steady_clock::now() < deadline) {
    pollfd descriptor{sender->fd(), POLLOUT, 0};
    ::poll(&descriptor, 1, 100);
    const SendOutcome more = sender->send_batch(out, next, 64);
    EXPECT_EQ(more.dropped, 0u);
    next += more.consumed;
  }
  EXPECT_EQ(next, 64u);
  DatagramBatch in(64, 1500);
  const auto payloads = receive(*receiver, in, 64);
  std::set<std::string> expected;
  for (int i = 0; i < 64; ++i) expected.insert("payload-" + std::to_string(i));
  EXPECT_EQ(std::set<std::string>(payloads.begin(), payloads.end()), expected);
}

}  // namespace
}  // namespace slirpvpn::net
