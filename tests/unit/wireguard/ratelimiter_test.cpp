// SPDX-License-Identifier: MIT
// The flood defence's token buckets, per-source limiter (bounded table) and load switch.
#include "wireguard/ratelimiter.h"

#include <gtest/gtest.h>

namespace slirpvpn::wireguard {
namespace {

using namespace std::chrono_literals;

PeerAddress v4(uint8_t c, uint8_t d, uint16_t port = 1000) {
  PeerAddress address;
  address.family = 4;
  address.address = {198, 51, c, d};
  address.port = port;
  return address;
}

PeerAddress v6(uint8_t net, uint8_t host) {
  PeerAddress address;
  address.family = 6;
  address.address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, net, 0, 0, 0, 0, 0, 0, 0, host};
  address.port = 1000;
  return address;
}

const TimePoint kStart = TimePoint() + 1000s;

TEST(TokenBucketTest, AllowsTheBurstThenOneEventPerPeriod) {
  TokenBucket bucket(10, 3);  // one every 100 ms, three at once
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.take(kStart)) << i;
  EXPECT_FALSE(bucket.take(kStart));
  EXPECT_FALSE(bucket.take(kStart + 99ms));
  EXPECT_TRUE(bucket.take(kStart + 100ms));
  EXPECT_FALSE(bucket.take(kStart + 100ms));
  // A long pause refills no more than the burst.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.take(kStart + 60s)) << i;
  EXPECT_FALSE(bucket.take(kStart + 60s));
}

TEST(SourceRateLimiterTest, EachSourceGetsItsBurstThenItsRate) {
  SourceRateLimiter limiter(20, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow(v4(100, 2, uint16_t(i)), kStart)) << i;
  // The port does not make a new source.
  EXPECT_FALSE(limiter.allow(v4(100, 2, 4242), kStart));
  // Another address has its own share.
  EXPECT_TRUE(limiter.allow(v4(100, 3), kStart));
  EXPECT_FALSE(limiter.allow(v4(100, 2), kStart + 49ms));
  EXPECT_TRUE(limiter.allow(v4(100, 2), kStart + 50ms));  // 20 per second
  EXPECT_FALSE(limiter.allow(v4(100, 2), kStart + 50ms));
}

TEST(SourceRateLimiterTest, AnIpv6Slash64IsOneSource) {
  SourceRateLimiter limiter(20, 2);
  EXPECT_TRUE(limiter.allow(v6(1, 1), kStart));
  EXPECT_TRUE(limiter.allow(v6(1, 2), kStart));
  EXPECT_FALSE(limiter.allow(v6(1, 3), kStart));
  EXPECT_TRUE(limiter.allow(v6(2, 1), kStart));
}

TEST(SourceRateLimiterTest, TheTableStaysBoundedUnderManySources) {
  SourceRateLimiter limiter(20, 1);
  EXPECT_EQ(limiter.entries_in_use(), 0u);  // no table until a device is first under load
  size_t allowed = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    allowed +=
        limiter.allow(v4(uint8_t(i >> 8), uint8_t(i), 1), kStart + std::chrono::microseconds(i));
  }
  // 65536 distinct addresses (c, d wrap): each new one is let through once.
  EXPECT_GE(allowed, 65536u);
  EXPECT_EQ(limiter.entries_in_use(), SourceRateLimiter::kCapacity);
  // A source seen last is still limited: eviction takes the least recently seen.
  const PeerAddress heavy = v4(7, 7);
  EXPECT_TRUE(limiter.allow(heavy, kStart + 1s));
  EXPECT_FALSE(limiter.allow(heavy, kStart + 1s));
}

TEST(HandshakeGuardTest, DemandBeyondItsRateSwitchesUnderLoadOnForTheHoldTime) {
  HandshakeLimits limits;
  limits.demand_per_second = 100;
  limits.demand_burst = 10;
  limits.under_load_hold = 1s;
  HandshakeGuard guard(limits);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(guard.note_demand(kStart)) << i;
  EXPECT_TRUE(guard.note_demand(kStart));
  EXPECT_TRUE(guard.under_load(kStart + 999ms));
  EXPECT_FALSE(guard.under_load(kStart + 1s));
  // Demand at the allowed rate does not switch it on again.
  for (int i = 1; i <= 50; ++i) EXPECT_FALSE(guard.note_demand(kStart + 1s + i * 10ms)) << i;
}

TEST(HandshakeGuardTest, WorkIsBoundedPerSecond) {
  HandshakeLimits limits;
  limits.work_per_second = 1000;
  limits.work_burst = 4;
  HandshakeGuard guard(limits);
  int allowed = 0;
  // One simulated second, a message every 100 µs: ten times the budget.
  for (int i = 0; i < 10000; ++i) allowed += guard.take_work(kStart + i * 100us);
  EXPECT_GE(allowed, 1000);
  EXPECT_LE(allowed, 1000 + 4);
}

}  // namespace
}  // namespace slirpvpn::wireguard
