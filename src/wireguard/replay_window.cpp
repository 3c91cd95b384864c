// SPDX-License-Identifier: MIT
// RFC 6479 anti-replay bitmap: words ahead of the window are zeroed lazily as it slides.
#include "wireguard/replay_window.h"

#include <algorithm>

namespace slirpvpn::wireguard {

bool ReplayWindow::check(uint64_t counter) const noexcept {
  if (counter >= kRejectAfterMessages) return false;
  if (next_ == 0 || counter >= next_) return true;  // ahead of everything seen: fresh
  const uint64_t highest = next_ - 1;
  if (highest - counter > kReplayWindowSize) return false;  // fell out of the window
  const uint64_t word = bitmap_[(counter / kWordBits) & (kWords - 1)];
  return (word & (uint64_t(1) << (counter % kWordBits))) == 0;
}

bool ReplayWindow::mark(uint64_t counter) noexcept {
  if (!check(counter)) return false;
  if (counter >= next_) {
    if (next_ != 0) {
      // Words between the old top and the new one hold history from kWords words ago, which
      // is outside the window now: clear them. A jump of a full ring or more clears all.
      const uint64_t current_word = (next_ - 1) / kWordBits;
      const uint64_t steps = std::min<uint64_t>(counter / kWordBits - current_word, kWords);
      for (uint64_t i = 1; i <= steps; ++i) bitmap_[(current_word + i) & (kWords - 1)] = 0;
    }
    next_ = counter + 1;  // no overflow: counter < kRejectAfterMessages < UINT64_MAX
  }
  bitmap_[(counter / kWordBits) & (kWords - 1)] |= uint64_t(1) << (counter % kWordBits);
  return true;
}

void ReplayWindow::reset() noexcept {
  next_ = 0;
  bitmap_.fill(0);
}

}  // namespace slirpvpn::wireguard
