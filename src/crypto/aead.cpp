// SPDX-License-Identifier: MIT
// AEAD wrappers. Sealing a transport packet of kOpenSslSealFrom bytes or more goes through
// OpenSSL 3's EVP ChaCha20-Poly1305: its AVX2 code seals a full 1420-byte packet in about 1.4 µs
// here against libsodium's 1.8 µs (bench/aead.cpp), and a download is mostly sealing. Below that
// size EVP's fixed cost per call (about 0.6 µs: key, nonce, tag) loses to libsodium, and
// opening gains nothing measurable at any size, so opening, small packets and
// XChaCha20-Poly1305 (cookie replies; OpenSSL has none) stay with libsodium. Both produce the
// same RFC 8439 bytes; the unit tests check each against the other at every size.
//
// The cipher is fetched once and each thread keeps one sealing context, given the key and
// nonce on every call: a context per call would cost an allocation and a provider lookup. It
// holds the last key it was given until the next call (the keypair holds that key anyway);
// OpenSSL cleanses it when the thread ends.
#include "crypto/aead.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <array>

#include "common/assert.h"
#include "common/endian.h"

namespace slirpvpn::crypto {
namespace {

std::array<uint8_t, 12> counter_nonce(uint64_t counter) noexcept {
  std::array<uint8_t, 12> nonce{};
  store_le64(nonce.data() + 4, counter);
  return nonce;
}

EVP_CIPHER* chacha20_poly1305() noexcept {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  SLIRPVPN_ASSERT(cipher != nullptr);  // OpenSSL 3's default provider always has it
  return cipher;
}

// This thread's sealing context; OpenSSL cleanses and frees it when the thread ends.
EVP_CIPHER_CTX* seal_context() noexcept {
  struct Owner {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    Owner() {
      SLIRPVPN_ASSERT(ctx != nullptr);
      SLIRPVPN_ASSERT(EVP_CipherInit_ex2(ctx, chacha20_poly1305(), nullptr, nullptr, 1, nullptr) ==
                      1);
    }
    ~Owner() { EVP_CIPHER_CTX_free(ctx); }
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;
  };
  thread_local Owner owner;
  return owner.ctx;
}

// EVP takes int lengths; a WireGuard message is far below INT_MAX.
int int_size(size_t size) noexcept {
  SLIRPVPN_ASSERT(size <= size_t(1) << 30);
  return static_cast<int>(size);
}

}  // namespace

bool warm_up_aead() noexcept {
  return seal_context() != nullptr;
}

void aead_encrypt_ietf(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                       std::span<const uint8_t, 12> nonce, std::span<const uint8_t> associated_data,
                       const SymmetricKey& key) noexcept {
  SLIRPVPN_ASSERT(out.size() == plaintext.size() + kAeadTagLen);
  if (plaintext.size() < kOpenSslSealFrom) {
    crypto_aead_chacha20poly1305_ietf_encrypt(
        out.data(), nullptr, plaintext.data(), plaintext.size(), associated_data.data(),
        associated_data.size(), nullptr, nonce.data(), key.data());
    return;
  }
  EVP_CIPHER_CTX* ctx = seal_context();
  int length = 0;
  SLIRPVPN_ASSERT(EVP_CipherInit_ex2(ctx, nullptr, key.data(), nonce.data(), 1, nullptr) == 1);
  if (!associated_data.empty()) {
    SLIRPVPN_ASSERT(EVP_CipherUpdate(ctx, nullptr, &length, associated_data.data(),
                                     int_size(associated_data.size())) == 1);
  }
  int written = 0;
  SLIRPVPN_ASSERT(EVP_CipherUpdate(ctx, out.data(), &written, plaintext.data(),
                                   int_size(plaintext.size())) == 1);
  SLIRPVPN_ASSERT(EVP_CipherFinal_ex(ctx, out.data() + written, &length) == 1);
  SLIRPVPN_ASSERT(size_t(written + length) == plaintext.size());
  SLIRPVPN_ASSERT(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, int(kAeadTagLen),
                                      out.data() + plaintext.size()) == 1);
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
