// SPDX-License-Identifier: MIT
// Fixed-size secret bytes that wipe themselves (sodium_memzero) whenever they die or move.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace slirpvpn::crypto {

inline constexpr size_t kKeyLen = 32;

// Not thread-safe; the owner decides who may read it. Copying is allowed because the Noise
// state machine snapshots keys, but every copy wipes itself as well.
template <size_t N>
class Secret {
 public:
  Secret() noexcept { bytes_.fill(0); }
  explicit Secret(std::span<const uint8_t, N> bytes) noexcept {
    for (size_t i = 0; i < N; ++i) bytes_[i] = bytes[i];
  }
  Secret(const Secret& other) noexcept = default;
  Secret& operator=(const Secret& other) noexcept = default;
  Secret(Secret&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  void wipe() noexcept { sodium_memzero(bytes_.data(), N); }
  bool is_zero() const noexcept { return sodium_is_zero(bytes_.data(), N) == 1; }

  std::span<uint8_t, N> span() noexcept { return bytes_; }
  std::span<const uint8_t, N> span() const noexcept { return bytes_; }
  uint8_t* data() noexcept { return bytes_.data(); }
  const uint8_t* data() const noexcept { return bytes_.data(); }
  static constexpr size_t size() noexcept { return N; }

 private:
  std::array<uint8_t, N> bytes_;
};

using SymmetricKey = Secret<kKeyLen>;

// Constant time: for comparing MACs and keys.
template <size_t N>
bool equal_constant_time(std::span<const uint8_t, N> a, std::span<const uint8_t, N> b) noexcept {
  return sodium_memcmp(a.data(), b.data(), N) == 0;
}

}  // namespace slirpvpn::crypto
