// SPDX-License-Identifier: MIT
// BLAKE2s (RFC 7693) hash and keyed MAC, HMAC-BLAKE2s and the Noise KDF, from OpenSSL 3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "crypto/secret.h"

namespace slirpvpn::crypto {

inline constexpr size_t kHashLen = 32;

// BLAKE2s-256 over the concatenation of parts.
void blake2s_hash(std::span<uint8_t, kHashLen> out,
                  std::initializer_list<std::span<const uint8_t>> parts) noexcept;

// Keyed BLAKE2s with an output of out.size() bytes (1..32); key 1..32 bytes. WireGuard's MAC().
void blake2s_mac(std::span<uint8_t> out, std::span<const uint8_t> key,
                 std::span<const uint8_t> data) noexcept;

// HMAC (RFC 2104) over BLAKE2s-256; the block size is 64 bytes.
void hmac_blake2s(std::span<uint8_t, kHashLen> out, std::span<const uint8_t> key,
                  std::initializer_list<std::span<const uint8_t>> parts) noexcept;

// Noise's HKDF with HMAC-BLAKE2s (whitepaper §5.4: KDF_n). Writes outputs.size() keys (1..3).
void kdf(std::span<SymmetricKey* const> outputs, std::span<const uint8_t, kHashLen> chaining_key,
         std::span<const uint8_t> input) noexcept;

}  // namespace slirpvpn::crypto
