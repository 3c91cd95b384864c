// SPDX-License-Identifier: MIT
// The delay line of one direction: datagrams waiting for their release time, preallocated.
//
// Theory of operation: datagrams are copied on arrival into a byte ring as records
// (header + payload padded to 16 bytes), in arrival order; the ring is allocated once, so
// nothing is allocated per datagram and a datagram that does not fit is refused (the caller
// drops and counts it). In FIFO mode release times never decrease along the ring, so the
// next datagram due is always the oldest. In reorder mode a binary heap of (release, offset,
// arrival sequence) picks the next one and the ring's tail advances past records already sent;
// the heap's storage is also reserved up front (one entry per smallest possible record).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "wanem_clock.h"

namespace slirpvpn::wanem {

// A datagram handed out by take_due(). `data` points into the ring and stays valid until
// done() is called for it.
struct Datagram {
  TimePoint release;
  uint16_t peer = 0;
  std::span<const uint8_t> data;
  uint32_t offset = 0;  // the record's place in the ring
  uint32_t sequence = 0;
};

// Not thread-safe. Every datagram returned by take_due() must be passed to done() (sent or
// dropped) or put_back() (not sent yet) before the next take_due().
class DelayLine {
 public:
  static constexpr size_t kHeaderBytes = 16;
  static constexpr size_t kMaxDatagram = 65535;

  // capacity_bytes is rounded down to 16 and clamped to 4 GiB - 16. `ordered`: FIFO mode,
  // push() release times must not decrease.
  DelayLine(size_t capacity_bytes, bool ordered);

  // Queues a copy of `data` (at most kMaxDatagram bytes). False when it does not fit.
  [[nodiscard]] bool push(TimePoint release, uint16_t peer, std::span<const uint8_t> data) noexcept;

  // Release time of the next datagram due; nothing when empty.
  std::optional<TimePoint> next_release() const noexcept;

  // Fills `out` with datagrams due at or before `until`, in release order (ties: arrival
  // order); returns how many.
  size_t take_due(TimePoint until, std::span<Datagram> out) noexcept;
  void done(const Datagram& datagram) noexcept;
  // Datagrams taken but not sent, in the order taken: they are due again first.
  void put_back(std::span<const Datagram> datagrams) noexcept;

  size_t packets() const noexcept { return stored_; }
  size_t bytes_used() const noexcept { return used_; }
  size_t capacity() const noexcept { return capacity_; }
  bool ordered() const noexcept { return ordered_; }

  static constexpr size_t record_size(size_t length) noexcept {
    return kHeaderBytes + ((length + 15) & ~size_t{15});
  }

 private:
  struct Header {
    int64_t release_ns;
    uint32_t length;
    uint16_t peer;
    uint16_t flags;
  };
  static_assert(sizeof(Header) == kHeaderBytes);
  struct HeapEntry {
    int64_t release_ns;
    uint32_t offset;
    uint32_t sequence;
  };

  Header header_at(uint32_t offset) const noexcept;
  void set_flags(uint32_t offset, uint16_t flags) noexcept;
  Datagram datagram_at(uint32_t offset, uint32_t sequence) const noexcept;
  void reclaim() noexcept;
  uint32_t first_record() const noexcept;  // the tail, past a wrap marker

  std::unique_ptr<uint8_t[]> ring_;
  uint32_t capacity_;
  bool ordered_;
  uint32_t head_ = 0;            // where the next record goes
  uint32_t tail_ = 0;            // the oldest record not yet reclaimed
  size_t used_ = 0;              // bytes between tail and head, wrap waste included
  size_t stored_ = 0;            // records not reclaimed, sent-but-unreclaimed ones included
  std::vector<HeapEntry> heap_;  // reorder mode only; capacity reserved up front
  uint32_t sequence_ = 0;
  int64_t last_release_ns_ = INT64_MIN;
};

}  // namespace slirpvpn::wanem
