// SPDX-License-Identifier: MIT
// The four WireGuard messages (whitepaper §5.4) and their little-endian wire layout.
//
// Every parser takes the whole UDP payload and returns either the decoded message or the
// reason it is rejected; a rejected datagram changes no state anywhere.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <tl/expected.hpp>

#include "crypto/aead.h"
#include "crypto/secret.h"
#include "crypto/tai64n.h"
#include "wireguard/constants.h"
#include "wireguard/drop_reason.h"

namespace slirpvpn::wireguard {

inline constexpr size_t kMacLen = 16;
using Mac = std::array<uint8_t, kMacLen>;
using KeyBytes = std::array<uint8_t, crypto::kKeyLen>;

// Type 1, 148 bytes: type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1 mac2.
struct Initiation {
  uint32_t sender_index = 0;
  KeyBytes unencrypted_ephemeral{};
  std::array<uint8_t, crypto::kKeyLen + crypto::kAeadTagLen> encrypted_static{};
  std::array<uint8_t, crypto::kTimestampLen + crypto::kAeadTagLen> encrypted_timestamp{};
  Mac mac1{};
  Mac mac2{};
};

// Type 2, 92 bytes: type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1 mac2.
struct Response {
  uint32_t sender_index = 0;
  uint32_t receiver_index = 0;
  KeyBytes unencrypted_ephemeral{};
  std::array<uint8_t, crypto::kAeadTagLen> encrypted_nothing{};
  Mac mac1{};
  Mac mac2{};
};

// Type 3, 64 bytes: type(4) receiver(4) nonce(24) cookie(16+16).
struct CookieReply {
  uint32_t receiver_index = 0;
  std::array<uint8_t, crypto::kXNonceLen> nonce{};
  std::array<uint8_t, kMacLen + crypto::kAeadTagLen> encrypted_cookie{};
};

// Type 4: type(4) receiver(4) counter(8) then the encrypted, padded packet and its tag.
// A view into the datagram: `ciphertext` aliases the caller's buffer.
struct TransportView {
  uint32_t receiver_index = 0;
  uint64_t counter = 0;
  std::span<const uint8_t> ciphertext;
};

// Offsets of the MACs: each covers the message up to itself (§5.4.4).
inline constexpr size_t kInitiationMac1Offset = kInitiationSize - 2 * kMacLen;
inline constexpr size_t kResponseMac1Offset = kResponseSize - 2 * kMacLen;

// The type of a datagram after checking its size class and reserved bytes; never the
// payload's validity.
tl::expected<uint8_t, DropReason> message_type(std::span<const uint8_t> datagram) noexcept;

tl::expected<Initiation, DropReason> parse_initiation(std::span<const uint8_t> datagram) noexcept;
tl::expected<Response, DropReason> parse_response(std::span<const uint8_t> datagram) noexcept;
tl::expected<CookieReply, DropReason> parse_cookie_reply(
    std::span<const uint8_t> datagram) noexcept;
tl::expected<TransportView, DropReason> parse_transport(std::span<const uint8_t> datagram) noexcept;

void write_initiation(const Initiation& message, std::span<uint8_t, kInitiationSize> out) noexcept;
void write_response(const Response& message, std::span<uint8_t, kResponseSize> out) noexcept;
void write_cookie_reply(const CookieReply& message,
                        std::span<uint8_t, kCookieReplySize> out) noexcept;
// Writes the 16-byte header; the ciphertext follows it in the same buffer.
void write_transport_header(uint32_t receiver_index, uint64_t counter,
                            std::span<uint8_t, kTransportHeaderSize> out) noexcept;

// How many zero bytes to append to a plaintext of `length` bytes (§5.4.6): up to a multiple
// of 16, but never past `mtu` (0 = no MTU known), as the kernel's calculate_skb_padding.
size_t padding_length(size_t length, size_t mtu) noexcept;

}  // namespace slirpvpn::wireguard
