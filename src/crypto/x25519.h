// SPDX-License-Identifier: MIT
// Curve25519 keys and Diffie-Hellman (RFC 7748), from libsodium.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret.h"

namespace slirpvpn::crypto {

struct PublicKey {
  std::array<uint8_t, kKeyLen> bytes{};
  bool operator==(const PublicKey&) const = default;
  std::span<const uint8_t, kKeyLen> span() const noexcept { return bytes; }
};

class PrivateKey : public Secret<kKeyLen> {
 public:
  PrivateKey() = default;
  // Clamps as RFC 7748 §5 and `wg genkey` do, so the stored key is the one `wg` would print.
  static PrivateKey from_random(std::span<const uint8_t, kKeyLen> random) noexcept;
  // The key exactly as given (for published vectors and keys read from files).
  static PrivateKey from_bytes(std::span<const uint8_t, kKeyLen> bytes) noexcept;
};

// Must be called once before any other function here or in aead.h (sodium_init, and OpenSSL's
// cipher fetched); returns false if libsodium could not initialise or OpenSSL lacks the cipher.
bool initialize() noexcept;

PublicKey derive_public_key(const PrivateKey& private_key) noexcept;

// Returns false when the result is all zeros (a low-order public key): the handshake must stop.
bool x25519(SymmetricKey& shared, const PrivateKey& private_key,
            const PublicKey& public_key) noexcept;

// Keys as `wg` writes them: standard base64 with padding, 44 characters.
std::string encode_key(std::span<const uint8_t, kKeyLen> key);
// nullopt unless the text is exactly one base64 key of 32 bytes.
std::optional<std::array<uint8_t, kKeyLen>> decode_key(std::string_view text);

}  // namespace slirpvpn::crypto
