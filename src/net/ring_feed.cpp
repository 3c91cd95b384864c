// SPDX-License-Identifier: MIT
// A ring kept half full, fed round-robin from per-peer queues (see ring_feed.h).
#include "net/ring_feed.h"

namespace slirpvpn::net {

RingFeed::RingFeed(PacketRing& ring, std::size_t queue_slots)
    : ring_(ring), queues_(queue_slots, ring.slot_bytes()), target_(ring.slots() / 2) {}

bool RingFeed::push(uint32_t id, uint32_t generation, std::span<const uint8_t> packet) noexcept {
  // Straight into the ring only while nothing waits: a peer's packets keep their order, and a
  // waiting peer's turn comes before a newcomer's.
  if (queues_.empty() && ring_.backlog() < target_) {
    ring_.push(id, generation, packet);
  } else {
    queues_.push(id, generation, packet);
  }
  return ++pushed_since_feed_ >= kFeedBatch && feed();
}

bool RingFeed::feed() noexcept {
  pushed_since_feed_ = 0;
  while (!queues_.empty() && ring_.backlog() < target_) {
    const RoundRobinQueues::Packet packet = queues_.front();
    ring_.push(packet.peer, packet.generation, packet.bytes);
    queues_.pop();
  }
  return ring_.publish();
}

}  // namespace slirpvpn::net
