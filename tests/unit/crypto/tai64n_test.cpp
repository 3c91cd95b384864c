// SPDX-License-Identifier: MIT
// Tests for the TAI64N encoding of handshake timestamps and their ordering.
#include "crypto/tai64n.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_hex.h"

namespace slirpvpn::crypto {
namespace {

using namespace std::chrono;
using test::to_hex;

system_clock::time_point at(seconds s, nanoseconds ns = nanoseconds(0)) {
  return system_clock::time_point(duration_cast<system_clock::duration>(s + ns));
}

// TAI64 (cr.yp.to/libtai/tai64.html): label 2^62 + 10 is 1970-01-01 00:00:00 TAI; WireGuard
// (whitepaper §5.4.2, wireguard-go tai64n.go) adds Unix seconds to that base and ignores leap
// seconds. The nanoseconds are whitened to a multiple of 2^24 (kernel noise.c, wireguard-go
// whitenerMask = 0x1000000 - 1).
struct EncodingRow {
  int64_t seconds;
  int64_t nanoseconds;
  const char* stamp;
};
constexpr EncodingRow kEncodings[] = {
    /* 0 */ {0, 0, "400000000000000a00000000"},                 // the epoch
    /* 1 */ {1, 0, "400000000000000b00000000"},                 //
    /* 2 */ {1577836800, 0, "400000005e0be10a00000000"},        // 2020-01-01T00:00:00Z
    /* 3 */ {0, 123456789, "400000000000000a07000000"},         // 0x075bcd15 & ~0xffffff
    /* 4 */ {0, 999999999, "400000000000000a3b000000"},         // 0x3b9ac9ff & ~0xffffff
    /* 5 */ {0, (1 << 24) - 1, "400000000000000a00000000"},     // still in the first bucket
    /* 6 */ {0, 1 << 24, "400000000000000a01000000"},           // the second bucket
    /* 7 */ {int64_t(1) << 32, 0, "400000010000000a00000000"},  // past 32-bit seconds
};

TEST(Tai64nTest, EncodesKnownTimes) {
  for (size_t row = 0; row < std::size(kEncodings); ++row) {
    SCOPED_TRACE(testing::Message() << "row " << row);
    const auto& v = kEncodings[row];
    EXPECT_EQ(to_hex(tai64n(at(seconds(v.seconds), nanoseconds(v.nanoseconds)))), v.stamp);
  }
}

TEST(Tai64nTest, TimestampAfterIsStrict) {
  const auto base = tai64n(at(seconds(1577836800), nanoseconds(500'000'000)));
  EXPECT_FALSE(timestamp_after(base, base));
  const auto next_bucket = tai64n(at(seconds(1577836800), nanoseconds(500'000'000 + (1 << 24))));
  EXPECT_TRUE(timestamp_after(next_bucket, base));
  EXPECT_FALSE(timestamp_after(base, next_bucket));
}

// Seconds are compared before nanoseconds: the byte order is big-endian for that reason.
TEST(Tai64nTest, SecondsOutrankNanoseconds) {
  const auto late_in_second = tai64n(at(seconds(100), nanoseconds(999'999'999)));
  const auto start_of_next = tai64n(at(seconds(101)));
  EXPECT_TRUE(timestamp_after(start_of_next, late_in_second));
  EXPECT_FALSE(timestamp_after(late_in_second, start_of_next));
  // 256 seconds later differs only in a higher byte than 1 second later.
  EXPECT_TRUE(timestamp_after(tai64n(at(seconds(356))), tai64n(at(seconds(101)))));
}

// The whitening means initiations closer than 2^24 ns (about 16.8 ms) carry equal timestamps,
// so a responder accepts at most one of them; across a bucket the stamp strictly grows.
TEST(Tai64nTest, WhiteningHidesSubBucketTime) {
  const auto start = at(seconds(1577836800));
  EXPECT_FALSE(timestamp_after(tai64n(start + milliseconds(16)), tai64n(start)));
  EXPECT_TRUE(timestamp_after(tai64n(start + milliseconds(17)), tai64n(start)));
}

// A clock stepping 1 ms at a time for 3 s never yields a smaller stamp, and a larger one
// exactly when it enters a new 2^24 ns bucket.
TEST(Tai64nTest, MonotonicAcrossThreeSeconds) {
  const auto start = at(seconds(1577836800), nanoseconds(987'654'321));
  auto previous = tai64n(start);
  int increases = 0;
  for (int ms = 1; ms <= 3000; ++ms) {
    const auto now = start + milliseconds(ms);
    const auto stamp = tai64n(now);
    ASSERT_FALSE(timestamp_after(previous, stamp)) << ms << " ms";
    const auto bucket = [](system_clock::time_point t) {
      const auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
      return std::pair(ns / 1'000'000'000, (ns % 1'000'000'000) >> 24);
    };
    const bool new_bucket = bucket(now) != bucket(now - milliseconds(1));
    EXPECT_EQ(timestamp_after(stamp, previous), new_bucket) << ms << " ms";
    increases += new_bucket;
    previous = stamp;
  }
  // 60 buckets a second (59 whole ones of 2^24 ns and the remainder), 3 seconds.
  EXPECT_GE(increases, 3 * 59);
  EXPECT_LE(increases, 3 * 60 + 1);
}

}  // namespace
}  // namespace slirpvpn::crypto
