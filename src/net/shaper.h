// SPDX-License-Identifier: MIT
// A rate shaper for one direction of one peer: packets over the rate wait in a bounded queue
// and leave when the token bucket allows, instead of being dropped at once.
//
// Theory of operation
//   Each offered packet is scheduled by a net::TokenBucket, which knows when the packet may
//   leave given every packet before it. A packet that may leave now, with nothing queued ahead
//   of it, is passed straight back to the caller (kSend, no copy). Any other is copied into a
//   fixed slot of the queue with its departure time (kQueued), or dropped when it would wait
//   longer than `max_wait` or no slot is free (kDropped); the owner counts the verdicts.
//   release() hands out the queued packets whose time has come, oldest first; next_release()
//   tells the owner's timer when to call it again.
//   Why a queue: a TCP sender sends its window in bursts. A policer that drops everything over
//   the rate at once meets each burst with a run of losses, and slirp's TCP (Reno, 1 s minimum
//   retransmission timeout) collapsed to a few Mbit/s under one at 40 Mbit/s. Delaying the
//   burst paces the flow at the rate; only a queue `max_wait` deep overflows, and then TCP
//   backs off as at any bottleneck.
//   Slots are allocated once, by the constructor (capacity x slot_bytes), none per packet.
// Thread-safety: none; one owner thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "net/clock.h"
#include "net/token_bucket.h"

namespace slirpvpn::net {

class Shaper {
 public:
  enum class Verdict { kSend, kQueued, kDropped };

  // No rate: every packet is passed at once (kSend).
  Shaper() = default;
  // `bytes_per_second` > 0; `burst_bytes` may leave back to back after an idle spell; at most
  // `capacity` packets of up to `slot_bytes` wait, none longer than `max_wait`.
  Shaper(uint64_t bytes_per_second, uint64_t burst_bytes, Nanos max_wait, std::size_t capacity,
         std::size_t slot_bytes);
  Shaper(Shaper&&) noexcept = default;
  Shaper& operator=(Shaper&&) noexcept = default;

  bool limited() const noexcept { return bucket_.has_value(); }

  // kSend: the caller sends `packet` now. kQueued: copied; it comes out of release().
  // kDropped: over the queue's bound, or larger than a slot and unable to leave now. The caller
  // counts the verdicts.
  Verdict offer(std::span<const uint8_t> packet, TimePoint now) noexcept;

  // Calls send(std::span<const uint8_t>) for each queued packet due at `now`, oldest first;
  // returns how many. `send` must not offer to this shaper.
  template <typename Send>
  std::size_t release(TimePoint now, Send&& send) noexcept {
    std::size_t sent = 0;
    while (count_ > 0 && slots_[head_].depart <= now) {
      const Slot& slot = slots_[head_];
      send(std::span<const uint8_t>(bytes_.get() + head_ * slot_bytes_, slot.length));
      head_ = (head_ + 1) % capacity_;
      --count_;
      ++sent;
    }
    return sent;
  }

  // When the oldest queued packet may leave; TimePoint::max() when none waits.
  TimePoint next_release() const noexcept {
    return count_ == 0 ? TimePoint::max() : slots_[head_].depart;
  }
  std::size_t queued() const noexcept { return count_; }

 private:
  struct Slot {
    TimePoint depart{};
    uint32_t length = 0;
  };

  std::optional<TokenBucket> bucket_;
  std::size_t capacity_ = 0;
  std::size_t slot_bytes_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint8_t[]> bytes_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace slirpvpn::net
