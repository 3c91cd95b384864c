// SPDX-License-Identifier: MIT
// Token-bucket shaper with a bounded bottleneck queue, in exact integer arithmetic.
#include "net/token_bucket.h"

#include <algorithm>

#include "common/assert.h"

namespace slirpvpn::net {

TokenBucket::TokenBucket(uint64_t bytes_per_second, uint64_t burst_bytes, Nanos max_wait) noexcept
    : rate_(bytes_per_second),
      burst_(burst_bytes * kScale),
      max_wait_(max_wait),
      tokens_(burst_bytes * kScale) {
  // Bounds keep every product below 2^64: burst <= 1e9 bytes, rate <= 1e12 bytes/s.
  SLIRPVPN_ASSERT(bytes_per_second > 0 && bytes_per_second <= 1'000'000'000'000);
  SLIRPVPN_ASSERT(burst_bytes > 0 && burst_bytes <= 1'000'000'000);
}

std::optional<TimePoint> TokenBucket::schedule(TimePoint now, size_t length) noexcept {
  const TimePoint start = std::max(now, at_);
  uint64_t tokens = tokens_;
  if (start > at_) {
    const uint64_t elapsed = uint64_t((start - at_).count());
    const uint64_t missing = burst_ - tokens;
    // Compare by division first: a long idle time times the rate would overflow.
    tokens = elapsed >= missing / rate_ + 1 ? burst_ : std::min(burst_, tokens + elapsed * rate_);
  }
  const uint64_t need = uint64_t(length) * kScale;
  TimePoint depart = start;
  if (tokens >= need) {
    tokens -= need;
  } else {
    const uint64_t wait = (need - tokens + rate_ - 1) / rate_;  // round up: never early
    depart += Nanos(int64_t(wait));
    tokens = std::min(burst_, tokens + wait * rate_ - need);
  }
  if (depart - now > max_wait_) return std::nullopt;
  tokens_ = tokens;
  at_ = depart;
  return depart;
}

}  // namespace slirpvpn::net
