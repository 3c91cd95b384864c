// SPDX-License-Identifier: MIT
// Tests for the locked key arena: zeroed blocks, wiping on free and at exit, growth, lock limit.
#include "crypto/secret_arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "crypto/secret.h"

namespace slirpvpn::crypto {
namespace {

constexpr size_t kBlocksPerChunk = SecretArena::kChunkSize / SecretArena::kBlockSize;

bool all_zero(const uint8_t* block) {
  return std::all_of(block, block + SecretArena::kBlockSize, [](uint8_t b) { return b == 0; });
}

bool all_equal(const uint8_t* block, uint8_t value) {
  return std::all_of(block, block + SecretArena::kBlockSize,
                     [value](uint8_t b) { return b == value; });
}

int lock_failures = 0;
size_t failure_locked = 0;
size_t failure_limit = 0;
void count_lock_failure(size_t locked, size_t limit) {
  ++lock_failures;
  failure_locked = locked;
  failure_limit = limit;
}

TEST(SecretArena, ManyBlocksAreZeroedDistinctAndCounted) {
  SecretArena arena;
  std::vector<uint8_t*> blocks;
  std::set<uint8_t*> distinct;
  const size_t count = 3 * kBlocksPerChunk + 5;  // four chunks
  for (size_t i = 0; i < count; ++i) {
    uint8_t* block = arena.allocate();
    ASSERT_NE(block, nullptr);
    ASSERT_TRUE(all_zero(block)) << "block " << i;
    std::memset(block, int(i % 251) + 1, SecretArena::kBlockSize);
    blocks.push_back(block);
    distinct.insert(block);
  }
  EXPECT_EQ(distinct.size(), count);
  // No block overlaps another: each still holds what was written into it.
  for (size_t i = 0; i < count; ++i) EXPECT_TRUE(all_equal(blocks[i], uint8_t(i % 251 + 1)));
  auto stats = arena.stats();
  EXPECT_EQ(stats.blocks_in_use, count);
  EXPECT_EQ(stats.blocks_total, 4 * kBlocksPerChunk);
  for (uint8_t* block : blocks) arena.free(block);
  stats = arena.stats();
  EXPECT_EQ(stats.blocks_in_use, 0u);
  EXPECT_EQ(stats.blocks_total, 4 * kBlocksPerChunk);  // kept for reuse
}

TEST(SecretArena, FreedBlockIsWipedBeforeReuse) {
  SecretArena arena;
  uint8_t* block = arena.allocate();
  std::memset(block, 0xAA, SecretArena::kBlockSize);
  // The arena's memory keeps what is written to it until free: the check below can fail.
  ASSERT_TRUE(all_equal(block, 0xAA));
  arena.free(block);
  EXPECT_TRUE(all_zero(block));  // still the arena's memory: readable, and wiped
  uint8_t* again = arena.allocate();
  EXPECT_EQ(again, block);  // LIFO: the wiped block is the next one handed out
  EXPECT_TRUE(all_zero(again));
}

TEST(SecretArena, WipeAllZeroesLiveBlocks) {
  SecretArena arena;
  uint8_t* a = arena.allocate();
  uint8_t* b = arena.allocate();
  std::memset(a, 0x11, SecretArena::kBlockSize);
  std::memset(b, 0x22, SecretArena::kBlockSize);
  ASSERT_TRUE(all_equal(a, 0x11));
  ASSERT_TRUE(all_equal(b, 0x22));
  arena.wipe_all();
  EXPECT_TRUE(all_zero(a));
  EXPECT_TRUE(all_zero(b));
}

TEST(SecretArena, ReserveMakesOneChunkThatNeedsNoGrowth) {
  SecretArena arena;
  const size_t wanted = 1000 * SecretArena::kBlocksPerPeer;  // 1000 peers
  arena.reserve(wanted);
  const size_t total = arena.stats().blocks_total;
  EXPECT_GE(total, wanted);
  EXPECT_LT(total, wanted + SecretArena::kPageSize / SecretArena::kBlockSize);  // page rounding
  std::vector<uint8_t*> blocks;
  for (size_t i = 0; i < wanted; ++i) blocks.push_back(arena.allocate());
  EXPECT_EQ(arena.stats().blocks_total, total);
  for (uint8_t* block : blocks) arena.free(block);
}

TEST(SecretArena, ChunksWithinTheLockLimitAreLocked) {
  SecretArena arena;
  lock_failures = 0;
  arena.set_lock_failure_handler(count_lock_failure);
  arena.set_lock_limit(SecretArena::kChunkSize);
  std::vector<uint8_t*> blocks;
  for (size_t i = 0; i < kBlocksPerChunk; ++i) blocks.push_back(arena.allocate());
  const auto first = arena.stats();
  // mlock itself may refuse (RLIMIT_MEMLOCK below 64 KiB without CAP_IPC_LOCK): then this
  // environment cannot lock at all, and the failure must have been reported.
  if (first.locked_bytes == 0) {
    EXPECT_EQ(lock_failures, 1);
    GTEST_SKIP() << "mlock refused 64 KiB here (RLIMIT_MEMLOCK)";
  }
  EXPECT_EQ(first.locked_bytes, SecretArena::kChunkSize);
  EXPECT_EQ(first.unlocked_bytes, 0u);
  EXPECT_EQ(lock_failures, 0);

  // Exhaustion: the next chunk would pass the limit, so it is used unlocked, with one report.
  for (size_t i = 0; i < 3 * kBlocksPerChunk; ++i) {
    uint8_t* block = arena.allocate();
    ASSERT_TRUE(all_zero(block));
    std::memset(block, 0x5A, SecretArena::kBlockSize);
    blocks.push_back(block);
  }
  const auto after = arena.stats();
  EXPECT_EQ(after.locked_bytes, SecretArena::kChunkSize);
  EXPECT_EQ(after.unlocked_bytes, 3 * SecretArena::kChunkSize);
  EXPECT_EQ(lock_failures, 1);  // three unlocked chunks, one report
  EXPECT_EQ(failure_locked, SecretArena::kChunkSize);
  EXPECT_EQ(failure_limit, SecretArena::kChunkSize);
  for (uint8_t* block : blocks) arena.free(block);
}

TEST(SecretArena, FailureBeforeTheHandlerIsReportedOnceWhenItIsSet) {
  SecretArena arena;
  arena.set_lock_limit(0);
  uint8_t* block = arena.allocate();
  EXPECT_EQ(arena.stats().locked_bytes, 0u);
  EXPECT_EQ(arena.stats().unlocked_bytes, SecretArena::kChunkSize);
  lock_failures = 0;
  arena.set_lock_failure_handler(count_lock_failure);
  EXPECT_EQ(lock_failures, 1);
  std::vector<uint8_t*> more;
  for (size_t i = 0; i < kBlocksPerChunk; ++i) more.push_back(arena.allocate());
  EXPECT_EQ(lock_failures, 1);
  arena.free(block);
  for (uint8_t* b : more) arena.free(b);
}

TEST(Secret, HoldsItsBytesInTheGlobalArenaAndWipesThemWhenItDies) {
  auto& arena = SecretArena::global();
  const size_t before = arena.stats().blocks_in_use;
  uint8_t* bytes = nullptr;
  {
    std::array<uint8_t, kKeyLen> value;
    value.fill(0xC3);
    SymmetricKey key{std::span<const uint8_t, kKeyLen>(value)};
    EXPECT_EQ(arena.stats().blocks_in_use, before + 1);
    bytes = key.data();
    ASSERT_TRUE(all_equal(bytes, 0xC3));
    SymmetricKey copy = key;
    EXPECT_NE(copy.data(), key.data());
    EXPECT_EQ(arena.stats().blocks_in_use, before + 2);
    SymmetricKey moved = std::move(copy);
    EXPECT_TRUE(copy.is_zero());
    EXPECT_TRUE(all_equal(moved.data(), 0xC3));
  }
  EXPECT_EQ(arena.stats().blocks_in_use, before);
  EXPECT_TRUE(all_zero(bytes));  // the arena's memory, wiped when the key died
}

}  // namespace
}  // namespace slirpvpn::crypto
