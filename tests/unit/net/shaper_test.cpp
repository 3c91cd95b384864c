// SPDX-License-Identifier: MIT
// Shaper: passes what the rate allows at once, delays the rest in order, drops only past its
// bound, and holds a long run to the rate.
#include "net/shaper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace slirpvpn::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const TimePoint kStart = TimePoint(std::chrono::seconds(100));

std::vector<uint8_t> packet_of(std::size_t size, uint8_t tag) {
  return std::vector<uint8_t>(size, tag);
}

TEST(Shaper, WithoutARatePassesEverything) {
  Shaper shaper;
  EXPECT_FALSE(shaper.limited());
  const auto packet = packet_of(1400, 1);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(shaper.offer(packet, kStart), Shaper::Verdict::kSend);
  }
  EXPECT_EQ(shaper.next_release(), TimePoint::max());
}

TEST(Shaper, BurstPassesThenPacketsWaitInOrderAndLeaveOnTime) {
  // 1,000,000 bytes/s: a 1000-byte packet costs 1 ms; a burst of two packets.
  Shaper shaper(1'000'000, 2000, milliseconds(50), 64, 1500);
  EXPECT_EQ(shaper.offer(packet_of(1000, 0), kStart), Shaper::Verdict::kSend);
  EXPECT_EQ(shaper.offer(packet_of(1000, 1), kStart), Shaper::Verdict::kSend);
  for (uint8_t tag = 2; tag < 6; ++tag) {
    EXPECT_EQ(shaper.offer(packet_of(1000, tag), kStart), Shaper::Verdict::kQueued) << int(tag);
  }
  EXPECT_EQ(shaper.queued(), 4u);
  EXPECT_EQ(shaper.next_release(), kStart + milliseconds(1));

  std::vector<uint8_t> order;
  auto collect = [&](std::span<const uint8_t> packet) {
    EXPECT_EQ(packet.size(), 1000u);
    order.push_back(packet[0]);
  };
  EXPECT_EQ(shaper.release(kStart + microseconds(999), collect), 0u);  // never early
  EXPECT_EQ(shaper.release(kStart + milliseconds(2), collect), 2u);
  EXPECT_EQ(shaper.next_release(), kStart + milliseconds(3));
  // A packet offered while others wait queues behind them even once its tokens are there.
  EXPECT_EQ(shaper.offer(packet_of(1000, 6), kStart + milliseconds(10)), Shaper::Verdict::kQueued);
  EXPECT_EQ(shaper.release(kStart + milliseconds(10), collect), 3u);
  EXPECT_EQ(order, (std::vector<uint8_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(shaper.next_release(), TimePoint::max());
}

TEST(Shaper, DropsWhatWouldWaitPastItsBoundOrFindNoSlot) {
  // 5 ms of queue at 1 ms per packet: the burst (1 packet) plus 5 waiting, then drops.
  Shaper by_time(1'000'000, 1000, milliseconds(5), 64, 1500);
  int sent = 0;
  int queued = 0;
  int dropped = 0;
  for (int i = 0; i < 20; ++i) {
    switch (by_time.offer(packet_of(1000, 0), kStart)) {
      case Shaper::Verdict::kSend:
        ++sent;
        break;
      case Shaper::Verdict::kQueued:
        ++queued;
        break;
      case Shaper::Verdict::kDropped:
        ++dropped;
        break;
    }
  }
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(queued, 5);
  EXPECT_EQ(dropped, 14);
  // A dropped packet was not charged: the next one after the queue drains leaves on time.
  std::size_t released = by_time.release(kStart + milliseconds(5), [](auto) {});
  EXPECT_EQ(released, 5u);
  EXPECT_EQ(by_time.offer(packet_of(1000, 0), kStart + milliseconds(6)), Shaper::Verdict::kSend);

  // Small packets fill the slots before the time bound.
  Shaper by_slots(1'000'000, 100, milliseconds(50), 4, 1500);
  EXPECT_EQ(by_slots.offer(packet_of(100, 0), kStart), Shaper::Verdict::kSend);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(by_slots.offer(packet_of(100, 0), kStart), Shaper::Verdict::kQueued);
  }
  EXPECT_EQ(by_slots.offer(packet_of(100, 0), kStart), Shaper::Verdict::kDropped);
  // Larger than a slot: passed when the rate lets it leave at once, dropped when it would wait.
  Shaper oversize(1'000'000, 3000, milliseconds(50), 4, 1500);
  EXPECT_EQ(oversize.offer(packet_of(1501, 0), kStart), Shaper::Verdict::kSend);
  EXPECT_EQ(oversize.offer(packet_of(1000, 0), kStart), Shaper::Verdict::kSend);
  EXPECT_EQ(oversize.offer(packet_of(1000, 0), kStart), Shaper::Verdict::kQueued);
  EXPECT_EQ(oversize.offer(packet_of(1501, 0), kStart), Shaper::Verdict::kDropped);
}

TEST(Shaper, ALongRunLeavesAtTheRate) {
  // 5,000,000 bytes/s (40 Mbit/s), offered twice that in 1400-byte packets for 2 s, released
  // at millisecond steps as the event loop does.
  const uint64_t rate = 5'000'000;
  Shaper shaper(rate, 10'000, milliseconds(50), 512, 1500);
  const auto packet = packet_of(1400, 0);
  uint64_t out_bytes = 0;
  uint64_t offered = 0;
  uint64_t dropped = 0;
  for (int ms = 0; ms < 2000; ++ms) {
    const TimePoint now = kStart + milliseconds(ms);
    out_bytes += 1400 * shaper.release(now, [](auto) {});
    for (int i = 0; i < 7; ++i) {  // 9.8 MB/s offered
      ++offered;
      const Shaper::Verdict verdict = shaper.offer(packet, now);
      if (verdict == Shaper::Verdict::kSend) out_bytes += 1400;
      if (verdict == Shaper::Verdict::kDropped) ++dropped;
    }
  }
  const double seconds = 2.0;
  EXPECT_GT(double(out_bytes), 0.97 * rate * seconds);
  EXPECT_LT(double(out_bytes), 1.0 * rate * seconds + 10'000 + 1400);
  EXPECT_GT(dropped, offered / 3);  // about half was over the rate
}

}  // namespace
}  // namespace slirpvpn::net
