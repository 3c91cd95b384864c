// SPDX-License-Identifier: MIT
// Receive-side coalescing of in-order TCP segments (for libslirp and for TUN GSO writes).
#include "net/tcp_coalescer.h"

#include <cstring>

#include "common/assert.h"
#include "common/endian.h"
#include "net/internet_checksum.h"

namespace slirpvpn::net {
namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpPsh = 0x08;
constexpr std::size_t kIpv4HeaderSize = 20;
constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kTcpHeaderSize = 20;
constexpr uint16_t kIpv4FragmentMask = 0x3fff;  // MF and the offset

uint32_t fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// The pseudo header of a TCP segment of `tcp_length` bytes in `packet`.
uint32_t tcp_pseudo_header_sum(std::span<const uint8_t> packet, std::size_t tcp_length) noexcept {
  return pseudo_header_sum(packet, (packet[0] >> 4) == 4, kProtocolTcp, tcp_length);
}

// Where TCP starts, or 0 when `packet` is no plain TCP packet (IPv4 without options and not a
// fragment, IPv6 without extension headers).
std::size_t tcp_offset(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kIpv4HeaderSize + kTcpHeaderSize) return 0;
  if ((packet[0] >> 4) == 4) {
    if (packet[0] != 0x45 || packet[9] != kProtocolTcp ||
        (load_be16(&packet[6]) & kIpv4FragmentMask) != 0) {
      return 0;
    }
    return kIpv4HeaderSize;
  }
  if ((packet[0] >> 4) == 6 && packet.size() >= kIpv6HeaderSize + kTcpHeaderSize &&
      packet[6] == kProtocolTcp) {
    return kIpv6HeaderSize;
  }
  return 0;
}

std::size_t tcp_header_length(std::span<const uint8_t> packet, std::size_t l4) noexcept {
  return std::size_t(packet[l4 + 12] >> 4) * 4;
}

}  // namespace

TcpCoalescer::TcpCoalescer(std::span<uint8_t> buffer, std::size_t max_packet, bool uniform) noexcept
    : buffer_(buffer),
      max_packet_(max_packet < buffer.size() ? max_packet : buffer.size()),
      uniform_(uniform) {}

bool TcpCoalescer::eligible(std::span<const uint8_t> packet) noexcept {
  const std::size_t l4 = tcp_offset(packet);
  if (l4 == 0) return false;
  const uint8_t flags = packet[l4 + 13];
  if (flags != kTcpAck && flags != (kTcpAck | kTcpPsh)) return false;
  const std::size_t tcp_header = tcp_header_length(packet, l4);
  if (tcp_header < kTcpHeaderSize || l4 + tcp_header >= packet.size()) return false;
  return load_be16(&packet[l4 + 18]) == 0;  // no urgent pointer
}

bool TcpCoalescer::payload_sum_if_valid(std::span<const uint8_t> packet, std::size_t l4_offset,
                                        std::size_t tcp_header, uint32_t& payload_sum) noexcept {
  const std::span<const uint8_t> tcp = packet.subspan(l4_offset);
  payload_sum = ones_complement_sum(tcp.subspan(tcp_header));
  const uint32_t whole =
      ones_complement_sum(tcp.first(tcp_header), tcp_pseudo_header_sum(packet, tcp.size()));
  return fold(whole + payload_sum) == 0xffff;
}

bool TcpCoalescer::start(std::span<const uint8_t> packet) noexcept {
  SLIRPVPN_ASSERT(!pending() && eligible(packet));
  const std::size_t l4 = tcp_offset(packet);
  const std::size_t tcp_header = tcp_header_length(packet, l4);
  uint32_t payload_sum = 0;
  if (packet.size() > max_packet_ || !payload_sum_if_valid(packet, l4, tcp_header, payload_sum)) {
    return false;
  }
  std::memcpy(buffer_.data(), packet.data(), packet.size());
  packet_length_ = packet.size();
  l4_offset_ = l4;
  tcp_header_ = tcp_header;
  payload_length_ = packet_length_ - l4_offset_ - tcp_header_;
  first_payload_ = payload_length_;
  last_payload_ = payload_length_;
  next_sequence_ = load_be32(&packet[l4 + 4]) + uint32_t(payload_length_);
  payload_sum_ = payload_sum;
  segments_ = 1;
  return true;
}

TcpCoalescer::Added TcpCoalescer::add(std::span<const uint8_t> packet) noexcept {
  if (!pending() || !eligible(packet)) return Added::kNotMerged;
  const uint8_t* held = buffer_.data();
  if (tcp_offset(packet) != l4_offset_ || (held[0] >> 4) != (packet[0] >> 4) ||
      tcp_header_length(packet, l4_offset_) != tcp_header_) {
    return Added::kNotMerged;
  }
  const uint8_t* tcp = &packet[l4_offset_];
  const uint8_t* held_tcp = held + l4_offset_;
  if (load_be32(tcp + 4) != next_sequence_) return Added::kNotMerged;
  // The held segment must be a plain ACK: a PSH ended its run.
  if (held_tcp[13] != kTcpAck) return Added::kNotMerged;
  const std::size_t payload = packet.size() - l4_offset_ - tcp_header_;
  if (packet_length_ + payload > max_packet_) return Added::kNotMerged;
  // A GSO write is cut at one size: only equal segments, and a shorter one ends the run.
  if (uniform_ && (payload > first_payload_ || last_payload_ != first_payload_)) {
    return Added::kNotMerged;
  }
  if (l4_offset_ == kIpv4HeaderSize) {
    // TOS, then flags/fragment word, TTL and protocol; then both addresses.
    if (held[1] != packet[1] || std::memcmp(held + 6, &packet[6], 4) != 0 ||
        std::memcmp(held + 12, &packet[12], 8) != 0) {
      return Added::kNotMerged;
    }
  } else if (std::memcmp(held, packet.data(), 4) != 0 ||
             std::memcmp(held + 6, &packet[6], 34) != 0) {
    return Added::kNotMerged;  // class and flow label; next header, hop limit and addresses
  }
  // Ports; then acknowledgement number and data offset; then window; then options. The
  // checksum (16..17) and urgent pointer (18..19, zero) are not compared; flags are above.
  if (std::memcmp(held_tcp, tcp, 4) != 0 || std::memcmp(held_tcp + 8, tcp + 8, 5) != 0 ||
      std::memcmp(held_tcp + 14, tcp + 14, 2) != 0 ||
      std::memcmp(held_tcp + kTcpHeaderSize, tcp + kTcpHeaderSize, tcp_header_ - kTcpHeaderSize) !=
          0) {
    return Added::kNotMerged;
  }
  uint32_t payload_sum = 0;
  if (!payload_sum_if_valid(packet, l4_offset_, tcp_header_, payload_sum)) {
    return Added::kNotMerged;
  }

  std::memcpy(buffer_.data() + packet_length_, tcp + tcp_header_, payload);
  // A payload that lands at an odd offset contributes its sum byte-swapped (RFC 1071 §2(B)).
  if (payload_length_ % 2 == 1) payload_sum = ((payload_sum & 0xff) << 8) | (payload_sum >> 8);
  payload_sum_ = fold(payload_sum_ + payload_sum);
  packet_length_ += payload;
  payload_length_ += payload;
  last_payload_ = payload;
  next_sequence_ += uint32_t(payload);
  ++segments_;
  if (tcp[13] & kTcpPsh) {
    buffer_[l4_offset_ + 13] |= kTcpPsh;
    return Added::kMergedEnd;
  }
  return Added::kMerged;
}

std::span<const uint8_t> TcpCoalescer::finish() noexcept {
  const std::span<uint8_t> packet = buffer_.first(packet_length_);
  if (segments_ > 1) {
    if (l4_offset_ == kIpv4HeaderSize) {
      store_be16(&packet[2], uint16_t(packet_length_));
      store_be16(&packet[10], 0);
      store_be16(&packet[10], uint16_t(~ones_complement_sum(packet.first(kIpv4HeaderSize))));
    } else {
      store_be16(&packet[4], uint16_t(packet_length_ - kIpv6HeaderSize));
    }
    const std::span<uint8_t> tcp = packet.subspan(l4_offset_);
    store_be16(&tcp[16], 0);
    const uint32_t header_sum =
        ones_complement_sum(tcp.first(tcp_header_), tcp_pseudo_header_sum(packet, tcp.size()));
    store_be16(&tcp[16], uint16_t(~fold(header_sum + payload_sum_)));
  }
  packet_length_ = 0;
  segments_ = 0;
  return packet;
}

}  // namespace slirpvpn::net
