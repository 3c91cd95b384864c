// SPDX-License-Identifier: MIT
// RingFeed: straight into the ring while it has room, per-peer queues beyond half of it, refilled
// round-robin, and when the producer may block.
#include "net/ring_feed.h"

#include <gtest/gtest.h>

#include <vector>

namespace slirpvpn::net {
namespace {

std::vector<uint8_t> packet_of(uint32_t id, uint8_t sequence) {
  return {uint8_t(id), sequence};
}

// Takes every packet from the ring as (id, sequence) pairs, and releases them.
std::vector<std::pair<uint32_t, int>> consume(PacketRing& ring) {
  std::vector<std::pair<uint32_t, int>> taken;
  while (true) {
    const PacketRing::Packet* packet = ring.front();
    if (packet == nullptr) break;
    taken.emplace_back(packet->peer, packet->bytes[1]);
    ring.pop();
  }
  (void)ring.release();
  return taken;
}

TEST(RingFeed, FillsHalfTheRingThenQueuesAndRefillsOnePeerAfterAnother) {
  PacketRing ring(16, 8);
  RingFeed feed(ring, 64);
  feed.reserve_ids(3);
  // Peer 0 alone: eight packets go straight into the ring, the rest wait in its queue.
  for (uint8_t i = 0; i < 12; ++i) (void)feed.push(0, 0, packet_of(0, i));
  EXPECT_EQ(feed.queued(), 4u);
  (void)feed.push(1, 0, packet_of(1, 0));
  (void)feed.push(2, 0, packet_of(2, 0));
  (void)feed.push(1, 0, packet_of(1, 1));
  (void)feed.feed();  // the ring is at its target: nothing moves
  EXPECT_EQ(feed.queued(), 7u);
  EXPECT_EQ(consume(ring).size(), 8u);
  (void)feed.feed();
  EXPECT_EQ(feed.queued(), 0u);
  // Peers 1 and 2 do not wait for the rest of peer 0's backlog.
  EXPECT_EQ(consume(ring), (std::vector<std::pair<uint32_t, int>>{
                               {0, 8}, {1, 0}, {2, 0}, {0, 9}, {1, 1}, {0, 10}, {0, 11}}));
  EXPECT_EQ(feed.dropped(), 0u);
}

TEST(RingFeed, APeerKeepsItsOrderWhenTheRingHasRoomAgain) {
  PacketRing ring(16, 8);
  RingFeed feed(ring, 64);
  feed.reserve_ids(1);
  for (uint8_t i = 0; i < 10; ++i) (void)feed.push(0, 0, packet_of(0, i));
  (void)feed.feed();
  EXPECT_EQ(consume(ring).size(), 8u);
  // Room in the ring, but packets 8 and 9 still wait: 10 must not overtake them.
  (void)feed.push(0, 0, packet_of(0, 10));
  (void)feed.feed();
  const auto taken = consume(ring);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].second, 8);
  EXPECT_EQ(taken[2].second, 10);
}

TEST(RingFeed, FeedsAndPublishesEveryBatchOfPushes) {
  PacketRing ring(256, 8);
  RingFeed feed(ring, 64);
  feed.reserve_ids(1);
  EXPECT_TRUE(ring.prepare_sleep());  // the consumer sleeps
  bool wake = false;
  for (std::size_t i = 0; i < RingFeed::kFeedBatch; ++i) {
    EXPECT_FALSE(wake);
    wake = feed.push(0, 0, packet_of(0, uint8_t(i)));
  }
  EXPECT_TRUE(wake);  // the batch was published and the sleeping consumer must be woken
  EXPECT_EQ(consume(ring).size(), RingFeed::kFeedBatch);
}

TEST(RingFeed, TheProducerMayBlockOnlyWhenTheRingWillWakeIt) {
  PacketRing ring(16, 8);
  RingFeed feed(ring, 64);
  feed.reserve_ids(1);
  EXPECT_TRUE(feed.prepare_wait());  // nothing queued
  for (uint8_t i = 0; i < 10; ++i) (void)feed.push(0, 0, packet_of(0, i));
  (void)feed.feed();
  ASSERT_TRUE(feed.prepare_wait());  // queued, ring half full: it will be woken
  const auto take = [&](int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_NE(ring.front(), nullptr);
      ring.pop();
    }
  };
  take(3);
  EXPECT_FALSE(ring.release());  // 5 left: more than a quarter
  take(1);
  EXPECT_TRUE(ring.release());  // 4 left: wake the producer
  feed.woke();
  EXPECT_FALSE(feed.prepare_wait());  // packets queued and room for them: feed, do not block
  (void)feed.feed();
  EXPECT_EQ(feed.queued(), 0u);
  EXPECT_TRUE(feed.prepare_wait());
}

}  // namespace
}  // namespace slirpvpn::net
