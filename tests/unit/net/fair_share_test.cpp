// SPDX-License-Identifier: MIT
// FairShare against a simulated ring: a producer pushes for several peers, a consumer takes a
// fixed number per round; the heavy peer must not crowd out the light one.
#include "net/fair_share.h"

#include <gtest/gtest.h>

namespace slirpvpn::net {
namespace {

constexpr std::size_t kCapacity = 4096;
constexpr std::size_t kHighWater = kCapacity / 4;

// A ring of `kCapacity` slots as FairShare's caller sees it: admit, then push if not full.
struct SimulatedRing {
  FairShare fair{kCapacity, kHighWater};
  std::size_t backlog = 0;
  uint64_t full = 0;
  // Offers one packet of `id`; true when it got into the ring.
  bool offer(uint32_t id, std::size_t bytes = 1400) {
    if (!fair.admit(id, backlog, bytes)) return false;
    if (backlog == kCapacity) {
      ++full;
      return false;
    }
    ++backlog;
    return true;
  }
  void consume(std::size_t count) { backlog -= std::min(backlog, count); }
};

// Peer 0 (bulk) offers 64 packets a round, peer 1 (light) one every `light_every` rounds; the
// consumer takes 32 a round. `reserve`: the ids are known to FairShare (else, the control, it
// admits everything).
struct BulkBesideLight {
  uint64_t light_lost = 0;
  uint64_t refused = 0;
};
BulkBesideLight bulk_beside_light(bool reserve, int rounds, int light_every) {
  SimulatedRing ring;
  if (reserve) ring.fair.reserve_ids(2);
  BulkBesideLight result;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < 64; ++i) ring.offer(0);
    if (round % light_every == light_every - 1 && !ring.offer(1)) ++result.light_lost;
    ring.consume(32);
  }
  result.refused = ring.fair.refused();
  return result;
}

TEST(FairShare, APeerAloneStopsAtTheHighWaterMarkAndLeavesRoomForOthers) {
  SimulatedRing ring;
  ring.fair.reserve_ids(2);
  for (std::size_t i = 0; i < kHighWater; ++i) ASSERT_TRUE(ring.offer(0)) << i;
  EXPECT_FALSE(ring.offer(0));
  EXPECT_EQ(ring.fair.refused(), 1u);
  // Another peer still gets in, up to an equal share of the epoch (which began when the backlog
  // passed half the mark), and the ring never runs full.
  std::size_t admitted = 0;
  while (admitted < kCapacity && ring.offer(1)) ++admitted;
  EXPECT_GT(admitted, kHighWater / 2);
  EXPECT_LT(admitted, kHighWater / 2 + 8);
  EXPECT_EQ(ring.full, 0u);
}

// Peer 0 offers 64 packets a round, peer 1 one; the consumer takes 32. Without the admission
// rule (first part: ids not reserved, so FairShare admits everything) peer 1 loses packets to
// the full ring; with it peer 1 loses none and peer 0 is refused instead.
TEST(FairShare, ALightPeerGetsThroughABulkPeersBacklog) {
  const auto without = bulk_beside_light(false, 2000, 1);
  EXPECT_GT(without.light_lost, 1000u);
  EXPECT_EQ(without.refused, 0u);
  const auto with = bulk_beside_light(true, 2000, 1);
  EXPECT_EQ(with.light_lost, 0u);
  EXPECT_GT(with.refused, 0u);
}

// The refused peer's small packets (its ACKs and pings) still get in above the mark, but not
// into the ring's last eighth; its full-size ones stay refused.
TEST(FairShare, ARefusedPeersSmallPacketsGetInUpToSevenEighths) {
  SimulatedRing ring;
  ring.fair.reserve_ids(1);
  for (std::size_t i = 0; i < kHighWater; ++i) ASSERT_TRUE(ring.offer(0)) << i;
  EXPECT_FALSE(ring.offer(0, 1400));
  EXPECT_FALSE(ring.offer(0, FairShare::kSmallPacket + 1));
  std::size_t small = 0;
  while (small < kCapacity && ring.offer(0, 64)) ++small;
  EXPECT_EQ(kHighWater + small, kCapacity - kCapacity / 8);
  EXPECT_EQ(ring.full, 0u);
}

// A light peer that sends far more rarely than the epoch restarts (a ping a second against a
// bulk download) is never the one in the epoch's count; it must still find room. The control
// (ids not reserved) shows the ring would otherwise be full when its packets come.
TEST(FairShare, ARareLightPeerFindsRoomInABulkPeersFullRing) {
  EXPECT_GT(bulk_beside_light(false, 30000, 300).light_lost, 90u);
  EXPECT_EQ(bulk_beside_light(true, 30000, 300).light_lost, 0u);
}

// Two bulk peers offering 3:1 into a ring drained at 32 a round get equal service once the ring
// is past its high-water mark.
TEST(FairShare, TwoBulkPeersGetEqualShares) {
  SimulatedRing ring;
  ring.fair.reserve_ids(2);
  uint64_t admitted[2] = {0, 0};
  for (int round = 0; round < 20000; ++round) {
    for (int i = 0; i < 48; ++i) admitted[0] += ring.offer(0);
    for (int i = 0; i < 16; ++i) admitted[1] += ring.offer(1);
    ring.consume(32);
  }
  const double ratio = double(admitted[0]) / double(admitted[1]);
  EXPECT_GT(ratio, 0.8);
  EXPECT_LT(ratio, 1.25);
}

TEST(FairShare, AnIdPastTheTableIsAdmitted) {
  FairShare fair(kCapacity, kHighWater);
  fair.reserve_ids(1);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fair.admit(0, 0, 1400));
  EXPECT_TRUE(fair.admit(7, kCapacity, 1400));
}

}  // namespace
}  // namespace slirpvpn::net
