// SPDX-License-Identifier: MIT
// Two Devices wired back to back in memory with a hand-advanced clock (as boringtun's tests).
#include "wireguard/device.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

namespace slirpvpn::wireguard {
namespace {

using namespace std::chrono_literals;

class SeededRandom : public RandomSource {
 public:
  explicit SeededRandom(uint32_t seed) : engine_(seed) {}
  void fill(std::span<uint8_t> out) noexcept override {
    ++fills;
    for (auto& byte : out) byte = uint8_t(engine_());
  }
  size_t fills = 0;

 private:
  std::mt19937 engine_;
};

struct Datagram {
  PeerAddress to;
  std::vector<uint8_t> bytes;
};

class Recorder : public DeviceOutput {
 public:
  void send_datagram(const PeerAddress& to, std::span<const uint8_t> datagram) noexcept override {
    sent.push_back({to, {datagram.begin(), datagram.end()}});
  }
  void deliver_packet(Peer&, std::span<uint8_t> packet) noexcept override {
    delivered.emplace_back(packet.begin(), packet.end());
  }
  std::deque<Datagram> sent;
  std::vector<std::vector<uint8_t>> delivered;
};

PeerAddress address(uint8_t last, uint16_t port) {
  PeerAddress result;
  result.family = 4;
  result.address[0] = 198;
  result.address[1] = 51;
  result.address[2] = 100;
  result.address[3] = last;
  result.port = port;
  return result;
}

// A minimal IPv4 packet of `size` bytes (header fields only as far as the device checks).
std::vector<uint8_t> ip_packet(size_t size, uint8_t fill) {
  std::vector<uint8_t> packet(size, fill);
  packet[0] = 0x45;
  packet[2] = uint8_t(size >> 8);
  packet[3] = uint8_t(size);
  return packet;
}

crypto::PrivateKey key_from(RandomSource& random) {
  crypto::Secret<32> bytes;
  random.fill(bytes.span());
  return crypto::PrivateKey::from_random(bytes.span());
}

class DevicePairTest : public ::testing::Test {
 protected:
  DevicePairTest()
      : random_a_(1),
        random_b_(2),
        a_(key_from(random_a_), random_a_, out_a_, [this] { return wall_; }),
        b_(key_from(random_b_), random_b_, out_b_, [this] { return wall_; }) {
    PeerConfig config_b;
    config_b.public_key = b_.identity().public_key;
    config_b.endpoint = kAddressB;
    peer_b_ = &a_.add_peer(config_b);
    PeerConfig config_a;
    config_a.public_key = a_.identity().public_key;
    peer_a_ = &b_.add_peer(config_a);
  }

  static void SetUpTestSuite() { ASSERT_TRUE(crypto::initialize()); }

  // Delivers every queued datagram in both directions until both sides are quiet.
  void pump(PeerAddress from_a = kAddressA) {
    for (int round = 0; round < 16 && (!out_a_.sent.empty() || !out_b_.sent.empty()); ++round) {
      while (!out_a_.sent.empty()) {
        auto datagram = std::move(out_a_.sent.front());
        out_a_.sent.pop_front();
        b_.receive(datagram.bytes, from_a, now_);
      }
      while (!out_b_.sent.empty()) {
        auto datagram = std::move(out_b_.sent.front());
        out_b_.sent.pop_front();
        a_.receive(datagram.bytes, kAddressB, now_);
      }
    }
  }

  EncapsulateResult send_a_to_b(const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> out(packet.size() + 64);
    auto result = a_.encapsulate(*peer_b_, packet, out, now_);
    if (result.length > 0)
      out_a_.sent.push_back({kAddressB, {out.begin(), out.begin() + result.length}});
    return result;
  }

  EncapsulateResult send_b_to_a(const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> out(packet.size() + 64);
    auto result = b_.encapsulate(*peer_a_, packet, out, now_);
    if (result.length > 0) {
      out_b_.sent.push_back({peer_a_->endpoint(), {out.begin(), out.begin() + result.length}});
    }
    return result;
  }

  // Runs the clock forward in 100 ms steps, firing due timers; with deliver, datagrams are
  // exchanged at every step as on a fast network.
  void advance(Duration by, bool deliver = false) {
    const TimePoint end = now_ + by;
    while (now_ < end) {
      const Duration step = std::min<Duration>(100ms, end - now_);
      now_ += step;
      wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(step);
      if (a_.next_expiry(*peer_b_) <= now_) a_.on_timer(*peer_b_, now_);
      if (b_.next_expiry(*peer_a_) <= now_) b_.on_timer(*peer_a_, now_);
      if (deliver) pump();
    }
  }

  // Initiations with a valid mac1 for b from `count` fresh keys b does not know.
  std::vector<std::vector<uint8_t>> unknown_initiations(size_t count) {
    std::vector<std::vector<uint8_t>> out;
    SeededRandom random(7);
    for (size_t i = 0; i < count; ++i) {
      Recorder recorder;
      Device c(key_from(random), random, recorder, [this] { return wall_; });
      PeerConfig config;
      config.public_key = b_.identity().public_key;
      config.endpoint = kAddressB;
      c.initiate_handshake(c.add_peer(config), now_);
      out.push_back(recorder.sent.front().bytes);
    }
    return out;
  }

  // Delivers `initiations` to b from `from` at now_; counts the results by reason.
  DropCounters flood_b(std::vector<std::vector<uint8_t>> initiations, const PeerAddress& from) {
    DropCounters results;
    for (auto& initiation : initiations) results.add(b_.receive(initiation, from, now_));
    return results;
  }

  static constexpr PeerAddress kAddressA = {4, {198, 51, 100, 2}, 40000};
  static constexpr PeerAddress kAddressB = {4, {198, 51, 100, 1}, 51820};

  SeededRandom random_a_, random_b_;
  Recorder out_a_, out_b_;
  TimePoint now_ = TimePoint() + 1000s;
  std::chrono::system_clock::time_point wall_ =
      std::chrono::system_clock::time_point() + 1700000000s;
  Device a_, b_;
  Peer* peer_b_;
  Peer* peer_a_;
};

TEST_F(DevicePairTest, FirstPacketIsStagedThenDeliveredAfterHandshake) {
  const auto packet = ip_packet(100, 0xab);
  EXPECT_EQ(send_a_to_b(packet).reason, DropReason::kNoSession);
  ASSERT_EQ(out_a_.sent.size(), 1u);
  EXPECT_EQ(out_a_.sent.front().bytes.size(), kInitiationSize);
  pump();
  ASSERT_EQ(out_b_.delivered.size(), 1u);
  EXPECT_EQ(out_b_.delivered[0], packet);
  EXPECT_TRUE(peer_b_->has_session());
  EXPECT_TRUE(peer_a_->has_session());  // confirmed by the staged packet
  EXPECT_EQ(peer_a_->endpoint(), kAddressA);
  EXPECT_EQ(peer_a_->stats().handshakes_completed, 1u);
}

// The kernel's jitter is drawn for the packet that arms new_handshake only: a draw per packet
// was a getrandom system call per packet.
TEST_F(DevicePairTest, SendingDataDrawsRandomnessOnlyWhenATimerIsArmed) {
  send_a_to_b(ip_packet(100, 1));
  pump();
  ASSERT_EQ(out_b_.delivered.size(), 1u);
  send_b_to_a(ip_packet(100, 2));
  pump();
  const size_t before = random_a_.fills;
  send_a_to_b(ip_packet(100, 3));
  EXPECT_EQ(random_a_.fills, before + 1);  // arms new_handshake (b's answer disarmed it)
  for (int i = 0; i < 100; ++i) ASSERT_GT(send_a_to_b(ip_packet(100, 4)).length, 0u);
  EXPECT_EQ(random_a_.fills, before + 1);
  pump();
  EXPECT_EQ(out_b_.delivered.size(), 102u);
}

TEST_F(DevicePairTest, DataFlowsBothWaysAndReplayIsDropped) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  const auto reply = ip_packet(1420, 2);
  ASSERT_EQ(send_b_to_a(reply).reason, DropReason::kNone);
  const auto captured = out_b_.sent.front().bytes;
  pump();
  ASSERT_EQ(out_a_.delivered.size(), 1u);
  EXPECT_EQ(out_a_.delivered[0], reply);
  auto replay = captured;
  EXPECT_EQ(a_.receive(replay, kAddressB, now_), DropReason::kReplayedCounter);
  EXPECT_EQ(a_.drops()[DropReason::kReplayedCounter], 1u);
  EXPECT_EQ(out_a_.delivered.size(), 1u);
}

TEST_F(DevicePairTest, TamperedTransportIsDroppedWithoutStateChange) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  send_a_to_b(ip_packet(80, 3));
  const auto pristine = out_a_.sent.front().bytes;
  out_a_.sent.clear();
  auto tampered = pristine;
  tampered[20] ^= 0x40;
  EXPECT_EQ(b_.receive(tampered, kAddressA, now_), DropReason::kDecryptFailed);
  auto intact = pristine;
  EXPECT_EQ(b_.receive(intact, kAddressA, now_), DropReason::kNone);  // the counter was not burnt
}

TEST_F(DevicePairTest, MalformedDatagramsAreDroppedByReason) {
  std::vector<uint8_t> empty;
  EXPECT_EQ(b_.receive(empty, kAddressA, now_), DropReason::kTooShort);
  std::vector<uint8_t> unknown = {9, 0, 0, 0, 1, 2, 3};
  EXPECT_EQ(b_.receive(unknown, kAddressA, now_), DropReason::kUnknownType);
  std::vector<uint8_t> reserved(kInitiationSize, 0);
  reserved[0] = 1;
  reserved[2] = 1;
  EXPECT_EQ(b_.receive(reserved, kAddressA, now_), DropReason::kReservedNotZero);
  std::vector<uint8_t> random_initiation(kInitiationSize, 0x5a);
  random_initiation[0] = 1;
  random_initiation[1] = random_initiation[2] = random_initiation[3] = 0;
  EXPECT_EQ(b_.receive(random_initiation, kAddressA, now_), DropReason::kInvalidMac1);
  std::vector<uint8_t> long_response(kResponseSize + 1, 0);
  long_response[0] = 2;
  EXPECT_EQ(b_.receive(long_response, kAddressA, now_), DropReason::kTooLong);
  std::vector<uint8_t> transport(kTransportMinSize, 0);
  transport[0] = 4;
  EXPECT_EQ(b_.receive(transport, kAddressA, now_), DropReason::kUnknownIndex);
}

TEST_F(DevicePairTest, UnknownInitiatorIsRejected) {
  SeededRandom random_c(3);
  Recorder out_c;
  Device c(key_from(random_c), random_c, out_c, [this] { return wall_; });
  PeerConfig config;
  config.public_key = b_.identity().public_key;
  config.endpoint = kAddressB;
  Peer& peer = c.add_peer(config);
  c.initiate_handshake(peer, now_);
  ASSERT_EQ(out_c.sent.size(), 1u);
  EXPECT_EQ(b_.receive(out_c.sent.front().bytes, kAddressA, now_), DropReason::kUnknownPeer);
  EXPECT_TRUE(out_b_.sent.empty());
}

TEST_F(DevicePairTest, ReplayedInitiationIsRejected) {
  a_.initiate_handshake(*peer_b_, now_);
  const auto initiation = out_a_.sent.front().bytes;
  pump();
  auto replay = initiation;
  now_ += 1s;
  EXPECT_EQ(b_.receive(replay, kAddressA, now_), DropReason::kStaleTimestamp);
}

TEST_F(DevicePairTest, UnderLoadAnInitiationGetsACookieThenSucceedsWithMac2) {
  b_.set_under_load(true);
  a_.initiate_handshake(*peer_b_, now_);
  auto initiation = out_a_.sent.front().bytes;
  out_a_.sent.clear();
  EXPECT_EQ(b_.receive(initiation, kAddressA, now_), DropReason::kInvalidMac2);
  ASSERT_EQ(out_b_.sent.size(), 1u);
  EXPECT_EQ(out_b_.sent.front().bytes.size(), kCookieReplySize);
  pump();  // a consumes the cookie reply
  EXPECT_FALSE(peer_b_->has_session());
  advance(kRekeyTimeout + kRekeyTimeoutJitterMax);  // the retransmission now carries mac2
  pump();
  EXPECT_TRUE(peer_b_->has_session());
}

TEST_F(DevicePairTest, CookieFromAnotherSourceAddressDoesNotCount) {
  b_.set_under_load(true);
  a_.initiate_handshake(*peer_b_, now_);
  out_a_.sent.clear();
  b_.receive(*std::make_unique<std::vector<uint8_t>>(), kAddressA, now_);
  advance(kRekeyTimeout + kRekeyTimeoutJitterMax);
  // The retransmission arrives from another address: its cookie (if any) does not match.
  pump(address(9, 1234));
  EXPECT_FALSE(peer_b_->has_session());
}

TEST_F(DevicePairTest, RoamingFollowsTheLatestAuthenticatedPacket) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  const PeerAddress moved = address(77, 50000);
  send_a_to_b(ip_packet(60, 2));
  pump(moved);
  EXPECT_EQ(peer_a_->endpoint(), moved);
  send_b_to_a(ip_packet(60, 3));
  EXPECT_EQ(out_b_.sent.back().to, moved);
}

TEST_F(DevicePairTest, InitiatorRekeysAfterRekeyAfterTime) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  EXPECT_EQ(peer_b_->stats().handshakes_completed, 1u);
  advance(kRekeyAfterTime - 1s, true);
  send_a_to_b(ip_packet(60, 2));
  pump();
  EXPECT_EQ(peer_b_->stats().handshakes_completed, 1u);
  advance(2s, true);
  send_a_to_b(ip_packet(60, 3));  // sent on the old keypair, and a new handshake starts
  pump();
  EXPECT_EQ(peer_b_->stats().handshakes_completed, 2u);
  EXPECT_EQ(out_b_.delivered.size(), 3u);
}

TEST_F(DevicePairTest, KeysAreRejectedAfterRejectAfterTime) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  send_b_to_a(ip_packet(60, 2));
  const auto late = out_b_.sent.front().bytes;
  out_b_.sent.clear();
  now_ += kRejectAfterTime;
  auto copy = late;
  EXPECT_EQ(a_.receive(copy, kAddressB, now_), DropReason::kKeyExpired);
  // Sending now stages and starts a handshake instead of using the dead keypair.
  EXPECT_EQ(send_b_to_a(ip_packet(60, 4)).reason, DropReason::kNoSession);
}

TEST_F(DevicePairTest, KeepaliveAfterTenSecondsOfOneWayTraffic) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  out_b_.delivered.clear();
  send_a_to_b(ip_packet(60, 2));
  pump();
  advance(kKeepaliveTimeout - 1s);
  EXPECT_TRUE(out_b_.sent.empty());
  advance(1s);
  ASSERT_EQ(out_b_.sent.size(), 1u);
  EXPECT_EQ(out_b_.sent.front().bytes.size(), kTransportMinSize);  // an empty transport packet
}

TEST_F(DevicePairTest, HandshakeRetriesEveryFiveSecondsThenGivesUp) {
  EXPECT_EQ(send_a_to_b(ip_packet(60, 1)).reason, DropReason::kNoSession);
  out_a_.sent.clear();  // b never answers
  int initiations = 1;
  for (int second = 0; second < 130; ++second) {
    advance(1s);
    initiations += int(out_a_.sent.size());
    out_a_.sent.clear();
  }
  EXPECT_EQ(initiations, kMaxTimerHandshakes + 2);
}

// Flood defence (ratelimiter.h): the device switches cookies on by itself, bounds handshake
// work, and limits each source under load, while transport data and an honest peer go on.
TEST_F(DevicePairTest, AFloodOfInitiationsSwitchesCookiesOnThenOffAgain) {
  HandshakeLimits limits;
  limits.demand_per_second = 100;
  limits.demand_burst = 10;
  limits.per_source_burst = 100;  // only the switch is under test here
  b_.set_handshake_limits(limits);
  const PeerAddress attacker = address(66, 6666);
  const auto first = flood_b(unknown_initiations(20), attacker);
  // The first ten cost b its Diffie-Hellman work; then it is under load and answers cookies.
  EXPECT_EQ(first[DropReason::kUnknownPeer], 10u);
  EXPECT_EQ(first[DropReason::kInvalidMac2], 10u);
  EXPECT_EQ(out_b_.sent.size(), 10u);
  for (const auto& reply : out_b_.sent) {
    EXPECT_EQ(reply.bytes.size(), kCookieReplySize);
    EXPECT_EQ(reply.to, attacker);
  }
  EXPECT_TRUE(b_.under_load(now_ + 999ms));
  out_b_.sent.clear();
  now_ += 1s;
  EXPECT_FALSE(b_.under_load(now_));
  const auto later = flood_b(unknown_initiations(1), attacker);
  EXPECT_EQ(later[DropReason::kUnknownPeer], 1u);
  EXPECT_TRUE(out_b_.sent.empty());
}

TEST_F(DevicePairTest, UnderAFloodTheHonestPeerGetsACookieThenItsHandshake) {
  HandshakeLimits limits;
  limits.demand_per_second = 100;
  limits.demand_burst = 10;
  limits.under_load_hold = 60s;  // the flood goes on while a waits to retransmit
  b_.set_handshake_limits(limits);
  flood_b(unknown_initiations(12), address(66, 6666));
  ASSERT_TRUE(b_.under_load(now_));
  out_b_.sent.clear();
  send_a_to_b(ip_packet(60, 1));
  ASSERT_EQ(out_a_.sent.size(), 1u);
  auto initiation = out_a_.sent.front().bytes;
  out_a_.sent.clear();
  EXPECT_EQ(b_.receive(initiation, kAddressA, now_), DropReason::kInvalidMac2);
  pump();  // a keeps the cookie
  EXPECT_FALSE(peer_b_->has_session());
  advance(kRekeyTimeout + kRekeyTimeoutJitterMax);
  pump();
  EXPECT_TRUE(peer_b_->has_session());
  ASSERT_EQ(out_b_.delivered.size(), 1u);  // the staged packet went through
  EXPECT_TRUE(b_.under_load(now_));
}

TEST_F(DevicePairTest, UnderLoadTheSourceLimitBlocksWhatPassesOtherwise) {
  // a's initiation with a valid mac2: a cookie first, then a retransmission.
  b_.set_under_load(true);
  a_.initiate_handshake(*peer_b_, now_);
  pump();
  advance(kRekeyTimeout + kRekeyTimeoutJitterMax);
  ASSERT_EQ(out_a_.sent.size(), 1u);
  const auto with_mac2 = out_a_.sent.front().bytes;
  out_a_.sent.clear();
  // Not under load: ten copies all reach the DH work (and fail on the timestamp after one).
  b_.set_under_load(false);
  b_.set_handshake_limits({});
  std::vector<std::vector<uint8_t>> copies(10, with_mac2);
  const auto unloaded = flood_b(copies, kAddressA);
  EXPECT_EQ(unloaded[DropReason::kNone], 1u);
  EXPECT_EQ(unloaded[DropReason::kStaleTimestamp], 9u);
  EXPECT_EQ(unloaded[DropReason::kHandshakeRateLimited], 0u);
  // Under load: the same ten from the same address; five (the burst) reach the DH work.
  b_.set_under_load(true);
  const auto loaded = flood_b(copies, kAddressA);
  EXPECT_EQ(loaded[DropReason::kInvalidMac2], 0u);  // mac2 is valid
  EXPECT_EQ(loaded[DropReason::kStaleTimestamp], 5u);
  EXPECT_EQ(loaded[DropReason::kHandshakeRateLimited], 5u);
  EXPECT_EQ(b_.drops()[DropReason::kHandshakeRateLimited], 5u);
  // Another address is not limited by a's share (its mac2 does not match it: a cookie reply).
  auto elsewhere = with_mac2;
  EXPECT_EQ(b_.receive(elsewhere, address(9, 999), now_), DropReason::kInvalidMac2);
}

TEST_F(DevicePairTest, UnderLoadOneAddressGetsOnlyItsShareOfCookieReplies) {
  b_.set_under_load(true);
  const auto flood = flood_b(unknown_initiations(20), address(66, 6666));
  EXPECT_EQ(flood[DropReason::kInvalidMac2], 5u);  // the burst: answered with cookies
  EXPECT_EQ(flood[DropReason::kHandshakeRateLimited], 15u);
  EXPECT_EQ(out_b_.sent.size(), 5u);
  out_b_.sent.clear();
  // The honest peer's address still gets its cookie, and with it its handshake.
  a_.initiate_handshake(*peer_b_, now_);
  auto initiation = out_a_.sent.front().bytes;
  out_a_.sent.clear();
  EXPECT_EQ(b_.receive(initiation, kAddressA, now_), DropReason::kInvalidMac2);
  pump();
  advance(kRekeyTimeout + kRekeyTimeoutJitterMax);
  pump();
  EXPECT_TRUE(peer_b_->has_session());
}

TEST_F(DevicePairTest, HandshakeWorkBeyondTheBudgetIsDroppedWhileDataFlows) {
  send_a_to_b(ip_packet(60, 1));
  pump();
  ASSERT_EQ(out_b_.delivered.size(), 1u);
  HandshakeLimits limits;
  limits.work_per_second = 10;
  limits.work_burst = 5;
  limits.demand_per_second = 100000;  // never under load: only the budget acts
  limits.demand_burst = 100000;
  b_.set_handshake_limits(limits);
  const auto flood = unknown_initiations(9);
  const auto first = flood_b(std::vector<std::vector<uint8_t>>(flood.begin(), flood.begin() + 8),
                             address(66, 6666));
  EXPECT_EQ(first[DropReason::kUnknownPeer], 5u);
  EXPECT_EQ(first[DropReason::kHandshakeBudget], 3u);
  EXPECT_FALSE(b_.under_load(now_));
  // Transport data is never charged to the handshake budget.
  send_a_to_b(ip_packet(60, 2));
  pump();
  EXPECT_EQ(out_b_.delivered.size(), 2u);
  now_ += 100ms;  // one more unit of work
  const auto later = flood_b(std::vector<std::vector<uint8_t>>(2, flood[8]), address(66, 6666));
  EXPECT_EQ(later[DropReason::kUnknownPeer], 1u);
  EXPECT_EQ(later[DropReason::kHandshakeBudget], 1u);
  EXPECT_EQ(b_.drops()[DropReason::kHandshakeBudget], 4u);
}

}  // namespace
}  // namespace slirpvpn::wireguard
