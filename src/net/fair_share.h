// SPDX-License-Identifier: MIT
// Fair admission of many peers' packets to one shared ring: when the ring runs nearly full, the
// peers that put more than an equal share into its current backlog are refused, the others
// still get in. One peer's bulk transfer then cannot fill the ring that every other peer's
// packets must pass through.
//
// Theory of operation
//   Above the high-water mark (set by the owner) a packet is refused when its peer already
//   pushed more than total/senders in the current epoch, or is the only peer that pushed in
//   it; below it every packet is admitted. An epoch starts whenever the backlog falls below half
//   the mark (or after 4 ring-fulls of pushes, so that old history fades); in it each peer's
//   pushes are counted. The light peers keep the slots above the mark to themselves, even one
//   whose last packet came before the epoch began, and two heavy peers are held to equal
//   counts. The refused packets are dropped and counted; TCP inside the tunnel backs off as
//   after any queue drop.
//   Small packets (kSmallPacket bytes at most: TCP ACKs, pings, DNS) of a refused peer still get
//   in up to 7/8 of the ring: they take a slot each but hardly any time, and dropping them would
//   stall the peer's own downloads (ACKs) and lose its pings behind its own upload.
//   Where the mark sits is a trade: the ring is FIFO, so a light peer's packet waits behind the
//   whole backlog below it, but a heavy flow that meets it early is cut back more often (see
//   Server for the two rings' marks).
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
  // `high_water` <= `capacity`: the backlog from which peers over their share are refused.
  FairShare(std::size_t capacity, std::size_t high_water) noexcept;

  void reserve_ids(std::size_t count);
  static constexpr std::size_t kSmallPacket = 256;

  // Whether peer `id` may add one packet of `bytes` to the ring, which holds `backlog` packets.
  [[nodiscard]] bool admit(uint32_t id, std::size_t backlog, std::size_t bytes) noexcept;

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
  std::size_t small_water_;  // where small packets of a refused peer stop
  uint64_t history_limit_;
  std::vector<Share> shares_;
  uint64_t epoch_ = 1;
  uint64_t epoch_pushed_ = 0;
  uint64_t epoch_senders_ = 0;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace slirpvpn::net
