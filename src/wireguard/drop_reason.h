// SPDX-License-Identifier: MIT
// Why a datagram from the network was dropped: peer input is never an error, only a counted drop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace slirpvpn::wireguard {

enum class DropReason : uint8_t {
  kNone = 0,
  kTooShort,                // shorter than its message type requires
  kTooLong,                 // longer than a fixed-size message type allows
  kUnknownType,             // type byte not 1..4
  kReservedNotZero,         // the three reserved bytes after the type are not zero
  kInvalidMac1,             // mac1 does not verify: not meant for us
  kInvalidMac2,             // under load and mac2 missing or wrong: answered with a cookie
  kUnknownPeer,             // initiation from a static key we do not know
  kHandshakeDecryptFailed,  // a handshake field did not authenticate
  kStaleTimestamp,          // initiation timestamp not after the last accepted (replay)
  kInitiationFlood,         // more than one initiation per 20 ms from a peer
  kUnknownIndex,            // receiver index matches no handshake or keypair of ours
  kUnexpectedResponse,      // a response/cookie for a handshake we are not waiting for
  kLowOrderKey,             // a Diffie-Hellman result was zero
  kReplayedCounter,         // transport counter already seen or too old
  kDecryptFailed,           // transport ciphertext did not authenticate
  kKeyExpired,              // keypair past REJECT_AFTER_TIME / REJECT_AFTER_MESSAGES
  kMalformedInnerPacket,    // decrypted payload is not an IPv4/IPv6 packet
  kInnerSourceNotAllowed,   // decrypted packet's source is outside the peer's AllowedIPs
  kNoSession,               // a packet to send and no usable keypair (queued or dropped)
  kQueueFull,               // the staged queue for a peer without keys is full
  kHandshakeRateLimited,    // under load, more handshake messages from one address than its share
  kHandshakeBudget,         // the second's handshake work is spent (flood defence)
  kCount
};

inline constexpr std::array<const char*, size_t(DropReason::kCount)> kDropReasonNames = {
    "none",
    "too_short",
    "too_long",
    "unknown_type",
    "reserved_not_zero",
    "invalid_mac1",
    "invalid_mac2",
    "unknown_peer",
    "handshake_decrypt_failed",
    "stale_timestamp",
    "initiation_flood",
    "unknown_index",
    "unexpected_response",
    "low_order_key",
    "replayed_counter",
    "decrypt_failed",
    "key_expired",
    "malformed_inner_packet",
    "inner_source_not_allowed",
    "no_session",
    "queue_full",
    "handshake_rate_limited",
    "handshake_budget",
};

inline const char* drop_reason_name(DropReason reason) {
  return kDropReasonNames[size_t(reason) < kDropReasonNames.size() ? size_t(reason) : 0];
}

// Counts per reason; plain integers, owned by one thread.
struct DropCounters {
  std::array<uint64_t, size_t(DropReason::kCount)> counts{};
  void add(DropReason reason) noexcept { ++counts[size_t(reason)]; }
  uint64_t operator[](DropReason reason) const noexcept { return counts[size_t(reason)]; }
};

}  // namespace slirpvpn::wireguard
