// SPDX-License-Identifier: MIT
// Token buckets for handshake work and demand, and the per-source initiation limiter.
#include "wireguard/ratelimiter.h"

#include <algorithm>

namespace slirpvpn::wireguard {
namespace {

Duration cost_of(uint32_t per_second) noexcept {
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(1)) /
         std::max<uint32_t>(per_second, 1);
}

// Refills `tokens` for the time since `last`, then takes one event's `cost` if there is one.
bool refill_and_take(Duration& tokens, TimePoint& last, Duration cost, Duration capacity,
                     TimePoint now) noexcept {
  if (now > last) {
    // Clamp before adding: the first call sees the whole steady clock as elapsed time.
    tokens = std::min(capacity, tokens + std::min(capacity, now - last));
    last = now;
  }
  if (tokens < cost) return false;
  tokens -= cost;
  return true;
}

}  // namespace

TokenBucket::TokenBucket(uint32_t per_second, uint32_t burst) noexcept
    : cost_(cost_of(per_second)),
      capacity_(cost_ * std::max<uint32_t>(burst, 1)),
      tokens_(capacity_) {}

bool TokenBucket::take(TimePoint now) noexcept {
  return refill_and_take(tokens_, last_, cost_, capacity_, now);
}

SourceRateLimiter::SourceRateLimiter(uint32_t per_second, uint32_t burst)
    : cost_(cost_of(per_second)), capacity_(cost_ * std::max<uint32_t>(burst, 1)) {}

bool SourceRateLimiter::allow(const PeerAddress& source, TimePoint now) noexcept {
  // One IPv6 user usually holds a whole /64: it is one source, as in wireguard-go.
  std::array<uint8_t, 9> key{};
  key[0] = source.family;
  const size_t length = source.family == 6 ? 8 : 4;
  std::copy_n(source.address.begin(), length, key.begin() + 1);
  // FNV-1a, unkeyed: a crafted collision only evicts (see the header).
  uint32_t hash = 2166136261u;
  for (uint8_t byte : key) hash = (hash ^ byte) * 16777619u;
  // The table appears the first time a device is under load: every client and each of a test
  // tool's simulated peers is a Device too, and 128 KiB for each of them would be waste.
  if (!entries_) entries_ = std::make_unique<Entry[]>(kCapacity);
  Entry* set = &entries_[(hash % kSets) * kWays];

  Entry* oldest = &set[0];
  for (size_t way = 0; way < kWays; ++way) {
    Entry& entry = set[way];
    if (entry.used && entry.key == key) {
      return refill_and_take(entry.tokens, entry.last, cost_, capacity_, now);
    }
    if (!entry.used || (oldest->used && entry.last < oldest->last)) oldest = &entry;
  }
  // A new source starts with a full bucket, less this message.
  *oldest = Entry{key, true, capacity_ - cost_, now};
  return true;
}

size_t SourceRateLimiter::entries_in_use() const noexcept {
  if (!entries_) return 0;
  return size_t(std::count_if(entries_.get(), entries_.get() + kCapacity,
                              [](const Entry& entry) { return entry.used; }));
}

HandshakeGuard::HandshakeGuard(const HandshakeLimits& limits)
    : limits_(limits),
      demand_(limits.demand_per_second, limits.demand_burst),
      work_(limits.work_per_second, limits.work_burst),
      sources_(limits.per_source_per_second, limits.per_source_burst) {}

bool HandshakeGuard::note_demand(TimePoint now) noexcept {
  if (!demand_.take(now)) under_load_until_ = now + limits_.under_load_hold;
  return under_load(now);
}

}  // namespace slirpvpn::wireguard
