// SPDX-License-Identifier: MIT
// WireGuard protocol constants (whitepaper §6.1 "Timers" and §5.4 "Messages"), in spec names.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace slirpvpn::wireguard {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

using namespace std::chrono_literals;

// §6.1, table of constants.
inline constexpr uint64_t kRekeyAfterMessages = uint64_t(1) << 60;
inline constexpr uint64_t kRejectAfterMessages = ~uint64_t(0) - (uint64_t(1) << 13);
inline constexpr Duration kRekeyAfterTime = 120s;
inline constexpr Duration kRejectAfterTime = 180s;
inline constexpr Duration kRekeyAttemptTime = 90s;
inline constexpr Duration kRekeyTimeout = 5s;
inline constexpr Duration kKeepaliveTimeout = 10s;
// Not in the table but used by every implementation: the jitter added to each handshake
// retransmission (§6.1: "a random amount of jitter ... up to 333 ms").
inline constexpr Duration kRekeyTimeoutJitterMax = 333ms;
// Handshake attempts before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT (wireguard-go
// device/constants.go MaxTimerHandshakes).
inline constexpr int kMaxTimerHandshakes = int(kRekeyAttemptTime / kRekeyTimeout);
// §6.6: cookies are refreshed every two minutes.
inline constexpr Duration kCookieRefreshTime = 120s;
// §5.1: at most one initiation per peer per this interval is processed (50 per second).
inline constexpr Duration kHandshakeInitiationRate = 20ms;

// Message types and sizes (§5.4).
inline constexpr uint8_t kMessageInitiation = 1;
inline constexpr uint8_t kMessageResponse = 2;
inline constexpr uint8_t kMessageCookieReply = 3;
inline constexpr uint8_t kMessageTransport = 4;

inline constexpr size_t kInitiationSize = 148;
inline constexpr size_t kResponseSize = 92;
inline constexpr size_t kCookieReplySize = 64;
inline constexpr size_t kTransportHeaderSize = 16;
inline constexpr size_t kTransportMinSize = kTransportHeaderSize + 16;  // a keepalive
// Plaintext is padded to a multiple of this (§5.4.6).
inline constexpr size_t kPaddingMultiple = 16;
// The transport datagram that carries an inner packet of `packet_size` bytes (no MTU cap on the
// padding: the packet is as large as the tunnel allows or smaller).
inline constexpr size_t transport_datagram_size(size_t packet_size) {
  return kTransportMinSize +
         (packet_size + kPaddingMultiple - 1) / kPaddingMultiple * kPaddingMultiple;
}

}  // namespace slirpvpn::wireguard
