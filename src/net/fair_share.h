// SPDX-License-Identifier: MIT
// Fair admission of many peers' packets to one shared ring: when the ring runs nearly full, the
// peers that put more than an equal share into its current backlog are refused, the others
// still get in. One peer's bulk transfer then cannot fill the ring that every other peer's
// packets must pass through.
//
// Theory of operation
//   An epoch starts whenever the backlog falls below an eighth of the ring (or after 4
//   ring-fulls of pushes, so that old history fades). In an epoch each peer's pushes are
//   counted. Below the high-water mark (a quarter of the ring) every packet is admitted; above
//   it a packet is refused when its peer already pushed more than total/senders in this epoch,
//   or is the only peer that pushed in it. The mark is low because the ring is FIFO: a light
//   peer's packet waits behind the whole backlog, and a quarter of 4096 slots is about 8 ms of
//   the server's encryption at full speed (7/8 was 29 ms). The light peers keep the other
//   three quarters to themselves, even one whose last packet came before the epoch began, and
//   two heavy peers are held to equal counts. The refused packets are dropped and counted; TCP
//   inside the tunnel backs off as after any queue drop (a quarter of the ring is still far
//   more than a LAN flow's window of packets).
//   Ids are the server's peer indices; reserve_ids() sizes the table when a peer is added (off
//   the packet path), and an id past the table is admitted unconditionally.
// Thread-safety: one instance per ring, used by that ring's producer thread; refused() from any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace slirpvpn::net {

class FairShare {
 public:
  explicit FairShare(std::size_t capacity) noexcept;

  void reserve_ids(std::size_t count);
  // Whether peer `id` may add one packet to the ring, which holds `backlog` packets now.
  [[nodiscard]] bool admit(uint32_t id, std::size_t backlog) noexcept;

  // Any thread may read it (for stats); only the producer counts.
  uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

 private:
  struct Share {
    uint64_t epoch = 0;
    uint64_t pushed = 0;
  };

  void start_epoch() noexcept;

  std::size_t low_water_;
  std::size_t high_water_;
  uint64_t history_limit_;
  std::vector<Share> shares_;
  uint64_t epoch_ = 1;
  uint64_t epoch_pushed_ = 0;
  uint64_t epoch_senders_ = 0;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace slirpvpn::net
