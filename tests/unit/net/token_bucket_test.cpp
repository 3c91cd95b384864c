// SPDX-License-Identifier: MIT
// Tests of the token-bucket shaper: burst, exact spacing, bounded queue, long-run rate.
#include "net/token_bucket.h"

#include <gtest/gtest.h>

#include <chrono>

namespace slirpvpn::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kStart = TimePoint(seconds(100));

TEST(TokenBucket, BurstLeavesAtOnceThenExactSpacing) {
  // 8 Mbit/s = 1,000,000 bytes/s: a 1000-byte datagram costs exactly 1 ms.
  TokenBucket bucket(1'000'000, 3000, seconds(1));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.schedule(kStart, 1000), kStart) << i;
  for (int i = 1; i <= 50; ++i) {
    EXPECT_EQ(bucket.schedule(kStart, 1000), kStart + milliseconds(i)) << i;
  }
}

TEST(TokenBucket, RefillsWhileIdleUpToTheBurstOnly) {
  TokenBucket bucket(1'000'000, 2000, seconds(1));
  EXPECT_EQ(bucket.schedule(kStart, 2000), kStart);
  // Idle for a minute: the bucket holds 2000 bytes, not 60 MB.
  const TimePoint later = kStart + seconds(60);
  EXPECT_EQ(bucket.schedule(later, 1000), later);
  EXPECT_EQ(bucket.schedule(later, 1000), later);
  EXPECT_EQ(bucket.schedule(later, 1000), later + milliseconds(1));
}

TEST(TokenBucket, BoundedQueueDropsWithoutCharging) {
  TokenBucket bucket(1'000'000, 3000, milliseconds(5));
  int accepted = 0, dropped = 0;
  for (int i = 0; i < 100; ++i) {
    if (bucket.schedule(kStart, 1000)) {
      ++accepted;
    } else {
      ++dropped;
    }
  }
  EXPECT_EQ(accepted, 3 + 5);  // the burst, then departures at 1..5 ms
  EXPECT_EQ(dropped, 92);
  // Dropped datagrams took no tokens: the next leaves right after the fifth queued one.
  EXPECT_EQ(bucket.schedule(kStart + milliseconds(2), 1000), kStart + milliseconds(6));
}

TEST(TokenBucket, LongRunRateIsExact) {
  // 300 Mbit/s offered 600 Mbit/s of 1400-byte datagrams for one second.
  const uint64_t rate = 300'000'000 / 8;
  TokenBucket bucket(rate, 37'500, milliseconds(50));
  const auto gap = std::chrono::nanoseconds(1400ll * 8 * 1'000'000'000 / 600'000'000);
  uint64_t bytes_by_end = 0;
  TimePoint last_departure = kStart;
  const TimePoint end = kStart + seconds(1);
  for (TimePoint t = kStart; t < end; t += gap) {
    if (auto depart = bucket.schedule(t, 1400)) {
      EXPECT_GE(*depart, last_departure);
      last_departure = *depart;
      if (*depart <= end) bytes_by_end += 1400;
    }
  }
  // Never more than the burst plus one second of rate; and the bottleneck stays busy.
  EXPECT_LE(bytes_by_end, rate + 37'500);
  EXPECT_GE(bytes_by_end, rate + 37'500 - 2 * 1400);
}

}  // namespace
}  // namespace slirpvpn::net
