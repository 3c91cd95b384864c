// SPDX-License-Identifier: MIT
// Tests of the delay line: order, payload integrity, fullness, wrap-around, reordering.
#include "delay_line.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <deque>
#include <vector>

#include "rng.h"

namespace slirpvpn::wanem {
namespace {

using std::chrono::milliseconds;

const TimePoint kStart = TimePoint(std::chrono::seconds(10));

std::vector<uint8_t> payload(uint32_t id, size_t length) {
  std::vector<uint8_t> p(length);
  for (size_t i = 0; i < length; ++i) p[i] = uint8_t(id * 31 + i * 7);
  return p;
}

TEST(DelayLine, FifoReleasesOnlyWhatIsDueInOrder) {
  DelayLine line(1 << 16, true);
  for (uint32_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(line.push(kStart + milliseconds(i), uint16_t(i % 3), payload(i, 100 + i)));
  }
  EXPECT_EQ(line.next_release(), kStart);
  std::array<Datagram, 64> out;
  ASSERT_EQ(line.take_due(kStart + milliseconds(4), out), 5u);
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(out[i].release, kStart + milliseconds(i));
    EXPECT_EQ(out[i].peer, i % 3);
    const auto expected = payload(i, 100 + i);
    EXPECT_TRUE(
        std::equal(out[i].data.begin(), out[i].data.end(), expected.begin(), expected.end()));
    line.done(out[i]);
  }
  EXPECT_EQ(line.packets(), 5u);
  EXPECT_EQ(line.next_release(), kStart + milliseconds(5));
}

TEST(DelayLine, UnsentDatagramsStayFirst) {
  DelayLine line(1 << 16, true);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(line.push(kStart, 0, payload(i, 10)));
  std::array<Datagram, 64> out;
  ASSERT_EQ(line.take_due(kStart, out), 4u);
  line.done(out[0]);
  line.put_back(std::span<const Datagram>(out.data() + 1, 3));
  ASSERT_EQ(line.take_due(kStart, out), 3u);
  EXPECT_EQ(out[0].data[0], payload(1, 10)[0]);
}

TEST(DelayLine, FullRingRefusesAndRecoversAfterDone) {
  // Room for exactly four 1000-byte records (1016 bytes each).
  DelayLine line(4 * DelayLine::record_size(1000), true);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(line.push(kStart, 0, payload(i, 1000)));
  EXPECT_FALSE(line.push(kStart, 0, payload(9, 1000)));
  EXPECT_FALSE(line.push(kStart, 0, payload(9, 1)));
  std::array<Datagram, 1> out;
  ASSERT_EQ(line.take_due(kStart, out), 1u);
  line.done(out[0]);
  EXPECT_TRUE(line.push(kStart, 0, payload(4, 1000)));
  EXPECT_FALSE(line.push(kStart, 0, payload(9, 1000)));
}

// Random sizes through a small ring, checked against a model queue: exercises every wrap case.
void churn(bool ordered) {
  DelayLine line(8192, ordered);
  Rng rng(7);
  std::deque<std::pair<uint32_t, size_t>> model;
  std::array<Datagram, 64> out;
  uint32_t next_id = 0, refused = 0;
  TimePoint now = kStart;
  for (int round = 0; round < 20000; ++round) {
    if (rng.uniform() < 0.75) {
      const size_t length = size_t(rng.next() % 1500);
      auto p = payload(next_id, length);
      p.resize(std::max<size_t>(length, 4));
      std::memcpy(p.data(), &next_id, 4);
      if (line.push(now, 0, std::span(p).first(length < 4 ? 4 : length))) {
        model.emplace_back(next_id, length < 4 ? 4 : length);
      } else {
        ++refused;
        EXPECT_GT(line.bytes_used() + DelayLine::record_size(length), 8192u - 2048u);
      }
      ++next_id;
    } else {
      const size_t n = line.take_due(now, std::span(out).first(1 + rng.next() % 8));
      ASSERT_LE(n, model.size());
      for (size_t i = 0; i < n; ++i) {
        uint32_t id;
        std::memcpy(&id, out[i].data.data(), 4);
        ASSERT_EQ(id, model.front().first);
        ASSERT_EQ(out[i].data.size(), model.front().second);
        const auto expected = payload(id, out[i].data.size());
        ASSERT_TRUE(std::equal(out[i].data.begin() + 4, out[i].data.end(), expected.begin() + 4));
        model.pop_front();
        line.done(out[i]);
      }
    }
    ASSERT_EQ(line.packets(), model.size());
    now += std::chrono::microseconds(1);
  }
  EXPECT_GT(refused, 1000u);  // the ring did fill up, often
}

TEST(DelayLine, FifoChurnKeepsOrderAndPayloads) {
  churn(true);
}
TEST(DelayLine, HeapChurnKeepsOrderForEqualTimes) {
  churn(false);
}

TEST(DelayLine, ReorderModeReleasesByTimeThenArrival) {
  DelayLine line(1 << 16, false);
  const int releases[] = {5, 1, 3, 1, 0, 4};
  for (uint32_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(line.push(kStart + milliseconds(releases[i]), 0, payload(i, 8)));
  }
  EXPECT_EQ(line.next_release(), kStart);
  std::array<Datagram, 64> out;
  ASSERT_EQ(line.take_due(kStart + milliseconds(3), out), 4u);
  const uint32_t expected_ids[] = {4, 1, 3, 2};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out[i].data[0], payload(expected_ids[i], 8)[0]) << i;
  // The two not sent come back first, before the later ones.
  line.done(out[0]);
  line.done(out[1]);
  line.put_back(std::span<const Datagram>(out.data() + 2, 2));
  ASSERT_EQ(line.take_due(kStart + milliseconds(10), out), 4u);
  EXPECT_EQ(out[0].data[0], payload(3, 8)[0]);
  EXPECT_EQ(out[1].data[0], payload(2, 8)[0]);
  EXPECT_EQ(out[2].data[0], payload(5, 8)[0]);  // 4 ms: id 5
  for (size_t i = 0; i < 4; ++i) line.done(out[i]);
  EXPECT_EQ(line.packets(), 0u);
  EXPECT_EQ(line.bytes_used(), 0u);
}

}  // namespace
}  // namespace slirpvpn::wanem
