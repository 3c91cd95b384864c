// SPDX-License-Identifier: MIT
// Tests of one emulated direction with an injected clock and seed: order, loss, duplication,
// reordering, rate limit, queue-full drops and determinism.
#include "path.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

namespace slirpvpn::wanem {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const TimePoint kStart = TimePoint(std::chrono::seconds(1000));

struct Released {
  uint32_t id;
  TimePoint release;
};

// Feeds `count` datagrams (id in the first 4 bytes) every `gap`, draining as time goes on, and
// returns what left in the order it left.
std::vector<Released> run(Path& path, int count, Nanos gap, size_t length = 100) {
  std::vector<Released> out;
  std::array<Datagram, 64> due;
  std::vector<uint8_t> data(length, 0xAB);
  TimePoint now = kStart;
  auto drain = [&](TimePoint until) {
    for (size_t n; (n = path.line().take_due(until, due)) > 0;) {
      for (size_t i = 0; i < n; ++i) {
        uint32_t id;
        std::memcpy(&id, due[i].data.data(), 4);
        EXPECT_EQ(due[i].data.size(), length);
        out.push_back({id, due[i].release});
        path.line().done(due[i]);
      }
    }
  };
  for (uint32_t id = 0; id < uint32_t(count); ++id) {
    std::memcpy(data.data(), &id, 4);
    path.admit(now, 0, data);
    now += gap;
    drain(now);
  }
  drain(now + std::chrono::hours(1));
  return out;
}

TEST(Path, DelayIsExactWithoutJitter) {
  PathConfig config;
  config.delay = milliseconds(20);
  Path path(config, 1);
  const auto out = run(path, 100, microseconds(100));
  ASSERT_EQ(out.size(), 100u);
  for (const auto& r : out) {
    EXPECT_EQ(r.release, kStart + microseconds(100) * r.id + milliseconds(20));
  }
}

TEST(Path, JitterKeepsFifoOrderWithoutReorder) {
  PathConfig config;
  config.delay = milliseconds(20);
  config.jitter = milliseconds(10);
  Path path(config, 2);
  // Sent every 2 ms: later datagrams are often held back behind earlier ones, not always.
  const auto out = run(path, 5000, milliseconds(2));
  ASSERT_EQ(out.size(), 5000u);
  Nanos min_delay = std::chrono::hours(1), max_delay{0};
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].id, i);
    const Nanos delay = out[i].release - (kStart + milliseconds(2) * out[i].id);
    min_delay = std::min(min_delay, delay);
    max_delay = std::max(max_delay, delay);
  }
  EXPECT_GE(min_delay, milliseconds(10));
  EXPECT_LT(min_delay, milliseconds(13));  // the jitter really spreads
  EXPECT_GT(max_delay, milliseconds(28));
  EXPECT_LE(max_delay, milliseconds(30));
  EXPECT_EQ(path.counters().reordered, 0u);
}

TEST(Path, ReorderOvertakesAtTheRequestedRate) {
  PathConfig config;
  config.delay = milliseconds(10);
  config.reorder_percent = 10;
  Path path(config, 3);
  const auto out = run(path, 10000, microseconds(100));
  ASSERT_EQ(out.size(), 10000u);
  size_t out_of_order = 0;
  for (size_t i = 1; i < out.size(); ++i) out_of_order += out[i].id < out[i - 1].id;
  EXPECT_GT(out_of_order, 500u);
  // Binomial(10000, 0.1): sd 30; 6 sd either side.
  EXPECT_NEAR(double(path.counters().reordered), 1000.0, 180.0);
}

TEST(Path, LossAndDuplicationWithinStatisticalBounds) {
  PathConfig config;
  config.loss_percent = 5;
  config.duplicate_percent = 2;
  Path path(config, 4);
  const int n = 100000;
  const auto out = run(path, n, microseconds(10));
  const auto& c = path.counters();
  // Binomial sd: loss sqrt(1e5*.05*.95) = 69; dup of the survivors sqrt(95000*.02*.98) = 43.
  EXPECT_NEAR(double(c.drop_loss), 5000.0, 6 * 69.0);
  EXPECT_NEAR(double(c.duplicated), 0.02 * (n - double(c.drop_loss)), 6 * 43.0);
  EXPECT_EQ(out.size(), n - c.drop_loss + c.duplicated);
  EXPECT_EQ(c.rx_packets, uint64_t(n));
  // Each duplicate leaves right behind its original.
  size_t pairs = 0;
  for (size_t i = 1; i < out.size(); ++i) pairs += out[i].id == out[i - 1].id;
  EXPECT_EQ(pairs, c.duplicated);
}

TEST(Path, SameSeedSameFateDifferentSeedDifferentFate) {
  PathConfig config;
  config.loss_percent = 30;
  config.jitter = milliseconds(5);
  config.delay = milliseconds(5);
  auto ids = [&](uint64_t seed) {
    Path path(config, seed);
    std::vector<std::pair<uint32_t, int64_t>> v;
    for (const auto& r : run(path, 2000, microseconds(100))) {
      v.emplace_back(r.id, r.release.time_since_epoch().count());
    }
    return v;
  };
  EXPECT_EQ(ids(42), ids(42));
  EXPECT_NE(ids(42), ids(43));
}

TEST(Path, RateLimitSpacesDatagramsAndDropsPastTheQueue) {
  PathConfig config;
  config.rate_mbit = 8;  // 1 MB/s: a 1000-byte datagram every ms
  config.burst_bytes = 1000;
  config.rate_queue = milliseconds(10);
  config.delay = milliseconds(5);
  Path path(config, 5);
  // 1000 datagrams offered at 2 MB/s for 0.5 s.
  const auto out = run(path, 1000, microseconds(500), 1000);
  const auto& c = path.counters();
  EXPECT_EQ(out.size() + c.drop_rate, 1000u);
  EXPECT_NEAR(double(out.size()), 510.0, 5.0);  // half, plus the ~10 ms buffer
  for (size_t i = 1; i < out.size(); ++i) {
    EXPECT_GE(out[i].release - out[i - 1].release, milliseconds(1)) << i;
  }
  EXPECT_GE(out.front().release, kStart + milliseconds(5));
}

TEST(Path, FullQueueDropsAndCounts) {
  PathConfig config;
  config.delay = std::chrono::seconds(1);
  config.queue_bytes = 100 * DelayLine::record_size(1400);
  Path path(config, 6);
  std::vector<uint8_t> data(1400);
  int queued = 0;
  for (int i = 0; i < 150; ++i) queued += path.admit(kStart, 0, data);
  EXPECT_EQ(queued, 100);
  EXPECT_EQ(path.counters().drop_queue, 50u);
  EXPECT_EQ(path.counters().max_queue_packets, 100u);
  EXPECT_EQ(path.line().packets(), 100u);
}

}  // namespace
}  // namespace slirpvpn::wanem
