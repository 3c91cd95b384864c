// SPDX-License-Identifier: MIT
// PacketRing: order, wrap-around, full and oversize drops, the sleep and space flags, and two real
// threads.
#include "net/packet_ring.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace slirpvpn::net {
namespace {

std::vector<uint8_t> bytes_of(uint32_t value, size_t length) {
  std::vector<uint8_t> bytes(length);
  for (size_t i = 0; i < length; ++i) bytes[i] = uint8_t(value * 31 + i);
  return bytes;
}

TEST(PacketRing, NothingIsVisibleBeforePublish) {
  PacketRing ring(4, 64);
  ASSERT_TRUE(ring.push(1, 7, bytes_of(1, 10)));
  EXPECT_EQ(ring.front(), nullptr);
  EXPECT_EQ(ring.unpublished(), 1u);
  ring.publish();
  const PacketRing::Packet* packet = ring.front();
  ASSERT_NE(packet, nullptr);
  EXPECT_EQ(packet->peer, 1u);
  EXPECT_EQ(packet->generation, 7u);
  EXPECT_EQ(std::vector<uint8_t>(packet->bytes.begin(), packet->bytes.end()), bytes_of(1, 10));
}

TEST(PacketRing, WrapsAroundInOrder) {
  PacketRing ring(4, 64);
  uint32_t next_in = 0, next_out = 0;
  // 25 rounds of 3 over 4 slots: the indices wrap many times, at every offset.
  for (int round = 0; round < 25; ++round) {
    for (int i = 0; i < 3; ++i, ++next_in) ASSERT_TRUE(ring.push(next_in, 0, bytes_of(next_in, 5)));
    ring.publish();
    while (const PacketRing::Packet* packet = ring.front()) {
      ASSERT_EQ(packet->peer, next_out);
      ASSERT_EQ(std::vector<uint8_t>(packet->bytes.begin(), packet->bytes.end()),
                bytes_of(next_out, 5));
      ring.pop();
      ++next_out;
    }
    ring.release();
  }
  EXPECT_EQ(next_out, 75u);
  EXPECT_EQ(ring.dropped_full(), 0u);
}

TEST(PacketRing, FullRingDropsAndCountsUntilSlotsAreReleased) {
  PacketRing ring(4, 64);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(ring.push(i, 0, bytes_of(i, 8)));
  EXPECT_FALSE(ring.push(4, 0, bytes_of(4, 8)));
  EXPECT_EQ(ring.dropped_full(), 1u);
  ring.publish();
  // Popped but not released: the producer still cannot reuse the slot.
  ASSERT_NE(ring.front(), nullptr);
  ring.pop();
  EXPECT_FALSE(ring.push(5, 0, bytes_of(5, 8)));
  EXPECT_EQ(ring.dropped_full(), 2u);
  ring.release();
  EXPECT_TRUE(ring.push(6, 0, bytes_of(6, 8)));
  ring.publish();
  std::vector<uint32_t> seen;
  while (const PacketRing::Packet* packet = ring.front()) {
    seen.push_back(packet->peer);
    ring.pop();
  }
  EXPECT_EQ(seen, (std::vector<uint32_t>{1, 2, 3, 6}));
}

TEST(PacketRing, OversizePacketIsDroppedAndCounted) {
  PacketRing ring(4, 64);
  EXPECT_TRUE(ring.push(0, 0, bytes_of(0, 64)));
  EXPECT_FALSE(ring.push(0, 0, bytes_of(0, 65)));
  EXPECT_EQ(ring.dropped_oversize(), 1u);
  EXPECT_EQ(ring.dropped_full(), 0u);
}

TEST(PacketRing, PublishAsksForAWakeUpOnlyWhileTheConsumerSleeps) {
  PacketRing ring(8, 16);
  ring.push(0, 0, bytes_of(0, 4));
  EXPECT_FALSE(ring.publish());  // consumer awake
  // Published packets waiting: the consumer must not go to sleep.
  EXPECT_FALSE(ring.prepare_sleep());
  ring.pop();
  ring.release();
  EXPECT_TRUE(ring.prepare_sleep());
  ring.push(1, 0, bytes_of(1, 4));
  EXPECT_TRUE(ring.publish());
  ring.push(2, 0, bytes_of(2, 4));
  EXPECT_FALSE(ring.publish());  // one wake-up per sleep
  EXPECT_FALSE(ring.publish());  // nothing new: nothing to do
}

// Two threads, the consumer sleeping on a condition the way the server's loops sleep on their
// eventfds (prepare_sleep, then block until woken): every packet arrives once, in order, intact.
TEST(PacketRing, TwoThreadsCarryEveryPacketWithItsChecksum) {
  constexpr uint32_t kPackets = 200000;
  PacketRing ring(256, 256);
  std::atomic<int> wake_count{0};
  std::atomic<uint64_t> wake_token{0};  // what the eventfd is in the server
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);

  std::thread producer([&] {
    std::array<uint8_t, 256> packet{};
    for (uint32_t n = 0; n < kPackets && std::chrono::steady_clock::now() < deadline;) {
      const size_t length = 4 + n % 200;
      uint32_t sum = 0;
      for (size_t i = 4; i < length; ++i) sum += packet[i] = uint8_t(n * 7 + i);
      std::memcpy(packet.data(), &sum, 4);
      if (!ring.push(n, n ^ 0x5a5a, std::span(packet).first(length))) {
        // Full: a real producer drops; this one publishes and retries so the count is exact.
        if (ring.publish()) {
          wake_count.fetch_add(1);
          wake_token.fetch_add(1);
          wake_token.notify_one();
        }
        std::this_thread::yield();
        continue;
      }
      ++n;
      if (ring.unpublished() >= 16 || n == kPackets) {
        if (ring.publish()) {
          wake_count.fetch_add(1);
          wake_token.fetch_add(1);
          wake_token.notify_one();
        }
      }
    }
  });

  uint32_t expected = 0;
  int lost_wakeups = 0;
  bool intact = true;
  while (expected < kPackets && std::chrono::steady_clock::now() < deadline) {
    const PacketRing::Packet* packet = ring.front();
    if (packet == nullptr) {
      ring.release();
      const uint64_t token = wake_token.load();
      if (ring.prepare_sleep()) {
        // Woken by publish(). Still unwoken after 2 s with packets published: a lost wake-up
        // (the server's loop would sleep on them).
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (wake_token.load() == token && std::chrono::steady_clock::now() < until) {
          std::this_thread::yield();
        }
        if (wake_token.load() == token && ring.front() != nullptr) ++lost_wakeups;
        ring.woke();
      }
      continue;
    }
    uint32_t sum = 0, stated = 0;
    std::memcpy(&stated, packet->bytes.data(), 4);
    for (size_t i = 4; i < packet->bytes.size(); ++i) sum += packet->bytes[i];
    if (packet->peer != expected || packet->generation != (expected ^ 0x5a5a) ||
        packet->bytes.size() != 4 + expected % 200 || sum != stated) {
      intact = false;
      break;
    }
    ring.pop();
    if (++expected % 32 == 0) ring.release();
  }
  ring.release();
  producer.join();
  EXPECT_TRUE(intact) << "packet " << expected;
  EXPECT_EQ(expected, kPackets);
  EXPECT_EQ(lost_wakeups, 0);
  EXPECT_GT(wake_count.load(), 0);  // the consumer did sleep and was woken
  EXPECT_EQ(ring.dropped_oversize(), 0u);
}

TEST(PacketRing, ReleaseAsksForAWakeUpOnlyOnceTheProducerHasRoomAgain) {
  PacketRing ring(16, 16);  // a quarter: 4 slots
  for (uint32_t i = 0; i < 3; ++i) ring.push(i, 0, bytes_of(i, 4));
  ring.publish();
  EXPECT_FALSE(ring.prepare_wait_for_space());  // room already: push instead of waiting
  for (uint32_t i = 3; i < 8; ++i) ring.push(i, 0, bytes_of(i, 4));
  ring.publish();
  ASSERT_TRUE(ring.prepare_wait_for_space());
  const auto consume = [&](int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_NE(ring.front(), nullptr);
      ring.pop();
    }
  };
  consume(2);
  EXPECT_FALSE(ring.release());  // 6 left: not yet
  consume(2);
  EXPECT_TRUE(ring.release());  // 4 left
  consume(1);
  EXPECT_FALSE(ring.release());  // one wake-up per wait
  // The producer woke for another reason: its announcement is withdrawn.
  for (uint32_t i = 8; i < 13; ++i) ring.push(i, 0, bytes_of(i, 4));
  ring.publish();
  ASSERT_TRUE(ring.prepare_wait_for_space());
  ring.space_wait_over();
  consume(8);
  EXPECT_FALSE(ring.release());
}

// A producer that holds packets back rather than overfill the ring (as the server's round-robin
// feed does) and blocks for space, a consumer that blocks when the ring is empty: every packet
// arrives, none is dropped, and neither side waits for a wake-up that never comes.
TEST(PacketRing, TwoThreadsWaitingForSpaceAndForPacketsLoseNoWakeUp) {
  constexpr uint32_t kPackets = 300000;
  constexpr std::size_t kSlots = 64;
  PacketRing ring(kSlots, 64);
  std::atomic<uint64_t> packets_token{0};
  std::atomic<uint64_t> space_token{0};
  std::atomic<int> lost_wakeups{0};
  std::atomic<int> space_waits{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Waits until `token` moves on from `seen`; a wait of 2 s while `ready` holds is a lost wake-up.
  const auto wait_for = [&](std::atomic<uint64_t>& token, uint64_t seen, auto ready) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (token.load() == seen && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
    if (token.load() == seen && ready()) lost_wakeups.fetch_add(1);
  };
  const auto bump = [](std::atomic<uint64_t>& token) { token.fetch_add(1); };

  std::thread producer([&] {
    uint32_t n = 0;
    while (n < kPackets && std::chrono::steady_clock::now() < deadline) {
      if (ring.backlog() >= kSlots / 2) {
        if (ring.publish()) bump(packets_token);
        const uint64_t seen = space_token.load();
        if (ring.prepare_wait_for_space()) {
          space_waits.fetch_add(1);
          wait_for(space_token, seen, [&] { return ring.backlog() <= kSlots / 4; });
          ring.space_wait_over();
        }
        continue;
      }
      ring.push(n, 0, bytes_of(n, 4 + n % 60));
      if (++n % 8 == 0 || n == kPackets) {
        if (ring.publish()) bump(packets_token);
      }
    }
  });

  uint32_t expected = 0;
  bool intact = true;
  while (expected < kPackets && std::chrono::steady_clock::now() < deadline) {
    const PacketRing::Packet* packet = ring.front();
    if (packet == nullptr) {
      if (ring.release()) bump(space_token);
      const uint64_t seen = packets_token.load();
      if (ring.prepare_sleep()) {
        wait_for(packets_token, seen, [&] { return ring.front() != nullptr; });
        ring.woke();
      }
      continue;
    }
    if (packet->peer != expected || packet->bytes.size() != 4 + expected % 60) {
      intact = false;
      break;
    }
    ring.pop();
    if (++expected % 16 == 0 && ring.release()) bump(space_token);
  }
  if (ring.release()) bump(space_token);
  producer.join();
  EXPECT_TRUE(intact) << "packet " << expected;
  EXPECT_EQ(expected, kPackets);
  EXPECT_EQ(lost_wakeups.load(), 0);
  EXPECT_GT(space_waits.load(), 0);  // the producer did wait for space
  EXPECT_EQ(ring.dropped_full(), 0u);
}

}  // namespace
}  // namespace slirpvpn::net
