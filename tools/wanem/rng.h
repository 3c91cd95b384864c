// SPDX-License-Identifier: MIT
// SplitMix64: a small seeded generator for the emulator's loss/dup/jitter decisions.
#pragma once

#include <cstdint>

namespace slirpvpn::wanem {

// Deterministic for a given seed, so a test or a bench run can be replayed exactly.
// Not cryptographic. Not thread-safe: one instance per direction.
class Rng {
 public:
  explicit Rng(uint64_t seed) noexcept : state_(seed) {}

  uint64_t next() noexcept {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1): the top 53 bits fill a double's mantissa exactly.
  double uniform() noexcept { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

  // True with probability percent / 100; 0 never draws, so a disabled impairment does not
  // shift the sequence the others see.
  bool chance(double percent) noexcept { return percent > 0 && uniform() * 100.0 < percent; }

 private:
  uint64_t state_;
};

}  // namespace slirpvpn::wanem
