// SPDX-License-Identifier: MIT
// ReplayWindow against the Linux kernel's counter self-test table and a brute-force model.
#include "wireguard/replay_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <unordered_set>
#include <vector>

namespace slirpvpn::wireguard {
namespace {

struct Row {
  uint64_t counter;
  bool accepted;
};

// Feeds rows in order; each row asserts check() predicts mark() and mark() gives the expected
// answer. Failures name the 1-based row like the kernel's "nonce counter self-test %u: FAIL".
void run_rows(ReplayWindow& window, const std::vector<Row>& rows, const char* table) {
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    EXPECT_EQ(window.check(row.counter), row.accepted)
        << table << " row " << (i + 1) << ": check(" << row.counter << ")";
    EXPECT_EQ(window.mark(row.counter), row.accepted)
        << table << " row " << (i + 1) << ": mark(" << row.counter << ")";
  }
}

// Linux drivers/net/wireguard/selftest/counter.c (wg_packet_counter_selftest), first table.
// The kernel's COUNTER_WINDOW_SIZE on 64-bit is 8192 - 64, the same as kReplayWindowSize.
TEST(ReplayWindow, KernelSelftestTable) {
  static_assert(kReplayWindowSize == 8128);
  constexpr uint64_t kLim = kReplayWindowSize + 1;  // T_LIM
  constexpr uint64_t kRam = kRejectAfterMessages;
  const std::vector<Row> rows = {
      /*  1 */ {0, true},
      /*  2 */ {1, true},
      /*  3 */ {1, false},
      /*  4 */ {9, true},
      /*  5 */ {8, true},
      /*  6 */ {7, true},
      /*  7 */ {7, false},
      /*  8 */ {kLim, true},
      /*  9 */ {kLim - 1, true},
      /* 10 */ {kLim - 1, false},
      /* 11 */ {kLim - 2, true},
      /* 12 */ {2, true},
      /* 13 */ {2, false},
      /* 14 */ {kLim + 16, true},
      /* 15 */ {3, false},
      /* 16 */ {kLim + 16, false},
      /* 17 */ {kLim * 4, true},
      /* 18 */ {kLim * 4 - (kLim - 1), true},
      /* 19 */ {10, false},
      /* 20 */ {kLim * 4 - kLim, false},
      /* 21 */ {kLim * 4 - (kLim + 1), false},
      /* 22 */ {kLim * 4 - (kLim - 2), true},
      /* 23 */ {kLim * 4 + 1 - kLim, false},
      /* 24 */ {0, false},
      /* 25 */ {kRam, false},
      /* 26 */ {kRam - 1, true},
      /* 27 */ {kRam, false},
      /* 28 */ {kRam - 1, false},
      /* 29 */ {kRam - 2, true},
      /* 30 */ {kRam + 1, false},
      /* 31 */ {kRam + 2, false},
      /* 32 */ {kRam - 2, false},
      /* 33 */ {kRam - 3, true},
      /* 34 */ {0, false},
  };
  ReplayWindow window;
  run_rows(window, rows, "kernel table");
}

// The kernel self-test's five loops after the table: a full window in each order, then the
// counters at and just past its edges.
TEST(ReplayWindow, KernelSelftestFullWindowAscendingThenZero) {
  ReplayWindow window;
  std::vector<Row> rows;
  for (uint64_t i = 1; i <= kReplayWindowSize; ++i) rows.push_back({i, true});
  rows.push_back({0, true});  // exactly kReplayWindowSize behind the top: still inside
  rows.push_back({0, false});
  run_rows(window, rows, "ascending 1..W, 0");
}

TEST(ReplayWindow, KernelSelftestFullWindowShiftedByOne) {
  ReplayWindow window;
  std::vector<Row> rows;
  for (uint64_t i = 2; i <= kReplayWindowSize + 1; ++i) rows.push_back({i, true});
  rows.push_back({1, true});
  rows.push_back({0, false});  // one past the window
  run_rows(window, rows, "ascending 2..W+1, 1, 0");
}

TEST(ReplayWindow, KernelSelftestDescendingFromWindowEdge) {
  ReplayWindow window;
  std::vector<Row> rows;
  for (uint64_t i = kReplayWindowSize + 1; i-- > 0;) rows.push_back({i, true});
  run_rows(window, rows, "descending W..0");
}

TEST(ReplayWindow, KernelSelftestDescendingPastWindowEdge) {
  ReplayWindow window;
  std::vector<Row> rows;
  for (uint64_t i = kReplayWindowSize + 2; i-- > 1;) rows.push_back({i, true});
  rows.push_back({0, false});
  run_rows(window, rows, "descending W+1..1, 0");
}

TEST(ReplayWindow, KernelSelftestDescendingThenNewTop) {
  ReplayWindow window;
  std::vector<Row> rows;
  for (uint64_t i = kReplayWindowSize + 1; i-- > 1;) rows.push_back({i, true});
  rows.push_back({kReplayWindowSize + 1, true});
  rows.push_back({0, false});
  run_rows(window, rows, "descending W..1, W+1, 0");
}

TEST(ReplayWindow, KernelSelftestDescendingZeroThenNewTop) {
  ReplayWindow window;
  std::vector<Row> rows;
  for (uint64_t i = kReplayWindowSize + 1; i-- > 1;) rows.push_back({i, true});
  rows.push_back({0, true});
  rows.push_back({kReplayWindowSize + 1, true});
  run_rows(window, rows, "descending W..1, 0, W+1");
}

TEST(ReplayWindow, CheckDoesNotRecord) {
  ReplayWindow window;
  EXPECT_TRUE(window.check(5));
  EXPECT_TRUE(window.check(5));
  EXPECT_TRUE(window.mark(5));
  EXPECT_FALSE(window.check(5));
  // A check far ahead must not slide the window: 0 stays acceptable.
  EXPECT_TRUE(window.check(1'000'000));
  EXPECT_TRUE(window.mark(0));
}

TEST(ReplayWindow, RejectAfterMessagesOnFreshWindow) {
  const std::vector<Row> rows = {
      /* 1 */ {std::numeric_limits<uint64_t>::max(), false},
      /* 2 */ {kRejectAfterMessages, false},
      /* 3 */ {kRejectAfterMessages - 1, true},
      /* 4 */ {kRejectAfterMessages - 1 - kReplayWindowSize, true},       // window's bottom edge
      /* 5 */ {kRejectAfterMessages - 1 - kReplayWindowSize - 1, false},  // just below it
      /* 6 */ {kRejectAfterMessages + 1, false},
  };
  ReplayWindow window;
  run_rows(window, rows, "reject-after-messages");
  // The limit is 2^64 - 2^13 - 1 (whitepaper §6.1): UINT64_MAX - 8192 itself is refused.
  EXPECT_EQ(kRejectAfterMessages, std::numeric_limits<uint64_t>::max() - 8192);
}

TEST(ReplayWindow, BigJumpForgetsOldHistoryButKeepsWindow) {
  ReplayWindow window;
  for (uint64_t i = 0; i < 3 * 64; ++i) ASSERT_TRUE(window.mark(i)) << i;
  constexpr uint64_t kTop = uint64_t(1) << 40;
  const std::vector<Row> rows = {
      /*  1 */ {kTop, true},
      /*  2 */ {100, false},  // far behind: stale, not "unseen"
      /*  3 */ {kTop - kReplayWindowSize, true},
      /*  4 */ {kTop - kReplayWindowSize - 1, false},
      /*  5 */ {kTop - 1, true},
      /*  6 */ {kTop - 1, false},
      /*  7 */ {kTop, false},
      /*  8 */ {kTop + 1, true},
      /*  9 */ {kTop - kReplayWindowSize, false},  // now one past the edge, and seen anyway
      /* 10 */ {kTop - kReplayWindowSize + 1, true},
  };
  run_rows(window, rows, "big jump");
}

// A jump of exactly one ring (8192) maps the new top onto the same bitmap word as the old one:
// that word, and every other, must read as empty for counters that were never seen.
TEST(ReplayWindow, JumpOfExactlyOneRingClearsAliasedWords) {
  ReplayWindow window;
  for (uint64_t i = 64; i < 128; ++i) ASSERT_TRUE(window.mark(i));
  ASSERT_TRUE(window.mark(64 + kReplayBitsTotal));
  for (uint64_t c = 64 + kReplayBitsTotal - kReplayWindowSize; c < 64 + kReplayBitsTotal; ++c) {
    ASSERT_TRUE(window.check(c)) << c;
  }
  EXPECT_FALSE(window.check(127));  // same word index mod the ring, but outside the window
}

// The counter exactly kReplayWindowSize below the top shares no word with the top, so its
// history survives the slide: a replay at the window's edge is still caught.
TEST(ReplayWindow, HistoryAtWindowEdgeSurvivesSlide) {
  for (uint64_t start : {uint64_t(0), uint64_t(63), uint64_t(64), uint64_t(1000)}) {
    ReplayWindow window;
    ASSERT_TRUE(window.mark(start));
    ASSERT_TRUE(window.mark(start + kReplayWindowSize));
    EXPECT_FALSE(window.check(start)) << "start " << start;
    EXPECT_FALSE(window.mark(start)) << "start " << start;
    EXPECT_TRUE(window.mark(start + 1)) << "start " << start;
  }
}

TEST(ReplayWindow, ResetForgetsEverything) {
  ReplayWindow window;
  ASSERT_TRUE(window.mark(0));
  ASSERT_TRUE(window.mark(50'000));
  ASSERT_FALSE(window.check(0));
  window.reset();
  EXPECT_TRUE(window.mark(0));
  EXPECT_TRUE(window.mark(50'000));
  EXPECT_FALSE(window.mark(1));  // top is 50'000 again, 1 is far behind it
}

// Brute-force model: a counter is accepted iff it is below the limit, never accepted before,
// and at most kReplayWindowSize below the highest accepted counter. Counters cluster near a
// moving top with occasional long jumps, so every branch (slide by one word, by many words, by
// more than the ring; duplicates; stale) is exercised many times. Fixed seed: reproducible.
TEST(ReplayWindow, MatchesBruteForceModel) {
  std::mt19937_64 rng(0x5eed'cafe);
  ReplayWindow window;
  std::unordered_set<uint64_t> seen;
  bool any = false;
  uint64_t highest = 0;
  uint64_t base = 0;
  for (int step = 0; step < 200'000; ++step) {
    const uint64_t roll = rng() % 1000;
    if (roll == 0)
      base += kReplayBitsTotal * (1 + rng() % 3);  // jump past the ring
    else if (roll < 20)
      base += rng() % (2 * kReplayWindowSize);
    else if (roll < 40)
      base += rng() % 256;
    const uint64_t offset = rng() % (kReplayWindowSize + 200);
    const uint64_t counter =
        (rng() & 1) ? base + offset % 300 : (base > offset ? base - offset : 0);
    const bool expected = !seen.contains(counter) &&
                          (!any || counter > highest || highest - counter <= kReplayWindowSize);
    ASSERT_EQ(window.check(counter), expected) << "step " << step << " counter " << counter;
    ASSERT_EQ(window.mark(counter), expected) << "step " << step << " counter " << counter;
    if (expected) {
      seen.insert(counter);
      if (!any || counter > highest) highest = counter;
      any = true;
    }
  }
}

TEST(ReplayWindow, FixedSizeNoHeap) {
  // The whole state is the 1 KiB ring plus the top counter: nothing to allocate per keypair.
  EXPECT_EQ(sizeof(ReplayWindow), kReplayBitsTotal / 8 + sizeof(uint64_t));
}

}  // namespace
}  // namespace slirpvpn::wireguard
