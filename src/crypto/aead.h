// SPDX-License-Identifier: MIT
// ChaCha20-Poly1305 (RFC 8439, IETF 96-bit nonce; large packets sealed by OpenSSL, the rest by
// libsodium) and XChaCha20-Poly1305 (libsodium).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/secret.h"

namespace slirpvpn::crypto {

inline constexpr size_t kAeadTagLen = 16;
inline constexpr size_t kXNonceLen = 24;
// Plaintexts from this size on are sealed by OpenSSL, smaller ones by libsodium (aead.cpp).
inline constexpr size_t kOpenSslSealFrom = 1024;

// Fetches OpenSSL's cipher and makes this thread's sealing context, so that nothing is looked up
// once a sandbox is in place; crypto::initialize() calls it. False if OpenSSL lacks the cipher.
[[nodiscard]] bool warm_up_aead() noexcept;

// WireGuard's nonce: 32 zero bits then the 64-bit counter, little-endian (whitepaper §5.4.6).
// out.size() must be plaintext.size() + kAeadTagLen; out may alias plaintext exactly (in place).
void aead_encrypt(std::span<uint8_t> out, std::span<const uint8_t> plaintext, uint64_t counter,
                  std::span<const uint8_t> associated_data, const SymmetricKey& key) noexcept;

// out.size() must be ciphertext.size() - kAeadTagLen; may alias ciphertext exactly.
// Returns false (and leaves out unspecified) when the tag does not verify.
[[nodiscard]] bool aead_decrypt(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                uint64_t counter, std::span<const uint8_t> associated_data,
                                const SymmetricKey& key) noexcept;

// The 96-bit-nonce form with an explicit nonce, for the RFC 8439 known-answer tests.
[[nodiscard]] bool aead_decrypt_ietf(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                     std::span<const uint8_t, 12> nonce,
                                     std::span<const uint8_t> associated_data,
                                     const SymmetricKey& key) noexcept;
void aead_encrypt_ietf(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                       std::span<const uint8_t, 12> nonce, std::span<const uint8_t> associated_data,
                       const SymmetricKey& key) noexcept;

// Same size rules as above; used for cookie replies.
void xaead_encrypt(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                   std::span<const uint8_t, kXNonceLen> nonce,
                   std::span<const uint8_t> associated_data, const SymmetricKey& key) noexcept;
[[nodiscard]] bool xaead_decrypt(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                 std::span<const uint8_t, kXNonceLen> nonce,
                                 std::span<const uint8_t> associated_data,
                                 const SymmetricKey& key) noexcept;

}  // namespace slirpvpn::crypto
