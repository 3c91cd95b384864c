// SPDX-License-Identifier: MIT
// AEAD wrappers: libsodium's crypto_aead_chacha20poly1305_ietf_* and xchacha20poly1305_ietf_*.
#include "crypto/aead.h"

#include <sodium.h>

#include "common/assert.h"
#include "common/endian.h"

namespace slirpvpn::crypto {
namespace {

std::array<uint8_t, 12> counter_nonce(uint64_t counter) noexcept {
  std::array<uint8_t, 12> nonce{};
  store_le64(nonce.data() + 4, counter);
  return nonce;
}

}  // namespace

void aead_encrypt_ietf(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                       std::span<const uint8_t, 12> nonce, std::span<const uint8_t> associated_data,
                       const SymmetricKey& key) noexcept {
  SLIRPVPN_ASSERT(out.size() == plaintext.size() + kAeadTagLen);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(), plaintext.size(),
                                            associated_data.data(), associated_data.size(), nullptr,
                                            nonce.data(), key.data());
}

bool aead_decrypt_ietf(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                       std::span<const uint8_t, 12> nonce, std::span<const uint8_t> associated_data,
                       const SymmetricKey& key) noexcept {
  if (ciphertext.size() < kAeadTagLen) return false;
  SLIRPVPN_ASSERT(out.size() == ciphertext.size() - kAeadTagLen);
  return crypto_aead_chacha20poly1305_ietf_decrypt(
             out.data(), nullptr, nullptr, ciphertext.data(), ciphertext.size(),
             associated_data.data(), associated_data.size(), nonce.data(), key.data()) == 0;
}

void aead_encrypt(std::span<uint8_t> out, std::span<const uint8_t> plaintext, uint64_t counter,
                  std::span<const uint8_t> associated_data, const SymmetricKey& key) noexcept {
  const auto nonce = counter_nonce(counter);
  aead_encrypt_ietf(out, plaintext, nonce, associated_data, key);
}

bool aead_decrypt(std::span<uint8_t> out, std::span<const uint8_t> ciphertext, uint64_t counter,
                  std::span<const uint8_t> associated_data, const SymmetricKey& key) noexcept {
  const auto nonce = counter_nonce(counter);
  return aead_decrypt_ietf(out, ciphertext, nonce, associated_data, key);
}

void xaead_encrypt(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                   std::span<const uint8_t, kXNonceLen> nonce,
                   std::span<const uint8_t> associated_data, const SymmetricKey& key) noexcept {
  SLIRPVPN_ASSERT(out.size() == plaintext.size() + kAeadTagLen);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data(), nullptr, plaintext.data(), plaintext.size(), associated_data.data(),
      associated_data.size(), nullptr, nonce.data(), key.data());
}

bool xaead_decrypt(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                   std::span<const uint8_t, kXNonceLen> nonce,
                   std::span<const uint8_t> associated_data, const SymmetricKey& key) noexcept {
  if (ciphertext.size() < kAeadTagLen) return false;
  SLIRPVPN_ASSERT(out.size() == ciphertext.size() - kAeadTagLen);
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out.data(), nullptr, nullptr, ciphertext.data(), ciphertext.size(),
             associated_data.data(), associated_data.size(), nonce.data(), key.data()) == 0;
}

}  // namespace slirpvpn::crypto
