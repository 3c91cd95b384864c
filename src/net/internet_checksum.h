// SPDX-License-Identifier: MIT
// The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sum, for the offload and
// coalescing code: every merged or cut TCP segment passes through here, so it is summed eight
// bytes at a time rather than sixteen bits at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace slirpvpn::net {

// The one's-complement sum of `bytes` (big-endian 16-bit words, an odd last byte as the high
// half of a word) added to `sum`, folded to 16 bits, not complemented.
uint16_t ones_complement_sum(std::span<const uint8_t> bytes, uint32_t sum = 0) noexcept;

// The pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) of the IPv4 or IPv6 packet `ip` for an L4
// segment of `length` bytes of `protocol`, unfolded: the addresses, the protocol and the length.
uint32_t pseudo_header_sum(std::span<const uint8_t> ip, bool v4, uint8_t protocol,
                           std::size_t length) noexcept;

}  // namespace slirpvpn::net
