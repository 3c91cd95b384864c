// SPDX-License-Identifier: MIT
// One direction of the emulated WAN: loss, duplication, rate limit, delay, jitter, reordering.
//
// Theory of operation: impairments are decided when a datagram arrives, in this order:
//   loss     dropped with probability loss %;
//   dup      duplicated with probability dup % (the copy right behind the original);
//   rate     each copy goes through a token bucket (rate, burst); one that would wait longer
//            than rate_queue for tokens is dropped (the bottleneck buffer is full);
//   reorder  with probability reorder % a copy skips the delay and leaves as soon as the
//            bucket lets it, overtaking the datagrams in flight (netem's meaning of reorder);
//   delay    the others leave at departure + delay + uniform jitter in [-jitter, +jitter]
//            (clamped at the departure time). With reorder 0 no datagram leaves before the one
//            ahead of it (FIFO, like a real link whose delay varies); with reorder > 0 jittered
//            release times are independent, so jitter reorders too.
// So every release time is known on arrival and the direction is a DelayLine. Time is an
// argument (no clock is read here) and randomness comes from a seeded Rng, so a run repeats.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "delay_line.h"
#include "rng.h"
#include "wanem_clock.h"

namespace slirpvpn::wanem {

struct PathConfig {
  Nanos delay{0};
  Nanos jitter{0};
  double loss_percent = 0;
  double duplicate_percent = 0;
  double reorder_percent = 0;
  double rate_mbit = 0;    // 0: no rate limit
  double burst_bytes = 0;  // 0: 1 ms worth of rate, at least 3000 bytes (two full datagrams)
  Nanos rate_queue = std::chrono::milliseconds(50);
  size_t queue_bytes = size_t{64} << 20;  // 1 Gbit/s x 100 ms one way is 12.5 MB
};

struct PathCounters {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t duplicated = 0, reordered = 0;
  uint64_t drop_loss = 0, drop_rate = 0, drop_queue = 0, drop_send = 0;
  uint64_t drop_no_mapping = 0, drop_foreign = 0;
  uint64_t stalls = 0, max_queue_bytes = 0, max_queue_packets = 0;

  // "key=value ..." on one line, for the stats output that scripts parse.
  std::string format() const;
};

// Not thread-safe.
class Path {
 public:
  Path(const PathConfig& config, uint64_t seed);

  // A datagram arrived at `now` from mapping `peer`: impair it and queue what survives.
  // Returns the number of copies queued (0, 1 or 2). Counts every outcome.
  int admit(TimePoint now, uint16_t peer, std::span<const uint8_t> data) noexcept;

  DelayLine& line() noexcept { return line_; }
  const DelayLine& line() const noexcept { return line_; }
  PathCounters& counters() noexcept { return counters_; }
  const PathCounters& counters() const noexcept { return counters_; }
  const PathConfig& config() const noexcept { return config_; }

 private:
  PathConfig config_;
  Rng rng_;
  std::optional<TokenBucket> bucket_;
  DelayLine line_;
  PathCounters counters_;
  TimePoint last_release_{};
};

}  // namespace slirpvpn::wanem
