// SPDX-License-Identifier: MIT
// Token-bucket shaper with a bounded bottleneck queue: computes when a packet may leave. Used
// by the server's per-peer rate limits (net::Shaper) and by the WAN emulator (tools/wanem).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "net/clock.h"

namespace slirpvpn::net {

using Nanos = std::chrono::nanoseconds;

// A FIFO bottleneck of `bytes_per_second` with a bucket `burst_bytes` deep (full at start).
// Datagrams are scheduled on arrival: schedule() returns the departure time (>= now), or
// nothing when the datagram would wait longer than `max_wait` (the bottleneck buffer is full;
// such a datagram is not charged). Arrival times must not decrease. Integer arithmetic
// (tokens in byte-nanoseconds-per-second), so the long-run rate is exact: no datagram leaves
// before the bucket holds its length. Not thread-safe.
class TokenBucket {
 public:
  TokenBucket(uint64_t bytes_per_second, uint64_t burst_bytes, Nanos max_wait) noexcept;

  std::optional<TimePoint> schedule(TimePoint now, size_t length) noexcept;

 private:
  static constexpr uint64_t kScale = 1'000'000'000;  // tokens are bytes x kScale

  uint64_t rate_;   // bytes per second = scaled tokens gained per nanosecond
  uint64_t burst_;  // scaled
  Nanos max_wait_;
  // Tokens held at `at_`; `at_` runs ahead of the clock while datagrams wait, so each one starts
  // from where the one before it left (FIFO through the bottleneck).
  uint64_t tokens_;
  TimePoint at_{};
};

}  // namespace slirpvpn::net
