// SPDX-License-Identifier: MIT
// Per-peer queues over one slot pool, served round-robin (see round_robin_queues.h).
#include "net/round_robin_queues.h"

#include <cstring>

#include "common/assert.h"

namespace slirpvpn::net {

RoundRobinQueues::RoundRobinQueues(std::size_t slots, std::size_t slot_bytes)
    : slot_bytes_(slot_bytes), slots_(new Slot[slots]), bytes_(new uint8_t[slots * slot_bytes]) {
  SLIRPVPN_ASSERT(slots > 0 && slots < kNone && slot_bytes > 0);
  for (std::size_t i = 0; i + 1 < slots; ++i) slots_[i].next = uint32_t(i + 1);
  free_head_ = 0;
}

void RoundRobinQueues::reserve_ids(std::size_t count) {
  if (queues_.size() < count) queues_.resize(count);
}

std::size_t RoundRobinQueues::queued(uint32_t id) const noexcept {
  return id < queues_.size() ? queues_[id].count : 0;
}

uint64_t RoundRobinQueues::dropped(uint32_t id) const noexcept {
  return id < queues_.size() ? queues_[id].dropped : 0;
}

void RoundRobinQueues::reset_drops(uint32_t id) noexcept {
  if (id < queues_.size()) queues_[id].dropped = 0;
}

bool RoundRobinQueues::push(uint32_t id, uint32_t generation,
                            std::span<const uint8_t> packet) noexcept {
  if (packet.size() > slot_bytes_ || id >= queues_.size()) {
    count_drop();
    return false;
  }
  if (free_head_ == kNone) drop_from_longest();
  const uint32_t index = free_head_;
  Slot& slot = slots_[index];
  free_head_ = slot.next;
  slot = Slot{kNone, uint32_t(packet.size()), generation};
  if (!packet.empty()) std::memcpy(&bytes_[index * slot_bytes_], packet.data(), packet.size());
  ++used_;
  Queue& queue = queues_[id];
  if (queue.count == 0) {
    queue.head = index;
    append_to_round(id);
  } else {
    slots_[queue.tail].next = index;
  }
  queue.tail = index;
  ++queue.count;
  return true;
}

RoundRobinQueues::Packet RoundRobinQueues::front() const noexcept {
  const uint32_t index = queues_[round_head_].head;
  const Slot& slot = slots_[index];
  return Packet{round_head_, slot.generation,
                std::span<const uint8_t>(&bytes_[index * slot_bytes_], slot.length)};
}

void RoundRobinQueues::pop() noexcept {
  const uint32_t id = round_head_;
  Queue& queue = queues_[id];
  round_head_ = queue.next_in_round;
  if (round_head_ == kNone) round_tail_ = kNone;
  queue.next_in_round = kNone;
  drop_head(id);
  if (queue.count > 0) append_to_round(id);
}

void RoundRobinQueues::drop_head(uint32_t id) noexcept {
  Queue& queue = queues_[id];
  const uint32_t index = queue.head;
  queue.head = slots_[index].next;
  if (--queue.count == 0) queue.tail = kNone;
  slots_[index].next = free_head_;
  free_head_ = index;
  --used_;
}

void RoundRobinQueues::drop_from_longest() noexcept {
  uint32_t longest = round_head_;
  uint32_t before_longest = kNone;
  for (uint32_t previous = round_head_, id = queues_[round_head_].next_in_round; id != kNone;
       previous = id, id = queues_[id].next_in_round) {
    if (queues_[id].count > queues_[longest].count) {
      longest = id;
      before_longest = previous;
    }
  }
  drop_head(longest);
  ++queues_[longest].dropped;
  count_drop();
  if (queues_[longest].count > 0) return;
  // Its only packet is gone: it leaves the round.
  const uint32_t after = queues_[longest].next_in_round;
  queues_[longest].next_in_round = kNone;
  if (before_longest == kNone) {
    round_head_ = after;
  } else {
    queues_[before_longest].next_in_round = after;
  }
  if (round_tail_ == longest) round_tail_ = before_longest;
}

void RoundRobinQueues::append_to_round(uint32_t id) noexcept {
  if (round_tail_ == kNone) {
    round_head_ = id;
  } else {
    queues_[round_tail_].next_in_round = id;
  }
  round_tail_ = id;
}

}  // namespace slirpvpn::net
