// SPDX-License-Identifier: MIT
// The producer's side of a PacketRing shared by many peers: it keeps the ring at most half full
// and holds the rest in per-peer queues (net::RoundRobinQueues) that refill it round-robin, so a
// peer's packet waits behind half a ring and one packet per busy peer, not behind another
// peer's whole backlog.
//
// Theory of operation
//   push() puts a packet straight into the ring while nothing is queued and the ring holds less
//   than half its slots (the common, uncongested case: one copy, as without the queues);
//   otherwise the packet joins its peer's queue, behind that peer's earlier packets. Every
//   kFeedBatch pushes, and whenever the owner calls feed(), queued packets move into the ring
//   one peer after another until it is half full again, and the ring is published.
//   A producer thread with packets queued may block only after prepare_wait(): the ring then
//   wakes it (its consumer's release() says so) once it has drained to a quarter, before it can
//   run dry.
//   Overflow and drops are the queues' (dropped()): the longest queue loses its oldest packet.
// Thread-safety: the ring's producer thread only; dropped() from any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/packet_ring.h"
#include "net/round_robin_queues.h"

namespace slirpvpn::net {

class RingFeed {
 public:
  static constexpr std::size_t kFeedBatch = 64;

  // `queue_slots` packets of the ring's slot size may wait in the queues (allocated here).
  RingFeed(PacketRing& ring, std::size_t queue_slots);

  void reserve_ids(std::size_t count) { queues_.reserve_ids(count); }

  // Offers one packet of peer `id`. True when a feed published packets and the consumer sleeps:
  // the caller must wake it.
  [[nodiscard]] bool push(uint32_t id, uint32_t generation,
                          std::span<const uint8_t> packet) noexcept;
  // Refills the ring from the queues and publishes; true as for push().
  [[nodiscard]] bool feed() noexcept;
  // Before the producer blocks: false when it must not (packets wait and the ring has room for
  // them now: feed() instead); true when nothing waits or the ring will wake it.
  [[nodiscard]] bool prepare_wait() noexcept {
    return queues_.empty() || ring_.prepare_wait_for_space();
  }
  // The producer is awake again.
  void woke() noexcept { ring_.space_wait_over(); }

  std::size_t queued() const noexcept { return queues_.queued(); }
  uint64_t dropped() const noexcept { return queues_.dropped(); }
  uint64_t dropped(uint32_t id) const noexcept { return queues_.dropped(id); }
  void reset_drops(uint32_t id) noexcept { queues_.reset_drops(id); }

 private:
  PacketRing& ring_;
  RoundRobinQueues queues_;
  const std::size_t target_;
  std::size_t pushed_since_feed_ = 0;
};

}  // namespace slirpvpn::net
