// SPDX-License-Identifier: MIT
// Curve25519 over libsodium's crypto_scalarmult; base64 over sodium's codec.
#include "crypto/x25519.h"

#include <sodium.h>

#include "crypto/aead.h"

namespace slirpvpn::crypto {

PrivateKey PrivateKey::from_random(std::span<const uint8_t, kKeyLen> random) noexcept {
  PrivateKey key = from_bytes(random);
  key.data()[0] &= 248;
  key.data()[31] = uint8_t((key.data()[31] & 127) | 64);
  return key;
}

PrivateKey PrivateKey::from_bytes(std::span<const uint8_t, kKeyLen> bytes) noexcept {
  PrivateKey key;
  for (size_t i = 0; i < kKeyLen; ++i) key.data()[i] = bytes[i];
  return key;
}

bool initialize() noexcept {
  return sodium_init() >= 0 && warm_up_aead();
}

PublicKey derive_public_key(const PrivateKey& private_key) noexcept {
  PublicKey public_key;
  crypto_scalarmult_curve25519_base(public_key.bytes.data(), private_key.data());
  return public_key;
}

bool x25519(SymmetricKey& shared, const PrivateKey& private_key,
            const PublicKey& public_key) noexcept {
  // libsodium returns -1 exactly when the output is all zeros.
  return crypto_scalarmult_curve25519(shared.data(), private_key.data(), public_key.bytes.data()) ==
         0;
}

std::string encode_key(std::span<const uint8_t, kKeyLen> key) {
  char text[sodium_base64_ENCODED_LEN(kKeyLen, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof text, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return text;
}

std::optional<std::array<uint8_t, kKeyLen>> decode_key(std::string_view text) {
  if (text.size() != 44 || text[43] != '=') return std::nullopt;
  std::array<uint8_t, kKeyLen> key{};
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      length != kKeyLen || end != text.data() + text.size()) {
    sodium_memzero(key.data(), key.size());
    return std::nullopt;
  }
  return key;
}

}  // namespace slirpvpn::crypto
