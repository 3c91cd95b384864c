// SPDX-License-Identifier: MIT
// TAI64N timestamps for handshake initiations (whitepaper §5.4.2).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>

namespace slirpvpn::crypto {

inline constexpr size_t kTimestampLen = 12;
using Timestamp = std::array<uint8_t, kTimestampLen>;

// Big-endian seconds since 1970 plus 2^62 + 10, then nanoseconds. The nanoseconds are rounded
// down to a multiple of 2^24 ns (about 16.8 ms), as the kernel and wireguard-go do, so that the
// timestamp leaks no fine clock and a burst of initiations cannot all be accepted.
Timestamp tai64n(std::chrono::system_clock::time_point now) noexcept;

// Strictly later, by the byte order the format is designed for (memcmp).
bool timestamp_after(std::span<const uint8_t, kTimestampLen> candidate,
                     std::span<const uint8_t, kTimestampLen> reference) noexcept;

}  // namespace slirpvpn::crypto
