// SPDX-License-Identifier: MIT
// Equal shares of a ring's backlog among the peers that use it (see fair_share.h).
#include "net/fair_share.h"

#include <algorithm>

namespace slirpvpn::net {

FairShare::FairShare(std::size_t capacity, std::size_t high_water) noexcept
    : low_water_(high_water / 2),
      high_water_(high_water),
      small_water_(std::max(high_water, capacity - capacity / 8)),
      history_limit_(uint64_t(capacity) * 4) {}

void FairShare::reserve_ids(std::size_t count) {
  if (shares_.size() < count) shares_.resize(count);
}

void FairShare::start_epoch() noexcept {
  ++epoch_;
  epoch_pushed_ = 0;
  epoch_senders_ = 0;
}

bool FairShare::admit(uint32_t id, std::size_t backlog, std::size_t bytes) noexcept {
  if (epoch_pushed_ > 0 && (backlog < low_water_ || epoch_pushed_ >= history_limit_)) {
    start_epoch();
  }
  if (id >= shares_.size()) return true;
  Share& share = shares_[id];
  if (share.epoch != epoch_) {
    share.epoch = epoch_;
    share.pushed = 0;
    ++epoch_senders_;
  }
  // pushed > total / senders, without the division. A peer alone in the epoch that has pushed
  // in it stops at the high-water mark too: a light peer that has not sent since the epoch
  // began (a ping a second) must still find room.
  const bool over_share =
      epoch_senders_ == 1 ? share.pushed > 0 : share.pushed * epoch_senders_ > epoch_pushed_;
  const bool small = bytes <= kSmallPacket && backlog < small_water_;
  if (backlog >= high_water_ && over_share && !small) {
    refused_.store(refused_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  ++share.pushed;
  ++epoch_pushed_;
  return true;
}

}  // namespace slirpvpn::net
