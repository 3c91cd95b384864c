// SPDX-License-Identifier: MIT
// BLAKE2s through OpenSSL 3's providers: BLAKE2S-256, BLAKE2SMAC and HMAC.
//
// The algorithm objects are fetched once. The HMAC and digest contexts are kept per thread and
// re-initialised for each call: a fresh HMAC context looks its digest up by name on every
// init (OpenSSL 3's fetch), which made 3 µs of each 1 µs HMAC and 40 % of a handshake's cost.
// A kept context holds state derived from the last key it was given until the next call (the
// handshake keeps that key itself anyway); OpenSSL cleanses it when the thread ends.
#include "crypto/blake2s.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/assert.h"

namespace slirpvpn::crypto {
namespace {

const EVP_MD* blake2s256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
  SLIRPVPN_ASSERT(md != nullptr);  // OpenSSL 3's default provider always has it
  return md;
}

EVP_MAC* fetch_mac(const char* name) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, name, nullptr);
  SLIRPVPN_ASSERT(mac != nullptr);
  return mac;
}

EVP_MAC* blake2s_mac_algorithm() {
  static EVP_MAC* const mac = fetch_mac("BLAKE2SMAC");
  return mac;
}

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const mac = fetch_mac("HMAC");
  return mac;
}

// This thread's contexts: a digest, an HMAC with BLAKE2S-256 already set, a keyed BLAKE2s.
struct ThreadContexts {
  EVP_MD_CTX* digest = EVP_MD_CTX_new();
  EVP_MAC_CTX* hmac = [] {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
    SLIRPVPN_ASSERT(ctx != nullptr);
    char digest_name[] = "BLAKE2S-256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    SLIRPVPN_ASSERT(EVP_MAC_CTX_set_params(ctx, params) == 1);
    return ctx;
  }();
  EVP_MAC_CTX* keyed = EVP_MAC_CTX_new(blake2s_mac_algorithm());
  ThreadContexts() { SLIRPVPN_ASSERT(digest != nullptr && keyed != nullptr); }
  ~ThreadContexts() {
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_CTX_free(hmac);
    EVP_MD_CTX_free(digest);
  }
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
};

ThreadContexts& contexts() noexcept {
  thread_local ThreadContexts instance;
  return instance;
}

}  // namespace

void blake2s_hash(std::span<uint8_t, kHashLen> out,
                  std::initializer_list<std::span<const uint8_t>> parts) noexcept {
  EVP_MD_CTX* ctx = contexts().digest;
  SLIRPVPN_ASSERT(EVP_DigestInit_ex2(ctx, blake2s256(), nullptr) == 1);
  for (auto part : parts) SLIRPVPN_ASSERT(EVP_DigestUpdate(ctx, part.data(), part.size()) == 1);
  unsigned int length = 0;
  SLIRPVPN_ASSERT(EVP_DigestFinal_ex(ctx, out.data(), &length) == 1 && length == kHashLen);
}

void blake2s_mac(std::span<uint8_t> out, std::span<const uint8_t> key,
                 std::span<const uint8_t> data) noexcept {
  SLIRPVPN_ASSERT(!out.empty() && out.size() <= kHashLen);
  SLIRPVPN_ASSERT(!key.empty() && key.size() <= kHashLen);
  EVP_MAC_CTX* ctx = contexts().keyed;
  size_t size = out.size();
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                               OSSL_PARAM_construct_end()};
  SLIRPVPN_ASSERT(EVP_MAC_init(ctx, key.data(), key.size(), params) == 1);
  SLIRPVPN_ASSERT(EVP_MAC_update(ctx, data.data(), data.size()) == 1);
  size_t length = 0;
  SLIRPVPN_ASSERT(EVP_MAC_final(ctx, out.data(), &length, out.size()) == 1 && length == out.size());
}

void hmac_blake2s(std::span<uint8_t, kHashLen> out, std::span<const uint8_t> key,
                  std::initializer_list<std::span<const uint8_t>> parts) noexcept {
  EVP_MAC_CTX* ctx = contexts().hmac;
  // An empty key is legal for HMAC but OpenSSL wants a non-null pointer.
  static const uint8_t kNoKey = 0;
  SLIRPVPN_ASSERT(EVP_MAC_init(ctx, key.empty() ? &kNoKey : key.data(), key.size(), nullptr) == 1);
  for (auto part : parts) SLIRPVPN_ASSERT(EVP_MAC_update(ctx, part.data(), part.size()) == 1);
  size_t length = 0;
  SLIRPVPN_ASSERT(EVP_MAC_final(ctx, out.data(), &length, out.size()) == 1 && length == kHashLen);
}

void kdf(std::span<SymmetricKey* const> outputs, std::span<const uint8_t, kHashLen> chaining_key,
         std::span<const uint8_t> input) noexcept {
  SLIRPVPN_ASSERT(!outputs.empty() && outputs.size() <= 3);
  SymmetricKey secret;  // t0 = HMAC(C, input): wiped on return
  hmac_blake2s(secret.span(), chaining_key, {input});
  // Every output is keyed with t0: keyed once, the context is re-initialised without a key
  // (OpenSSL then restarts from the inner and outer pads it kept) instead of hashing both pads
  // again for each output. BM_Kdf2 (bench/handshakes.cpp), best of 12 runs on a busy
  // machine: 3.15 -> 2.91 us; a handshake runs eight KDFs.
  EVP_MAC_CTX* ctx = contexts().hmac;
  const uint8_t* key = secret.data();
  SymmetricKey previous;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const uint8_t counter = uint8_t(i + 1);
    SLIRPVPN_ASSERT(EVP_MAC_init(ctx, key, key ? kHashLen : 0, nullptr) == 1);
    key = nullptr;
    if (i > 0) SLIRPVPN_ASSERT(EVP_MAC_update(ctx, previous.data(), kHashLen) == 1);
    SLIRPVPN_ASSERT(EVP_MAC_update(ctx, &counter, 1) == 1);
    size_t length = 0;
    SLIRPVPN_ASSERT(EVP_MAC_final(ctx, outputs[i]->data(), &length, kHashLen) == 1 &&
                    length == kHashLen);
    previous = *outputs[i];
  }
}

}  // namespace slirpvpn::crypto
