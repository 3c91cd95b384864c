// SPDX-License-Identifier: MIT
// One direction of the emulated WAN: decides each datagram's fate and release time.
#include "path.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace slirpvpn::wanem {

std::string PathCounters::format() const {
  return fmt::format(
      "rx_pkts={} rx_bytes={} tx_pkts={} tx_bytes={} dup={} reordered={} drop_loss={} "
      "drop_rate={} drop_queue={} drop_send={} drop_nomap={} drop_foreign={} stalls={} "
      "max_queue_bytes={} max_queue_pkts={}",
      rx_packets, rx_bytes, tx_packets, tx_bytes, duplicated, reordered, drop_loss, drop_rate,
      drop_queue, drop_send, drop_no_mapping, drop_foreign, stalls, max_queue_bytes,
      max_queue_packets);
}

Path::Path(const PathConfig& config, uint64_t seed)
    : config_(config), rng_(seed), line_(config.queue_bytes, config.reorder_percent <= 0) {
  if (config_.rate_mbit > 0) {
    const double bytes_per_second = std::max(1.0, std::round(config_.rate_mbit * 1e6 / 8));
    double burst = config_.burst_bytes;
    if (burst <= 0) burst = std::max(bytes_per_second / 1000, 3000.0);
    config_.burst_bytes = std::min(std::round(burst), 1e9);
    bucket_.emplace(uint64_t(bytes_per_second), uint64_t(config_.burst_bytes), config_.rate_queue);
  }
}

int Path::admit(TimePoint now, uint16_t peer, std::span<const uint8_t> data) noexcept {
  ++counters_.rx_packets;
  counters_.rx_bytes += data.size();
  if (rng_.chance(config_.loss_percent)) {
    ++counters_.drop_loss;
    return 0;
  }
  int copies = 1;
  if (rng_.chance(config_.duplicate_percent)) {
    copies = 2;
    ++counters_.duplicated;
  }
  int queued = 0;
  for (int i = 0; i < copies; ++i) {
    TimePoint depart = now;
    if (bucket_) {
      const auto when = bucket_->schedule(now, data.size());
      if (!when) {
        ++counters_.drop_rate;
        continue;
      }
      depart = *when;
    }
    TimePoint release = depart;
    if (rng_.chance(config_.reorder_percent)) {
      ++counters_.reordered;
    } else {
      release += config_.delay;
      if (config_.jitter.count() > 0) {
        const double offset = (rng_.uniform() * 2 - 1) * double(config_.jitter.count());
        release = std::max(depart, release + Nanos(int64_t(offset)));
      }
      if (line_.ordered()) release = std::max(release, last_release_);
    }
    if (!line_.push(release, peer, data)) {
      ++counters_.drop_queue;
      continue;
    }
    last_release_ = std::max(last_release_, release);
    ++queued;
    counters_.max_queue_bytes = std::max<uint64_t>(counters_.max_queue_bytes, line_.bytes_used());
    counters_.max_queue_packets = std::max<uint64_t>(counters_.max_queue_packets, line_.packets());
  }
  return queued;
}

}  // namespace slirpvpn::wanem
