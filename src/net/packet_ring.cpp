// SPDX-License-Identifier: MIT
// The single-producer single-consumer packet ring: batched index publication and the two wait
// flags.
#include "net/packet_ring.h"

#include <cstring>

#include "common/assert.h"

namespace slirpvpn::net {

PacketRing::PacketRing(std::size_t slots, std::size_t slot_bytes)
    : mask_(slots - 1),
      slot_bytes_(slot_bytes),
      headers_(new Header[slots]),
      bytes_(new uint8_t[slots * slot_bytes]) {
  SLIRPVPN_ASSERT(slots >= 2 && (slots & (slots - 1)) == 0 && slot_bytes > 0);
}

bool PacketRing::push(uint32_t peer, uint32_t generation,
                      std::span<const uint8_t> packet) noexcept {
  if (packet.size() > slot_bytes_) {
    dropped_oversize_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (tail_local_ - head_cached_ > mask_) {
    head_cached_ = head_.load(std::memory_order_acquire);
    if (tail_local_ - head_cached_ > mask_) {
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  const std::size_t index = tail_local_ & mask_;
  headers_[index] = Header{uint32_t(packet.size()), peer, generation};
  if (!packet.empty()) std::memcpy(&bytes_[index * slot_bytes_], packet.data(), packet.size());
  ++tail_local_;
  return true;
}

std::size_t PacketRing::backlog() noexcept {
  if (tail_local_ - head_cached_ >= slots() / 8) {
    head_cached_ = head_.load(std::memory_order_acquire);
  }
  return tail_local_ - head_cached_;
}

bool PacketRing::publish() noexcept {
  if (tail_local_ == tail_published_) return false;
  tail_published_ = tail_local_;
  tail_.store(tail_local_, std::memory_order_release);
  // Pairs with the fence in prepare_sleep(): either we see `sleeping_` or it sees our tail.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!sleeping_.load(std::memory_order_relaxed)) return false;
  return sleeping_.exchange(false, std::memory_order_relaxed);
}

const PacketRing::Packet* PacketRing::front() noexcept {
  if (head_local_ == tail_cached_) {
    tail_cached_ = tail_.load(std::memory_order_acquire);
    if (head_local_ == tail_cached_) return nullptr;
  }
  const std::size_t index = head_local_ & mask_;
  const Header& header = headers_[index];
  current_ = Packet{header.peer, header.generation,
                    std::span<const uint8_t>(&bytes_[index * slot_bytes_], header.length)};
  return &current_;
}

bool PacketRing::release() noexcept {
  if (head_local_ == head_released_) return false;
  head_released_ = head_local_;
  head_.store(head_local_, std::memory_order_release);
  if (tail_cached_ - head_local_ > slots() / 4) return false;
  // Pairs with the fence in prepare_wait_for_space(): either we see the flag or it sees head_.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!space_wanted_.load(std::memory_order_relaxed)) return false;
  return space_wanted_.exchange(false, std::memory_order_relaxed);
}

bool PacketRing::prepare_wait_for_space() noexcept {
  space_wanted_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  head_cached_ = head_.load(std::memory_order_acquire);
  if (tail_local_ - head_cached_ > slots() / 4) return true;
  space_wanted_.store(false, std::memory_order_relaxed);
  return false;
}

bool PacketRing::prepare_sleep() noexcept {
  sleeping_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  tail_cached_ = tail_.load(std::memory_order_acquire);
  if (head_local_ == tail_cached_) return true;
  sleeping_.store(false, std::memory_order_relaxed);
  return false;
}

}  // namespace slirpvpn::net
