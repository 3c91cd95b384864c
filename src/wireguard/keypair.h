// SPDX-License-Identifier: MIT
// Transport keypairs of one peer and their rotation (current / previous / next), as the
// Linux kernel's noise.c add_new_keypair and received_with_keypair.
//
// Theory of operation
//   An initiator's new keypair is usable at once (the response proved the peer has it): it
//   becomes current, the old current becomes previous. A responder's new keypair waits in
//   `next` until the first transport packet arrives on it (the initiator's confirmation);
//   then it becomes current. Keeping `previous` lets packets in flight across a rekey still
//   decrypt. Every keypair dropped here hands back its local index so the device can free it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "crypto/secret.h"
#include "wireguard/constants.h"
#include "wireguard/handshake.h"
#include "wireguard/replay_window.h"

namespace slirpvpn::wireguard {

struct Keypair {
  crypto::SymmetricKey sending;
  crypto::SymmetricKey receiving;
  uint64_t sending_counter = 0;  // the next nonce to use
  ReplayWindow replay;
  TimePoint birth{};
  bool initiator = false;
  uint32_t local_index = 0;
  uint32_t remote_index = 0;

  static Keypair from(DerivedKeys&& keys, TimePoint now) noexcept;
  // Past REJECT_AFTER_TIME, or its sending counter exhausted (§6.1).
  bool expired(TimePoint now) const noexcept;
};

// Local indices freed by an operation; 0 entries are unused (0 is never allocated).
using ReleasedIndices = std::array<uint32_t, 3>;

// Not thread-safe; the peer's owner serialises access.
class Keypairs {
 public:
  ReleasedIndices add(Keypair&& keypair) noexcept;
  // The keypair whose local index is `local_index`, or nullptr.
  Keypair* find(uint32_t local_index) noexcept;
  // A packet authenticated on `keypair`: when it is `next`, promote it. True when promoted
  // (the responder's handshake is now complete).
  bool confirm(const Keypair* keypair, ReleasedIndices& released) noexcept;
  ReleasedIndices clear() noexcept;

  Keypair* current() noexcept { return current_ ? &*current_ : nullptr; }
  const Keypair* current() const noexcept { return current_ ? &*current_ : nullptr; }
  bool has_next() const noexcept { return next_.has_value(); }

 private:
  std::optional<Keypair> previous_;
  std::optional<Keypair> current_;
  std::optional<Keypair> next_;
};

}  // namespace slirpvpn::wireguard
