// SPDX-License-Identifier: MIT
// The Noise_IKpsk2 message patterns of WireGuard's handshake, as pure functions on a state.
//
// Theory of operation
//   IKpsk2:  <- s
//            ...
//            -> e, es, s, ss, {payload}
//            <- e, ee, se, psk, {payload}
// Both sides start from initial_state() (h and ck from the protocol name, the prologue and
// the responder's static key). Each function performs one side of one message, mutating the
// SymmetricState (Noise's h and ck) in place; split() yields the transport keys. WireGuard
// fixes the prologue to its identifier string and the payloads to a TAI64N timestamp and
// nothing; the published cacophony vectors use another prologue and other payloads, which
// is why both are parameters here.
//
// The static-static DH (ss) is a parameter: it never changes for a peer, so callers compute
// it once per peer (an X25519 costs about 30 µs). Functions return false when a DH result is
// zero (low-order point) or an AEAD tag fails; the state is then garbage and must be dropped.
// No I/O, no clock, no randomness: ephemeral keys come from the caller.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/blake2s.h"
#include "crypto/secret.h"
#include "crypto/x25519.h"

namespace slirpvpn::wireguard {

inline constexpr std::string_view kConstruction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr std::string_view kIdentifier = "WireGuard v1 zx2c4 Jason@zx2c4.com";

inline std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// One side's long-term key pair.
struct StaticIdentity {
  crypto::PrivateKey private_key;
  crypto::PublicKey public_key;
  static StaticIdentity from_private(const crypto::PrivateKey& key) {
    return {key, crypto::derive_public_key(key)};
  }
};

// Noise's h (hash) and ck (chaining key); wiped on destruction.
struct SymmetricState {
  crypto::Secret<crypto::kHashLen> hash;
  crypto::SymmetricKey chaining_key;
};

SymmetricState initial_state(std::span<const uint8_t> protocol_name,
                             std::span<const uint8_t> prologue,
                             const crypto::PublicKey& responder_static) noexcept;

// Initiator, message 1. out_payload.size() == payload.size() + 16.
[[nodiscard]] bool write_message1(SymmetricState& state, const crypto::PrivateKey& ephemeral,
                                  const crypto::PublicKey& initiator_static,
                                  const crypto::PublicKey& responder_static,
                                  const crypto::SymmetricKey& static_static,
                                  std::span<const uint8_t> payload,
                                  std::span<uint8_t, crypto::kKeyLen> out_ephemeral,
                                  std::span<uint8_t, crypto::kKeyLen + 16> out_static,
                                  std::span<uint8_t> out_payload) noexcept;

// Responder, message 1 up to `s`: learns who is calling before the peer's keys are needed.
[[nodiscard]] bool read_message1_static(SymmetricState& state, const StaticIdentity& responder,
                                        std::span<const uint8_t, crypto::kKeyLen> ephemeral,
                                        std::span<const uint8_t, crypto::kKeyLen + 16> encrypted,
                                        crypto::PublicKey& out_initiator_static) noexcept;

// Responder, the rest of message 1 (`ss`, payload). out_payload.size() == payload.size() - 16.
[[nodiscard]] bool read_message1_payload(SymmetricState& state,
                                         const crypto::SymmetricKey& static_static,
                                         std::span<const uint8_t> encrypted_payload,
                                         std::span<uint8_t> out_payload) noexcept;

// Responder, message 2.
[[nodiscard]] bool write_message2(SymmetricState& state, const crypto::PrivateKey& ephemeral,
                                  const crypto::PublicKey& initiator_ephemeral,
                                  const crypto::PublicKey& initiator_static,
                                  const crypto::SymmetricKey& preshared_key,
                                  std::span<const uint8_t> payload,
                                  std::span<uint8_t, crypto::kKeyLen> out_ephemeral,
                                  std::span<uint8_t> out_payload) noexcept;

// Initiator, message 2.
[[nodiscard]] bool read_message2(SymmetricState& state,
                                 const crypto::PrivateKey& initiator_ephemeral,
                                 const crypto::PrivateKey& initiator_static,
                                 std::span<const uint8_t, crypto::kKeyLen> responder_ephemeral,
                                 const crypto::SymmetricKey& preshared_key,
                                 std::span<const uint8_t> encrypted_payload,
                                 std::span<uint8_t> out_payload) noexcept;

// Transport keys: first for initiator→responder, second for responder→initiator.
void split(const SymmetricState& state, crypto::SymmetricKey& initiator_to_responder,
           crypto::SymmetricKey& responder_to_initiator) noexcept;

}  // namespace slirpvpn::wireguard
