// SPDX-License-Identifier: MIT
// Fixed-size secret bytes, held in the locked SecretArena and wiped whenever they die or move.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "crypto/secret_arena.h"

namespace slirpvpn::crypto {

inline constexpr size_t kKeyLen = 32;

// Not thread-safe; the owner decides who may read it. The bytes live in a block of the
// locked SecretArena (never swapped or dumped; wiped when this dies), not inside the object.
// Copying is allowed because the Noise state machine snapshots keys; a copy takes a block of
// its own. A moved-from Secret keeps its block and reads zero.
template <size_t N>
class Secret {
  static_assert(N <= SecretArena::kBlockSize, "one arena block per secret");

 public:
  // Arena blocks are handed out zeroed.
  Secret() noexcept : bytes_(SecretArena::global().allocate()) {}
  explicit Secret(std::span<const uint8_t, N> bytes) noexcept : Secret() {
    std::memcpy(bytes_, bytes.data(), N);
  }
  Secret(const Secret& other) noexcept : Secret() { std::memcpy(bytes_, other.bytes_, N); }
  Secret& operator=(const Secret& other) noexcept {
    if (this != &other) std::memcpy(bytes_, other.bytes_, N);
    return *this;
  }
  Secret(Secret&& other) noexcept : Secret() {
    std::memcpy(bytes_, other.bytes_, N);
    other.wipe();
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      std::memcpy(bytes_, other.bytes_, N);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { SecretArena::global().free(bytes_); }  // wipes

  void wipe() noexcept { sodium_memzero(bytes_, N); }
  bool is_zero() const noexcept { return sodium_is_zero(bytes_, N) == 1; }

  std::span<uint8_t, N> span() noexcept { return std::span<uint8_t, N>(bytes_, N); }
  std::span<const uint8_t, N> span() const noexcept {
    return std::span<const uint8_t, N>(bytes_, N);
  }
  uint8_t* data() noexcept { return bytes_; }
  const uint8_t* data() const noexcept { return bytes_; }
  static constexpr size_t size() noexcept { return N; }

 private:
  uint8_t* bytes_;
};

using SymmetricKey = Secret<kKeyLen>;

// Constant time: for comparing MACs and keys.
template <size_t N>
bool equal_constant_time(std::span<const uint8_t, N> a, std::span<const uint8_t, N> b) noexcept {
  return sodium_memcmp(a.data(), b.data(), N) == 0;
}

}  // namespace slirpvpn::crypto
