// SPDX-License-Identifier: MIT
// A single-producer single-consumer ring of fixed packet slots that hands packets between two
// threads without locks, allocation or system calls.
//
// Theory of operation
// -------------------
// `slots` fixed slots (a power of two), each `slot_bytes` bytes plus a peer id, a generation and
// a length, all allocated by the constructor. Indices run free (size_t) and are masked.
//   Producer: push() copies a packet into the slot at its private tail; publish() makes every
//   pushed packet visible at once (one release store of tail_). A full ring or a packet larger
//   than a slot is dropped and counted: the producer never waits for the consumer (TCP inside
//   the tunnel retransmits, as after a full NIC queue).
//   Consumer: front()/pop() walk the published packets; release() hands the consumed slots back
//   at once (one release store of head_). Each side caches the other's index and reloads it
//   (acquire) only when its cache says empty/full, so a busy ring touches the shared line
//   once per batch, not per packet.
// Wake-up: a consumer about to block calls prepare_sleep(): it raises `sleeping_`, then
// re-checks for published packets (both with seq_cst fences); the producer's publish() stores
// tail_, then (seq_cst fence) reads `sleeping_` and tells its caller to wake the consumer only
// then. Of the two fences one sees the other's store, so a packet is never left unseen while
// the consumer sleeps, and a busy pipeline makes no wake-up system call.
// The same in the other direction, for a producer that holds packets back until the ring has
// room (a scheduler feeding it): prepare_wait_for_space() raises `space_wanted_` and re-checks
// that more than a quarter of the ring is still taken; the consumer's release() stores head_,
// then reads the flag once it has left a quarter of the ring or less, and tells its caller to
// wake the producer.
//
// Thread-safety: exactly one producer thread (push, publish, unpublished) and one consumer
// thread (front, pop, release, prepare_sleep, woke); prepare_wait_for_space and space_wait_over
// are the producer's; counters may be read from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace slirpvpn::net {

class PacketRing {
 public:
  struct Packet {
    uint32_t peer = 0;
    uint32_t generation = 0;
    std::span<const uint8_t> bytes;
  };

  // `slots` must be a power of two (asserted).
  PacketRing(std::size_t slots, std::size_t slot_bytes);
  PacketRing(const PacketRing&) = delete;
  PacketRing& operator=(const PacketRing&) = delete;

  std::size_t slots() const noexcept { return mask_ + 1; }
  std::size_t slot_bytes() const noexcept { return slot_bytes_; }

  // Producer. False (and counted) when the ring is full or the packet is larger than a slot.
  bool push(uint32_t peer, uint32_t generation, std::span<const uint8_t> packet) noexcept;
  // Packets pushed and not yet handed back by the consumer: exact from an eighth of a ring up (it
  // then reloads the consumer's index), below that an upper bound from the cached index.
  std::size_t backlog() noexcept;
  // Packets pushed since the last publish().
  std::size_t unpublished() const noexcept { return tail_local_ - tail_published_; }
  // Makes the pushed packets visible. True when the consumer is asleep and must be woken (the
  // flag is cleared: one wake-up per sleep).
  bool publish() noexcept;
  // Announces that the producer will block until the backlog falls to a quarter of the ring.
  // False (and not announced) when it is there already: push instead of sleeping.
  bool prepare_wait_for_space() noexcept;
  // The producer is awake again (after its wait returned).
  void space_wait_over() noexcept { space_wanted_.store(false, std::memory_order_relaxed); }

  // Consumer. The oldest published packet not yet popped, or nullptr; valid until pop().
  const Packet* front() noexcept;
  void pop() noexcept { ++head_local_; }
  // Hands the popped slots back to the producer. True when the producer waits for space and
  // must be woken (once per wait).
  bool release() noexcept;
  // Announces that the consumer will block. False (and not announced) when packets are
  // published already: consume them instead of sleeping.
  bool prepare_sleep() noexcept;
  // The consumer is awake again (after its wait returned).
  void woke() noexcept { sleeping_.store(false, std::memory_order_relaxed); }

  uint64_t dropped_full() const noexcept { return dropped_full_.load(std::memory_order_relaxed); }
  uint64_t dropped_oversize() const noexcept {
    return dropped_oversize_.load(std::memory_order_relaxed);
  }

 private:
  struct Header {
    uint32_t length = 0;
    uint32_t peer = 0;
    uint32_t generation = 0;
  };
  static constexpr std::size_t kCacheLine = 64;

  const std::size_t mask_;
  const std::size_t slot_bytes_;
  std::unique_ptr<Header[]> headers_;
  std::unique_ptr<uint8_t[]> bytes_;

  // Producer's line: its private tail, the last tail it published, its view of head_.
  alignas(kCacheLine) std::size_t tail_local_ = 0;
  std::size_t tail_published_ = 0;
  std::size_t head_cached_ = 0;
  std::atomic<uint64_t> dropped_full_{0};
  std::atomic<uint64_t> dropped_oversize_{0};
  // Consumer's line.
  alignas(kCacheLine) std::size_t head_local_ = 0;
  std::size_t head_released_ = 0;
  std::size_t tail_cached_ = 0;
  Packet current_;
  // Shared indices and the wake-up flag, each on its own line.
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};
  alignas(kCacheLine) std::atomic<bool> sleeping_{false};
  alignas(kCacheLine) std::atomic<bool> space_wanted_{false};
};

}  // namespace slirpvpn::net
