// SPDX-License-Identifier: MIT
// Keypair rotation.
#include "wireguard/keypair.h"

namespace slirpvpn::wireguard {
namespace {

uint32_t index_of(const std::optional<Keypair>& slot) noexcept {
  return slot ? slot->local_index : 0;
}

}  // namespace

Keypair Keypair::from(DerivedKeys&& keys, TimePoint now) noexcept {
  Keypair keypair;
  keypair.sending = std::move(keys.sending);
  keypair.receiving = std::move(keys.receiving);
  keypair.birth = now;
  keypair.initiator = keys.initiator;
  keypair.local_index = keys.local_index;
  keypair.remote_index = keys.remote_index;
  return keypair;
}

bool Keypair::expired(TimePoint now) const noexcept {
  return now - birth >= kRejectAfterTime || sending_counter >= kRejectAfterMessages;
}

ReleasedIndices Keypairs::add(Keypair&& keypair) noexcept {
  ReleasedIndices released{};
  if (keypair.initiator) {
    if (next_) {
      // A pending next is demoted to previous; the current one is dropped.
      released = {index_of(previous_), index_of(current_), 0};
      previous_ = std::move(next_);
      next_.reset();
    } else {
      released = {index_of(previous_), 0, 0};
      previous_ = std::move(current_);
    }
    current_ = std::move(keypair);
  } else {
    released = {index_of(next_), index_of(previous_), 0};
    next_ = std::move(keypair);
    previous_.reset();
  }
  return released;
}

Keypair* Keypairs::find(uint32_t local_index) noexcept {
  for (auto* slot : {&current_, &previous_, &next_}) {
    if (*slot && (*slot)->local_index == local_index) return &**slot;
  }
  return nullptr;
}

bool Keypairs::confirm(const Keypair* keypair, ReleasedIndices& released) noexcept {
  released = {};
  if (!next_ || keypair != &*next_) return false;
  released[0] = index_of(previous_);
  previous_ = std::move(current_);
  current_ = std::move(next_);
  next_.reset();
  return true;
}

ReleasedIndices Keypairs::clear() noexcept {
  ReleasedIndices released = {index_of(previous_), index_of(current_), index_of(next_)};
  previous_.reset();
  current_.reset();
  next_.reset();
  return released;
}

}  // namespace slirpvpn::wireguard
