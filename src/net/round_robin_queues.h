// SPDX-License-Identifier: MIT
// One FIFO queue of packets per peer over a shared pool of fixed slots, served round-robin: the
// scheduler that decides whose packet goes next when more is waiting than the consumer takes.
//
// Theory of operation
//   The pool has `slots` slots of `slot_bytes` bytes, allocated by the constructor (the bytes
//   are touched only as far as traffic reaches). A free list and each queue are chains of slot
//   indices, so push and pop move no packet but the one copied in.
//   The round is a FIFO of the ids whose queues are not empty. pop() takes the front packet of
//   the id at the head of the round and moves that id to the back when it still has packets:
//   each waiting peer gets one packet per round, so a light peer's packet waits behind at most
//   one packet of each other peer, however long their queues are.
//   Overflow: when every slot is taken, the oldest packet of the longest queue is dropped to make
//   room (counted). The peer with the most buffered pays, never a light one, and dropping at the
//   head tells its TCP sooner than dropping the newest. Finding the longest queue walks the round,
//   which happens only while the pool is full.
//   Ids are the server's peer indices; reserve_ids() sizes the table when a peer is added (off
//   the packet path). A packet for an id past the table, or larger than a slot, is dropped and
//   counted.
// Thread-safety: one owning thread; dropped() may be read from any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "net/packet_ring.h"

namespace slirpvpn::net {

class RoundRobinQueues {
 public:
  // The same view of a packet as the rings give (`peer` is the id).
  using Packet = PacketRing::Packet;

  RoundRobinQueues(std::size_t slots, std::size_t slot_bytes);
  RoundRobinQueues(const RoundRobinQueues&) = delete;
  RoundRobinQueues& operator=(const RoundRobinQueues&) = delete;

  void reserve_ids(std::size_t count);

  bool empty() const noexcept { return round_head_ == kNone; }
  // Packets waiting, in all queues / in `id`'s.
  std::size_t queued() const noexcept { return used_; }
  std::size_t queued(uint32_t id) const noexcept;

  // Adds a packet at the back of `id`'s queue, making room as Overflow says. False (and counted)
  // when it is larger than a slot or `id` is past the table.
  bool push(uint32_t id, uint32_t generation, std::span<const uint8_t> packet) noexcept;
  // The packet whose turn it is; valid until the next push or pop. Not when empty().
  Packet front() const noexcept;
  // Removes front(); its queue goes to the back of the round when more of it waits.
  void pop() noexcept;

  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  // Packets of `id` dropped to make room (owning thread); reset_drops() when the id gets a new
  // peer.
  uint64_t dropped(uint32_t id) const noexcept;
  void reset_drops(uint32_t id) noexcept;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    uint32_t next = kNone;  // the next slot of the same queue, or of the free list
    uint32_t length = 0;
    uint32_t generation = 0;
  };
  struct Queue {
    uint32_t head = kNone;
    uint32_t tail = kNone;
    uint32_t count = 0;
    uint32_t next_in_round = kNone;
    uint64_t dropped = 0;
  };

  // Takes the head slot of `id`'s queue out of it (the queue must not be empty) and frees it.
  void drop_head(uint32_t id) noexcept;
  void drop_from_longest() noexcept;
  void append_to_round(uint32_t id) noexcept;
  void count_drop() noexcept {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  const std::size_t slot_bytes_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint8_t[]> bytes_;
  std::vector<Queue> queues_;
  uint32_t free_head_ = kNone;
  uint32_t round_head_ = kNone;
  uint32_t round_tail_ = kNone;
  std::size_t used_ = 0;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace slirpvpn::net
