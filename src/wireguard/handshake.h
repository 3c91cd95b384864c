// SPDX-License-Identifier: MIT
// One peer's WireGuard handshake (whitepaper §5.4.2–5.4.5): Noise IKpsk2 plus indices,
// TAI64N replay protection and the initiation rate limit.
//
// Theory of operation
//   States:  zeroed ─create_initiation→ created_initiation ─consume_response→ consumed_response
//            zeroed ─consume_initiation→ consumed_initiation ─create_response→ created_response
//   derive_keys() is legal in consumed_response (we initiated) and created_response (we
//   responded); it returns the transport keys and zeroes the handshake. A new initiation from
//   the peer may restart the responder path at any time; our own create_initiation restarts
//   the initiator path. Messages that fail any check leave the state exactly as it was: every
//   consume works on a copy of the symmetric state and commits only on success.
//   Limits: an initiation is accepted only if its timestamp is strictly after the last one
//   accepted from this peer (replay) and at least 20 ms after the previous accepted one
//   (§5.1: at most 50 per second per peer).
//   Left out on purpose: MACs (cookie.h) and index allocation (the device owns the table).
#pragma once

#include <cstdint>
#include <optional>

#include "crypto/tai64n.h"
#include "crypto/x25519.h"
#include "wireguard/constants.h"
#include "wireguard/drop_reason.h"
#include "wireguard/messages.h"
#include "wireguard/noise.h"

namespace slirpvpn::wireguard {

// The transport keys one completed handshake yields.
struct DerivedKeys {
  crypto::SymmetricKey sending;
  crypto::SymmetricKey receiving;
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
  bool initiator = false;
};

// What a responder learns from the first half of an initiation (`e, es, s`) before it
// knows which peer is calling.
struct InitiationStart {
  SymmetricState state;
  crypto::PublicKey initiator_static;
};

// Noise's h and ck before the first message to `responder_static`: constant per responder
// key, so the device keeps its own and each Handshake its peer's (three BLAKE2s saved per
// message, as the kernel's precomputed handshake_init_hash).
SymmetricState wireguard_initial_state(const crypto::PublicKey& responder_static) noexcept;

// Decrypts the initiator's static key with our identity; nullopt if it does not authenticate.
// `initial` is wireguard_initial_state(local.public_key).
std::optional<InitiationStart> begin_consume_initiation(const StaticIdentity& local,
                                                        const SymmetricState& initial,
                                                        const Initiation& message) noexcept;

class Handshake {
 public:
  enum class State : uint8_t {
    kZeroed,
    kCreatedInitiation,
    kConsumedInitiation,
    kCreatedResponse,
    kConsumedResponse
  };

  // `local` must outlive the handshake. The static-static DH is computed here, once.
  Handshake(const StaticIdentity& local, const crypto::PublicKey& remote_static,
            const crypto::SymmetricKey& preshared_key) noexcept;

  // Fills every field but the MACs. False if the static-static DH is zero (unusable peer).
  bool create_initiation(Initiation& out, uint32_t local_index, const crypto::PrivateKey& ephemeral,
                         const crypto::Timestamp& timestamp) noexcept;
  // Second half of an initiation already begun with begin_consume_initiation() for this
  // peer's key. kNone on success.
  DropReason consume_initiation(const Initiation& message, InitiationStart&& start,
                                TimePoint now) noexcept;
  // Fills every field but the MACs.
  bool create_response(Response& out, uint32_t local_index,
                       const crypto::PrivateKey& ephemeral) noexcept;
  DropReason consume_response(const Response& message) noexcept;

  // Valid in kCreatedResponse and kConsumedResponse; zeroes the handshake afterwards.
  bool derive_keys(DerivedKeys& out) noexcept;
  // Forget the handshake in progress (timestamps and rate limits are kept).
  void clear() noexcept;

  State state() const noexcept { return state_; }
  uint32_t local_index() const noexcept { return local_index_; }
  const crypto::PublicKey& remote_static() const noexcept { return remote_static_; }
  void set_preshared_key(const crypto::SymmetricKey& key) noexcept { preshared_key_ = key; }

 private:
  const StaticIdentity& local_;
  crypto::PublicKey remote_static_;
  crypto::SymmetricKey preshared_key_;
  crypto::SymmetricKey static_static_;
  SymmetricState initial_;  // wireguard_initial_state(remote_static_)

  State state_ = State::kZeroed;
  SymmetricState symmetric_;
  crypto::PrivateKey ephemeral_;
  crypto::PublicKey remote_ephemeral_;
  uint32_t local_index_ = 0;
  uint32_t remote_index_ = 0;

  crypto::Timestamp latest_timestamp_{};
  std::optional<TimePoint> last_initiation_consumed_;
};

}  // namespace slirpvpn::wireguard
