// SPDX-License-Identifier: MIT
// The operating system's randomness (libsodium's randombytes: getrandom) for the protocol core.
#pragma once

#include <sodium.h>

#include "wireguard/random_source.h"

namespace slirpvpn::net {

class SystemRandom final : public wireguard::RandomSource {
 public:
  void fill(std::span<uint8_t> out) noexcept override { randombytes_buf(out.data(), out.size()); }
};

}  // namespace slirpvpn::net
