// SPDX-License-Identifier: MIT
// The delay line of one direction: a preallocated byte ring plus, for reordering, a heap.
#include "delay_line.h"

#include <algorithm>
#include <cstring>

#include "common/assert.h"

namespace slirpvpn::wanem {
namespace {

constexpr uint16_t kWrap = 1;  // the rest of the ring is unused: go on at offset 0
constexpr uint16_t kDone = 2;  // sent or dropped; reclaimable once it reaches the tail

// Min-heap on (release, sequence); the sequence compares modulo 2^32 so it may wrap.
struct Later {
  template <typename E>
  bool operator()(const E& a, const E& b) const noexcept {
    if (a.release_ns != b.release_ns) return a.release_ns > b.release_ns;
    return int32_t(a.sequence - b.sequence) > 0;
  }
};

}  // namespace

DelayLine::DelayLine(size_t capacity_bytes, bool ordered)
    : capacity_(uint32_t(std::min<size_t>(capacity_bytes, 0xFFFFFFF0u) & ~size_t{15})),
      ordered_(ordered) {
  SLIRPVPN_ASSERT(capacity_ >= record_size(0));
  // Value-initialised: touching every page now keeps page faults out of a transfer.
  ring_ = std::make_unique<uint8_t[]>(capacity_);
  if (!ordered_) heap_.reserve(capacity_ / record_size(0));
}

DelayLine::Header DelayLine::header_at(uint32_t offset) const noexcept {
  Header h;
  std::memcpy(&h, ring_.get() + offset, sizeof h);
  return h;
}

void DelayLine::set_flags(uint32_t offset, uint16_t flags) noexcept {
  Header h = header_at(offset);
  h.flags = flags;
  std::memcpy(ring_.get() + offset, &h, sizeof h);
}

Datagram DelayLine::datagram_at(uint32_t offset, uint32_t sequence) const noexcept {
  const Header h = header_at(offset);
  return Datagram{TimePoint(Nanos(h.release_ns)), h.peer,
                  std::span<const uint8_t>(ring_.get() + offset + kHeaderBytes, h.length), offset,
                  sequence};
}

bool DelayLine::push(TimePoint release, uint16_t peer, std::span<const uint8_t> data) noexcept {
  SLIRPVPN_ASSERT(data.size() <= kMaxDatagram);
  const int64_t release_ns = release.time_since_epoch().count();
  SLIRPVPN_ASSERT(!ordered_ || release_ns >= last_release_ns_);
  const uint32_t need = uint32_t(record_size(data.size()));
  if (used_ == 0) head_ = tail_ = 0;
  uint32_t at = head_;
  bool wrap = false;
  if (used_ != 0 && head_ == tail_) return false;  // full
  if (head_ >= tail_) {                            // free: [head, capacity) and [0, tail)
    if (capacity_ - head_ < need) {
      if (need > tail_) return false;
      at = 0;
      wrap = true;
    }
  } else if (tail_ - head_ < need) {  // free: [head, tail)
    return false;
  }
  if (!ordered_ && heap_.size() == heap_.capacity()) return false;  // cannot happen; no realloc
  if (wrap) {
    // Records are 16-byte multiples, so at least a header's room is left for the marker.
    set_flags(head_, kWrap);
    used_ += capacity_ - head_;
  }
  const Header h{release_ns, uint32_t(data.size()), peer, 0};
  std::memcpy(ring_.get() + at, &h, sizeof h);
  if (!data.empty()) std::memcpy(ring_.get() + at + kHeaderBytes, data.data(), data.size());
  head_ = at + need;
  if (head_ == capacity_) head_ = 0;
  used_ += need;
  ++stored_;
  last_release_ns_ = release_ns;
  if (!ordered_) {
    heap_.push_back(HeapEntry{release_ns, at, sequence_++});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  return true;
}

uint32_t DelayLine::first_record() const noexcept {
  return (header_at(tail_).flags & kWrap) ? 0 : tail_;
}

std::optional<TimePoint> DelayLine::next_release() const noexcept {
  if (!ordered_) {
    if (heap_.empty()) return std::nullopt;
    return TimePoint(Nanos(heap_.front().release_ns));
  }
  if (stored_ == 0) return std::nullopt;
  return TimePoint(Nanos(header_at(first_record()).release_ns));
}

size_t DelayLine::take_due(TimePoint until, std::span<Datagram> out) noexcept {
  const int64_t until_ns = until.time_since_epoch().count();
  size_t n = 0;
  if (!ordered_) {
    while (n < out.size() && !heap_.empty() && heap_.front().release_ns <= until_ns) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      const HeapEntry e = heap_.back();
      heap_.pop_back();
      out[n++] = datagram_at(e.offset, e.sequence);
    }
    return n;
  }
  // FIFO: every stored record is pending (sent ones are reclaimed at once, in order).
  uint32_t offset = tail_;
  size_t left = stored_;
  while (n < out.size() && left > 0) {
    const Header h = header_at(offset);
    if (h.flags & kWrap) {
      offset = 0;
      continue;
    }
    if (h.release_ns > until_ns) break;
    out[n++] = datagram_at(offset, 0);
    --left;
    offset += uint32_t(record_size(h.length));
    if (offset == capacity_) offset = 0;
  }
  return n;
}

void DelayLine::done(const Datagram& datagram) noexcept {
  set_flags(datagram.offset, kDone);
  reclaim();
}

void DelayLine::put_back(std::span<const Datagram> datagrams) noexcept {
  if (ordered_) return;  // still at the tail, untouched
  for (const Datagram& d : datagrams) {
    heap_.push_back(HeapEntry{d.release.time_since_epoch().count(), d.offset, d.sequence});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
}

void DelayLine::reclaim() noexcept {
  while (used_ != 0) {
    const Header h = header_at(tail_);
    if (h.flags & kWrap) {
      used_ -= capacity_ - tail_;
      tail_ = 0;
      continue;
    }
    if (!(h.flags & kDone)) break;
    const uint32_t size = uint32_t(record_size(h.length));
    used_ -= size;
    tail_ += size;
    if (tail_ == capacity_) tail_ = 0;
    --stored_;
  }
  if (used_ == 0) head_ = tail_ = 0;
}

}  // namespace slirpvpn::wanem
