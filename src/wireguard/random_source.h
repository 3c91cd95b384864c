// SPDX-License-Identifier: MIT
// Randomness as a parameter: the protocol core never reads an RNG itself.
#pragma once

#include <cstdint>
#include <span>

namespace slirpvpn::wireguard {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with uniformly random bytes. Must not fail.
  virtual void fill(std::span<uint8_t> out) noexcept = 0;
};

}  // namespace slirpvpn::wireguard
