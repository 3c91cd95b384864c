// SPDX-License-Identifier: MIT
// RoundRobinQueues: per-peer order, the round, overflow from the longest queue, and a long random
// run against a plain model of the same rules.
#include "net/round_robin_queues.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

namespace slirpvpn::net {
namespace {

std::vector<uint8_t> bytes_of(uint32_t id, uint32_t sequence) {
  const std::string text = std::to_string(id) + ":" + std::to_string(sequence);
  return {text.begin(), text.end()};
}

// Pops everything, as "id:sequence" strings in the order served.
std::vector<std::string> drain(RoundRobinQueues& queues) {
  std::vector<std::string> served;
  while (!queues.empty()) {
    const auto packet = queues.front();
    served.emplace_back(packet.bytes.begin(), packet.bytes.end());
    queues.pop();
  }
  return served;
}

TEST(RoundRobinQueues, EachPeerKeepsItsOrderAndThePeersTakeTurns) {
  RoundRobinQueues queues(64, 32);
  queues.reserve_ids(3);
  for (uint32_t sequence = 1; sequence <= 3; ++sequence) queues.push(0, 7, bytes_of(0, sequence));
  queues.push(1, 7, bytes_of(1, 1));
  queues.push(2, 7, bytes_of(2, 1));
  queues.push(2, 7, bytes_of(2, 2));
  EXPECT_EQ(queues.queued(), 6u);
  EXPECT_EQ(queues.queued(0), 3u);
  EXPECT_EQ(drain(queues), (std::vector<std::string>{"0:1", "1:1", "2:1", "0:2", "2:2", "0:3"}));
  EXPECT_EQ(queues.queued(), 0u);
  EXPECT_EQ(queues.dropped(), 0u);
}

TEST(RoundRobinQueues, CarriesGenerationAndEmptyPackets) {
  RoundRobinQueues queues(4, 16);
  queues.reserve_ids(1);
  ASSERT_TRUE(queues.push(0, 41, {}));
  const auto packet = queues.front();
  EXPECT_EQ(packet.peer, 0u);
  EXPECT_EQ(packet.generation, 41u);
  EXPECT_TRUE(packet.bytes.empty());
}

TEST(RoundRobinQueues, ALightPeerWaitsBehindOnePacketOfTheBulkPeerNotItsBacklog) {
  RoundRobinQueues queues(4096, 16);
  queues.reserve_ids(2);
  for (uint32_t sequence = 0; sequence < 3000; ++sequence) queues.push(0, 0, bytes_of(0, sequence));
  queues.pop();  // the bulk peer is being served when the light one's packet arrives
  queues.push(1, 0, bytes_of(1, 0));
  EXPECT_EQ(queues.front().peer, 0u);
  queues.pop();
  EXPECT_EQ(queues.front().peer, 1u);
}

TEST(RoundRobinQueues, AFullPoolDropsTheOldestPacketOfTheLongestQueue) {
  RoundRobinQueues queues(8, 16);
  queues.reserve_ids(2);
  for (uint32_t sequence = 1; sequence <= 6; ++sequence) queues.push(0, 0, bytes_of(0, sequence));
  queues.push(1, 0, bytes_of(1, 1));
  queues.push(1, 0, bytes_of(1, 2));
  EXPECT_EQ(queues.dropped(), 0u);
  // The light peer's packet gets in; the bulk peer loses its oldest.
  ASSERT_TRUE(queues.push(1, 0, bytes_of(1, 3)));
  EXPECT_EQ(queues.dropped(), 1u);
  EXPECT_EQ(queues.queued(0), 5u);
  EXPECT_EQ(queues.queued(1), 3u);
  // The bulk peer, longest still, pays for its own packet too.
  ASSERT_TRUE(queues.push(0, 0, bytes_of(0, 7)));
  EXPECT_EQ(queues.dropped(), 2u);
  EXPECT_EQ(queues.dropped(0), 2u);  // per peer: all of it the bulk peer's
  EXPECT_EQ(queues.dropped(1), 0u);
  EXPECT_EQ(drain(queues),
            (std::vector<std::string>{"0:3", "1:1", "0:4", "1:2", "0:5", "1:3", "0:6", "0:7"}));
  queues.reset_drops(0);  // the id goes to a new peer
  EXPECT_EQ(queues.dropped(0), 0u);
  EXPECT_EQ(queues.dropped(), 2u);
}

TEST(RoundRobinQueues, AQueueWhoseOnlyPacketIsDroppedLeavesTheRound) {
  RoundRobinQueues queues(2, 16);
  queues.reserve_ids(3);
  queues.push(0, 0, bytes_of(0, 1));
  queues.push(1, 0, bytes_of(1, 1));
  queues.push(2, 0, bytes_of(2, 1));  // ties: the first in the round goes
  EXPECT_EQ(queues.dropped(), 1u);
  EXPECT_EQ(drain(queues), (std::vector<std::string>{"1:1", "2:1"}));
  // The same with the longest queue in the middle and at the tail of the round.
  queues.push(0, 0, bytes_of(0, 2));
  queues.push(1, 0, bytes_of(1, 2));
  queues.pop();
  queues.push(2, 0, bytes_of(2, 2));  // round: 1, 2; both hold one
  queues.push(0, 0, bytes_of(0, 3));
  EXPECT_EQ(drain(queues), (std::vector<std::string>{"2:2", "0:3"}));
}

TEST(RoundRobinQueues, RefusesOversizePacketsAndUnknownIds) {
  RoundRobinQueues queues(4, 8);
  queues.reserve_ids(1);
  EXPECT_FALSE(queues.push(0, 0, std::vector<uint8_t>(9, 1)));
  EXPECT_FALSE(queues.push(1, 0, std::vector<uint8_t>(4, 1)));
  EXPECT_EQ(queues.dropped(), 2u);
  EXPECT_TRUE(queues.empty());
  EXPECT_TRUE(queues.push(0, 0, std::vector<uint8_t>(8, 1)));
}

// The same rules written plainly (a deque per peer, the round as a deque of ids), driven by a
// random mix of pushes and pops over a small pool so that overflow happens often.
TEST(RoundRobinQueues, AgreesWithAPlainModelOverAMillionRandomOperations) {
  constexpr std::size_t kSlots = 32;
  constexpr uint32_t kIds = 6;
  RoundRobinQueues queues(kSlots, 16);
  queues.reserve_ids(kIds);
  std::vector<std::deque<uint32_t>> model(kIds);
  std::deque<uint32_t> round;
  std::size_t used = 0;
  uint64_t model_dropped = 0;
  std::mt19937 random(2026);
  uint32_t sequence = 0;
  for (int step = 0; step < 1000000; ++step) {
    if (random() % 3 != 0) {
      // Bias towards id 0 (bulk), so one queue is usually the longest.
      const uint32_t id = random() % 2 == 0 ? 0 : uint32_t(random() % kIds);
      if (used == kSlots) {
        uint32_t longest = round.front();
        for (uint32_t candidate : round)
          if (model[candidate].size() > model[longest].size()) longest = candidate;
        model[longest].pop_front();
        --used;
        ++model_dropped;
        if (model[longest].empty()) std::erase(round, longest);
      }
      if (model[id].empty()) round.push_back(id);
      model[id].push_back(++sequence);
      ++used;
      ASSERT_TRUE(queues.push(id, sequence, bytes_of(id, sequence)));
    } else if (!round.empty()) {
      const uint32_t id = round.front();
      round.pop_front();
      const uint32_t expected = model[id].front();
      model[id].pop_front();
      --used;
      if (!model[id].empty()) round.push_back(id);
      ASSERT_FALSE(queues.empty());
      const auto packet = queues.front();
      ASSERT_EQ(packet.peer, id) << "step " << step;
      ASSERT_EQ(packet.generation, expected) << "step " << step;
      const std::vector<uint8_t> want = bytes_of(id, expected);
      ASSERT_TRUE(std::equal(packet.bytes.begin(), packet.bytes.end(), want.begin(), want.end()));
      queues.pop();
    } else {
      ASSERT_TRUE(queues.empty());
    }
    ASSERT_EQ(queues.queued(), used);
  }
  EXPECT_EQ(queues.dropped(), model_dropped);
  EXPECT_GT(model_dropped, 1000u);
}

}  // namespace
}  // namespace slirpvpn::net
