// SPDX-License-Identifier: MIT
// Sliding anti-replay window over a keypair's 64-bit receive counters (RFC 6479 bitmap).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "wireguard/constants.h"

namespace slirpvpn::wireguard {

// Bits in the ring bitmap. 8192 as in the Linux kernel (COUNTER_BITS_TOTAL) and wireguard-go
// (replay.CounterBitsTotal): 1 KiB per keypair, wide enough for reordering across many cores.
inline constexpr size_t kReplayBitsTotal = 8192;
// RFC 6479 §2: one word of the ring is the one being filled and is never trusted as history,
// so the usable window is one word short of the ring (8128, the kernel's COUNTER_WINDOW_SIZE on
// 64-bit and wireguard-go's CounterWindowSize).
inline constexpr uint64_t kReplayWindowSize = kReplayBitsTotal - 64;

// ReplayWindow accepts each counter below kRejectAfterMessages at most once, and rejects any
// counter more than kReplayWindowSize below the highest one accepted so far (whitepaper §5.4.6:
// "a sliding window ... as in RFC 6479"). Use: check() before decrypting (cheap drop of replays
// and stale packets), mark() after the AEAD tag verified (only authenticated counters move the
// window). Fixed size, no allocation, all members noexcept. Not thread-safe: one receive path
// per keypair, or the caller serialises.
class ReplayWindow {
 public:
  ReplayWindow() noexcept = default;

  // True when mark(counter) would accept now: counter < kRejectAfterMessages, not more than
  // kReplayWindowSize behind the highest accepted counter, and not accepted before.
  [[nodiscard]] bool check(uint64_t counter) const noexcept;

  // Accepts and records counter; false (and no change) when check(counter) is false.
  bool mark(uint64_t counter) noexcept;

  // Forgets everything: the next counter of any value below the limit is accepted.
  void reset() noexcept;

 private:
  static constexpr size_t kWordBits = 64;
  static constexpr size_t kWords = kReplayBitsTotal / kWordBits;
  static_assert((kWords & (kWords - 1)) == 0, "ring index uses a mask");

  // Highest accepted counter plus one; 0 means nothing accepted yet. The +1 (as in the kernel's
  // noise_replay_counter) lets counter 0 be told apart from an empty window.
  uint64_t next_ = 0;
  // Bit (c % 64) of word (c / 64) % kWords is set once counter c has been accepted.
  std::array<uint64_t, kWords> bitmap_{};
};

}  // namespace slirpvpn::wireguard
