// SPDX-License-Identifier: MIT
// The locked key-material arena: chunks locked with sodium_mlock, a free list of 32-byte blocks.
#include "crypto/secret_arena.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "common/assert.h"

namespace slirpvpn::crypto {

namespace {

size_t round_up(size_t bytes, size_t multiple) {
  return (bytes + multiple - 1) / multiple * multiple;
}

void wipe_global_arena() {
  SecretArena::global().wipe_all();
}

}  // namespace

SecretArena::~SecretArena() {
  for (const Chunk& chunk : chunks_) {
    if (chunk.locked) {
      sodium_munlock(chunk.base, chunk.bytes);  // wipes as well
    } else {
      sodium_memzero(chunk.base, chunk.bytes);
    }
    std::free(chunk.base);
  }
}

SecretArena& SecretArena::global() noexcept {
  // Never destroyed: Secrets with static storage may die after any static destructor.
  static SecretArena* const arena = [] {
    auto* created = new SecretArena;
    std::atexit(wipe_global_arena);
    return created;
  }();
  return *arena;
}

void SecretArena::add_chunk(size_t bytes) noexcept {
  bytes = round_up(bytes, kPageSize);
  auto* base = static_cast<uint8_t*>(std::aligned_alloc(kPageSize, bytes));
  SLIRPVPN_ASSERT(base != nullptr);
  std::memset(base, 0, bytes);
  bool locked = false;
  if (locked_bytes_ + bytes <= lock_limit_) locked = sodium_mlock(base, bytes) == 0;
  if (locked) {
    locked_bytes_ += bytes;
  } else {
    unlocked_bytes_ += bytes;
    if (!lock_failed_ && on_lock_failure_ != nullptr) on_lock_failure_(locked_bytes_, lock_limit_);
    lock_failed_ = true;
  }
  chunks_.push_back({base, bytes, locked});
  const size_t blocks = bytes / kBlockSize;
  blocks_total_ += blocks;
  free_.reserve(blocks_total_);
  // Highest address first so that allocation walks the chunk upwards.
  for (size_t i = blocks; i-- > 0;) free_.push_back(base + i * kBlockSize);
}

uint8_t* SecretArena::allocate() noexcept {
  std::lock_guard lock(mutex_);
  if (free_.empty()) add_chunk(kChunkSize);
  uint8_t* block = free_.back();
  free_.pop_back();
  return block;
}

void SecretArena::free(uint8_t* block) noexcept {
  if (block == nullptr) return;
  sodium_memzero(block, kBlockSize);
  std::lock_guard lock(mutex_);
  SLIRPVPN_ASSERT(free_.size() < blocks_total_);
  free_.push_back(block);
}

void SecretArena::reserve(size_t blocks) noexcept {
  std::lock_guard lock(mutex_);
  if (free_.size() >= blocks) return;
  add_chunk((blocks - free_.size()) * kBlockSize);
}

void SecretArena::set_lock_limit(size_t bytes) noexcept {
  std::lock_guard lock(mutex_);
  lock_limit_ = bytes;
}

void SecretArena::set_lock_failure_handler(LockFailureHandler handler) noexcept {
  std::lock_guard lock(mutex_);
  on_lock_failure_ = handler;
  if (lock_failed_ && handler != nullptr) handler(locked_bytes_, lock_limit_);
}

void SecretArena::wipe_all() noexcept {
  std::lock_guard lock(mutex_);
  for (const Chunk& chunk : chunks_) sodium_memzero(chunk.base, chunk.bytes);
}

SecretArena::Stats SecretArena::stats() const noexcept {
  std::lock_guard lock(mutex_);
  return {blocks_total_ - free_.size(), blocks_total_, locked_bytes_, unlocked_bytes_};
}

}  // namespace slirpvpn::crypto
