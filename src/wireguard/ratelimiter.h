// SPDX-License-Identifier: MIT
// Handshake flood defence (whitepaper §5.3, issue 8): the work budget, the "under load"
// switch, and the per-source initiation limiter with a fixed-size table.
//
// Theory of operation
//   A handshake message whose mac1 verifies is *demand*; one about to cost Diffie-Hellman work
//   is *work*. HandshakeGuard keeps two token buckets over them:
//   - demand: when handshake messages arrive faster than `demand_per_second` (after a burst),
//     the device is under load, and stays so for `under_load_hold` after the last time the
//     bucket ran dry (wireguard-go keeps UnderLoadAfterTime = 1 s the same way). Messages
//     answered with cookie replies still count as demand, so a flood keeps the switch on.
//   - work: at most `work_per_second` messages a second (after a burst) go on to DH work, under
//     load or not; the rest are dropped. This bounds the CPU a flood of messages with valid
//     mac2 from many addresses can take from the data path; transport data never passes here.
//   Under load a message's source must be within its share first: SourceRateLimiter allows
//   `per_source_per_second` (burst `per_source_burst`) per IPv4 address or IPv6 /64, as
//   wireguard-go's ratelimiter.go (20/s, burst 5). Only then is mac2 checked, and a message
//   without a valid one gets a cookie reply (which costs no DH). Limiting before the cookie
//   reply (the kernel and wireguard-go limit only messages with a valid mac2) is what keeps a
//   flood from one address cheap: measured with tests/integration/server_handshake_flood.sh,
//   answering every initiation of a 96 000 datagram/s flood with a cookie reply took the
//   server's core and left the honest transfer 29 % of its throughput.
//   The limiter's table is fixed-size and set-associative: a new source replaces the least
//   recently seen entry of its set. Memory never grows, there is nothing to clean up, and a
//   flood from many (spoofed) sources can only evict entries: a looser limit for the evicted
//   ones, never a blocked honest source, and the work budget still bounds the DH work. So the
//   hash need not be keyed.
//
//   Not thread-safe: one per device, on the device's thread. No clock: time is a parameter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "wireguard/constants.h"
#include "wireguard/peer_address.h"

namespace slirpvpn::wireguard {

// Defaults from bench/handshakes.cpp: one core answers about 5000 initiations a second, so
// 2000 leaves the data path at least 60 % of the device's core during any flood; the burst of
// 64 (about 13 ms of work) keeps the delay a burst adds to packets behind it small. Demand
// above 1000 a second is far beyond honest peers (each rekeys every two minutes: that is
// 120 000 peers), so cookies switch on well before the work budget is spent.
struct HandshakeLimits {
  uint32_t work_per_second = 2000;
  uint32_t work_burst = 64;
  uint32_t demand_per_second = 1000;
  uint32_t demand_burst = 128;
  Duration under_load_hold = std::chrono::seconds(1);
  uint32_t per_source_per_second = 20;
  uint32_t per_source_burst = 5;
};

// A token bucket in time units: each event costs 1 s / rate; at most `burst` events at once.
class TokenBucket {
 public:
  TokenBucket(uint32_t per_second, uint32_t burst) noexcept;
  // Takes one token if there is one. `now` never goes backwards for the caller.
  bool take(TimePoint now) noexcept;

 private:
  Duration cost_;
  Duration capacity_;
  Duration tokens_;
  TimePoint last_{};
};

class SourceRateLimiter {
 public:
  static constexpr size_t kWays = 4;
  static constexpr size_t kSets = 1024;
  static constexpr size_t kCapacity = kWays * kSets;

  SourceRateLimiter(uint32_t per_second, uint32_t burst);
  // True when `source` (its address; the port is ignored) may go on now.
  bool allow(const PeerAddress& source, TimePoint now) noexcept;
  // Entries holding a source: never more than kCapacity.
  size_t entries_in_use() const noexcept;

 private:
  struct Entry {
    std::array<uint8_t, 9> key{};  // family, then 4 (IPv4) or 8 (IPv6 /64) address bytes
    bool used = false;
    Duration tokens{};
    TimePoint last{};
  };

  Duration cost_;
  Duration capacity_;
  std::unique_ptr<Entry[]> entries_;  // kSets × kWays, allocated at the first allow()
};

// The device's handshake gatekeeper: demand, work and the per-source limit together.
class HandshakeGuard {
 public:
  explicit HandshakeGuard(const HandshakeLimits& limits = {});

  // A handshake message with a valid mac1 arrived; returns whether the device is under load.
  bool note_demand(TimePoint now) noexcept;
  bool under_load(TimePoint now) const noexcept { return now < under_load_until_; }
  // Under load: false when this source is over its share.
  bool allow_source(const PeerAddress& source, TimePoint now) noexcept {
    return sources_.allow(source, now);
  }
  // False when the second's handshake work is spent.
  bool take_work(TimePoint now) noexcept { return work_.take(now); }

 private:
  HandshakeLimits limits_;
  TokenBucket demand_;
  TokenBucket work_;
  SourceRateLimiter sources_;
  TimePoint under_load_until_{};
};

}  // namespace slirpvpn::wireguard
