// SPDX-License-Identifier: MIT
// Noise IKpsk2 over BLAKE2s, ChaCha20-Poly1305 and X25519 (whitepaper §5.4.2, §5.4.3).
#include "wireguard/noise.h"

#include "crypto/aead.h"

namespace slirpvpn::wireguard {
namespace {

using crypto::PrivateKey;
using crypto::PublicKey;
using crypto::SymmetricKey;

void mix_hash(SymmetricState& state, std::span<const uint8_t> data) noexcept {
  crypto::blake2s_hash(state.hash.span(), {state.hash.span(), data});
}

// ck = KDF1(ck, input)
void mix_chain(SymmetricState& state, std::span<const uint8_t> input) noexcept {
  SymmetricKey* outputs[] = {&state.chaining_key};
  crypto::kdf(outputs, state.chaining_key.span(), input);
}

// (ck, key) = KDF2(ck, input)
void mix_key(SymmetricState& state, SymmetricKey& key, std::span<const uint8_t> input) noexcept {
  SymmetricKey* outputs[] = {&state.chaining_key, &key};
  crypto::kdf(outputs, state.chaining_key.span(), input);
}

// (ck, key) = KDF2(ck, DH(private, public)); false for a zero DH result.
bool mix_dh(SymmetricState& state, SymmetricKey& key, const PrivateKey& private_key,
            const PublicKey& public_key) noexcept {
  SymmetricKey shared;
  if (!crypto::x25519(shared, private_key, public_key)) return false;
  mix_key(state, key, shared.span());
  return true;
}

void encrypt_and_hash(SymmetricState& state, const SymmetricKey& key,
                      std::span<const uint8_t> plaintext, std::span<uint8_t> out) noexcept {
  crypto::aead_encrypt(out, plaintext, 0, state.hash.span(), key);
  mix_hash(state, out);
}

bool decrypt_and_hash(SymmetricState& state, const SymmetricKey& key,
                      std::span<const uint8_t> ciphertext, std::span<uint8_t> out) noexcept {
  if (!crypto::aead_decrypt(out, ciphertext, 0, state.hash.span(), key)) return false;
  mix_hash(state, ciphertext);
  return true;
}

}  // namespace

SymmetricState initial_state(std::span<const uint8_t> protocol_name,
                             std::span<const uint8_t> prologue,
                             const PublicKey& responder_static) noexcept {
  SymmetricState state;
  crypto::blake2s_hash(state.chaining_key.span(), {protocol_name});
  crypto::blake2s_hash(state.hash.span(), {state.chaining_key.span(), prologue});
  // <- s (pre-message)
  mix_hash(state, responder_static.span());
  return state;
}

bool write_message1(SymmetricState& state, const PrivateKey& ephemeral,
                    const PublicKey& initiator_static, const PublicKey& responder_static,
                    const SymmetricKey& static_static, std::span<const uint8_t> payload,
                    std::span<uint8_t, crypto::kKeyLen> out_ephemeral,
                    std::span<uint8_t, crypto::kKeyLen + 16> out_static,
                    std::span<uint8_t> out_payload) noexcept {
  SymmetricKey key;
  /* e */
  const PublicKey ephemeral_public = crypto::derive_public_key(ephemeral);
  std::copy(ephemeral_public.bytes.begin(), ephemeral_public.bytes.end(), out_ephemeral.begin());
  mix_hash(state, ephemeral_public.span());
  mix_chain(state, ephemeral_public.span());
  /* es */
  if (!mix_dh(state, key, ephemeral, responder_static)) return false;
  /* s */
  encrypt_and_hash(state, key, initiator_static.span(), out_static);
  /* ss */
  if (static_static.is_zero()) return false;
  mix_key(state, key, static_static.span());
  /* {payload} */
  encrypt_and_hash(state, key, payload, out_payload);
  return true;
}

bool read_message1_static(SymmetricState& state, const StaticIdentity& responder,
                          std::span<const uint8_t, crypto::kKeyLen> ephemeral,
                          std::span<const uint8_t, crypto::kKeyLen + 16> encrypted,
                          PublicKey& out_initiator_static) noexcept {
  SymmetricKey key;
  /* e */
  PublicKey initiator_ephemeral;
  std::copy(ephemeral.begin(), ephemeral.end(), initiator_ephemeral.bytes.begin());
  mix_hash(state, ephemeral);
  mix_chain(state, ephemeral);
  /* es */
  if (!mix_dh(state, key, responder.private_key, initiator_ephemeral)) return false;
  /* s */
  return decrypt_and_hash(state, key, encrypted, out_initiator_static.bytes);
}

bool read_message1_payload(SymmetricState& state, const SymmetricKey& static_static,
                           std::span<const uint8_t> encrypted_payload,
                           std::span<uint8_t> out_payload) noexcept {
  SymmetricKey key;
  /* ss */
  if (static_static.is_zero()) return false;
  mix_key(state, key, static_static.span());
  /* {payload} */
  return decrypt_and_hash(state, key, encrypted_payload, out_payload);
}

bool write_message2(SymmetricState& state, const PrivateKey& ephemeral,
                    const PublicKey& initiator_ephemeral, const PublicKey& initiator_static,
                    const SymmetricKey& preshared_key, std::span<const uint8_t> payload,
                    std::span<uint8_t, crypto::kKeyLen> out_ephemeral,
                    std::span<uint8_t> out_payload) noexcept {
  SymmetricKey key;
  /* e */
  const PublicKey ephemeral_public = crypto::derive_public_key(ephemeral);
  std::copy(ephemeral_public.bytes.begin(), ephemeral_public.bytes.end(), out_ephemeral.begin());
  mix_hash(state, ephemeral_public.span());
  mix_chain(state, ephemeral_public.span());
  /* ee */
  if (!mix_dh(state, key, ephemeral, initiator_ephemeral)) return false;
  /* se */
  if (!mix_dh(state, key, ephemeral, initiator_static)) return false;
  /* psk */
  crypto::Secret<crypto::kHashLen> tau;
  SymmetricKey* outputs[] = {&state.chaining_key, &tau, &key};
  crypto::kdf(outputs, state.chaining_key.span(), preshared_key.span());
  mix_hash(state, tau.span());
  /* {payload} */
  encrypt_and_hash(state, key, payload, out_payload);
  return true;
}

bool read_message2(SymmetricState& state, const PrivateKey& initiator_ephemeral,
                   const PrivateKey& initiator_static,
                   std::span<const uint8_t, crypto::kKeyLen> responder_ephemeral,
                   const SymmetricKey& preshared_key, std::span<const uint8_t> encrypted_payload,
                   std::span<uint8_t> out_payload) noexcept {
  SymmetricKey key;
  PublicKey ephemeral;
  std::copy(responder_ephemeral.begin(), responder_ephemeral.end(), ephemeral.bytes.begin());
  /* e */
  mix_hash(state, responder_ephemeral);
  mix_chain(state, responder_ephemeral);
  /* ee */
  if (!mix_dh(state, key, initiator_ephemeral, ephemeral)) return false;
  /* se */
  if (!mix_dh(state, key, initiator_static, ephemeral)) return false;
  /* psk */
  crypto::Secret<crypto::kHashLen> tau;
  SymmetricKey* outputs[] = {&state.chaining_key, &tau, &key};
  crypto::kdf(outputs, state.chaining_key.span(), preshared_key.span());
  mix_hash(state, tau.span());
  /* {payload} */
  return decrypt_and_hash(state, key, encrypted_payload, out_payload);
}

void split(const SymmetricState& state, SymmetricKey& initiator_to_responder,
           SymmetricKey& responder_to_initiator) noexcept {
  SymmetricKey* outputs[] = {&initiator_to_responder, &responder_to_initiator};
  crypto::kdf(outputs, state.chaining_key.span(), {});
}

}  // namespace slirpvpn::wireguard
