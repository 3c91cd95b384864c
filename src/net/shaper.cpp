// SPDX-License-Identifier: MIT
#include "net/shaper.h"

#include <cstring>

#include "common/assert.h"

namespace slirpvpn::net {

Shaper::Shaper(uint64_t bytes_per_second, uint64_t burst_bytes, Nanos max_wait,
               std::size_t capacity, std::size_t slot_bytes)
    : bucket_(std::in_place, bytes_per_second, burst_bytes, max_wait),
      capacity_(capacity),
      slot_bytes_(slot_bytes),
      slots_(std::make_unique<Slot[]>(capacity)),
      bytes_(std::make_unique<uint8_t[]>(capacity * slot_bytes)) {
  SLIRPVPN_ASSERT(capacity > 0 && slot_bytes > 0);
}

Shaper::Verdict Shaper::offer(std::span<const uint8_t> packet, TimePoint now) noexcept {
  if (!bucket_) return Verdict::kSend;
  const bool fits = packet.size() <= slot_bytes_;
  // Checked before the bucket is charged: a packet that cannot wait must not cost its tokens.
  if (count_ == capacity_ || (!fits && count_ > 0)) return Verdict::kDropped;
  const std::optional<TimePoint> depart = bucket_->schedule(now, packet.size());
  if (!depart) return Verdict::kDropped;
  if (*depart <= now && count_ == 0) return Verdict::kSend;
  // Too large to wait in a slot (its tokens stay spent: rare).
  if (!fits) return Verdict::kDropped;
  const std::size_t index = (head_ + count_) % capacity_;
  std::memcpy(bytes_.get() + index * slot_bytes_, packet.data(), packet.size());
  slots_[index] = Slot{*depart, uint32_t(packet.size())};
  ++count_;
  return Verdict::kQueued;
}

}  // namespace slirpvpn::net
