// SPDX-License-Identifier: MIT
// Receive-side coalescing of in-order TCP segments for libslirp.
#include "slirp/tcp_coalescer.h"

#include <cstring>

#include "common/assert.h"
#include "common/endian.h"

namespace slirpvpn::slirp {
namespace {

constexpr uint8_t kTcpPsh = 0x08;
constexpr uint16_t kIpv4FragmentMask = 0x3fff;  // MF and the offset

uint32_t fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// The pseudo header (RFC 9293 §3.1, RFC 8200 §8.1) of a TCP segment of `tcp_length` bytes.
uint32_t pseudo_header_sum(std::span<const uint8_t> packet, uint8_t version,
                           std::size_t tcp_length) noexcept {
  const std::span<const uint8_t> addresses =
      version == 4 ? packet.subspan(12, 8) : packet.subspan(8, 32);
  return checksum_partial(addresses, kProtocolTcp + uint32_t(tcp_length));
}

std::size_t tcp_header_length(const IpInfo& info) noexcept {
  return std::size_t(info.packet[info.l4_offset + 12] >> 4) * 4;
}

}  // namespace

TcpCoalescer::TcpCoalescer(std::span<uint8_t> buffer, std::size_t max_packet) noexcept
    : buffer_(buffer), max_packet_(max_packet < buffer.size() ? max_packet : buffer.size()) {}

bool TcpCoalescer::eligible(const IpInfo& info) noexcept {
  if (info.protocol != kProtocolTcp || !info.has_ports || info.non_first_fragment) return false;
  if (info.tcp_flags != kTcpAck && info.tcp_flags != (kTcpAck | kTcpPsh)) return false;
  const std::span<const uint8_t> packet = info.packet;
  if (info.version == 4) {
    if (info.l4_offset != kIpv4HeaderSize || (load_be16(&packet[6]) & kIpv4FragmentMask) != 0) {
      return false;
    }
  } else if (info.l4_offset != kIpv6HeaderSize) {
    return false;  // extension headers
  }
  const std::size_t tcp_header = tcp_header_length(info);
  if (tcp_header < kTcpHeaderSize || info.l4_offset + tcp_header >= packet.size()) return false;
  return load_be16(&packet[info.l4_offset + 18]) == 0;  // no urgent pointer
}

bool TcpCoalescer::payload_sum_if_valid(const IpInfo& info, uint32_t& payload_sum) const noexcept {
  const std::span<const uint8_t> packet = info.packet;
  const std::size_t tcp_header = tcp_header_length(info);
  const std::span<const uint8_t> tcp = packet.subspan(info.l4_offset);
  payload_sum = fold(checksum_partial(tcp.subspan(tcp_header)));
  const uint32_t whole =
      checksum_partial(tcp.first(tcp_header), pseudo_header_sum(packet, info.version, tcp.size()));
  return checksum_finish(whole + payload_sum) == 0;
}

bool TcpCoalescer::start(const IpInfo& info) noexcept {
  SLIRPVPN_ASSERT(!pending() && eligible(info));
  uint32_t payload_sum = 0;
  if (info.packet.size() > max_packet_ || !payload_sum_if_valid(info, payload_sum)) return false;
  std::memcpy(buffer_.data(), info.packet.data(), info.packet.size());
  packet_length_ = info.packet.size();
  l4_offset_ = info.l4_offset;
  tcp_header_ = tcp_header_length(info);
  payload_length_ = packet_length_ - l4_offset_ - tcp_header_;
  next_sequence_ = info.tcp_seq + uint32_t(payload_length_);
  payload_sum_ = payload_sum;
  segments_ = 1;
  return true;
}

TcpCoalescer::Added TcpCoalescer::add(const IpInfo& info) noexcept {
  if (!pending() || !eligible(info) || info.tcp_seq != next_sequence_) return Added::kNotMerged;
  const std::span<const uint8_t> packet = info.packet;
  const uint8_t* held = buffer_.data();
  const bool v4 = info.version == 4;
  if (info.l4_offset != l4_offset_ || tcp_header_length(info) != tcp_header_ ||
      (held[0] >> 4) != info.version) {
    return Added::kNotMerged;
  }
  // The held segment must be a plain ACK: a PSH ended its run.
  if (held[l4_offset_ + 13] != kTcpAck) return Added::kNotMerged;
  const std::size_t payload = packet.size() - l4_offset_ - tcp_header_;
  if (packet_length_ + payload > max_packet_) return Added::kNotMerged;
  if (v4) {
    // TOS, then flags/fragment word, TTL and protocol; then both addresses.
    if (held[1] != packet[1] || std::memcmp(held + 6, &packet[6], 4) != 0 ||
        std::memcmp(held + 12, &packet[12], 8) != 0) {
      return Added::kNotMerged;
    }
  } else if (std::memcmp(held, packet.data(), 4) != 0 ||
             std::memcmp(held + 6, &packet[6], 34) != 0) {
    return Added::kNotMerged;  // class and flow label; next header, hop limit and addresses
  }
  const uint8_t* tcp = &packet[l4_offset_];
  const uint8_t* held_tcp = held + l4_offset_;
  // Ports; then acknowledgement number; then data offset, window (flags checked above and
  // below); then options. The checksum (16..17) and urgent pointer (18..19, zero) are not.
  if (std::memcmp(held_tcp, tcp, 4) != 0 || std::memcmp(held_tcp + 8, tcp + 8, 5) != 0 ||
      std::memcmp(held_tcp + 14, tcp + 14, 2) != 0 ||
      std::memcmp(held_tcp + kTcpHeaderSize, tcp + kTcpHeaderSize, tcp_header_ - kTcpHeaderSize) !=
          0) {
    return Added::kNotMerged;
  }
  uint32_t payload_sum = 0;
  if (!payload_sum_if_valid(info, payload_sum)) return Added::kNotMerged;

  std::memcpy(buffer_.data() + packet_length_, tcp + tcp_header_, payload);
  // A payload that lands at an odd offset contributes its sum byte-swapped (RFC 1071 §2(B)).
  if (payload_length_ % 2 == 1) payload_sum = ((payload_sum & 0xff) << 8) | (payload_sum >> 8);
  payload_sum_ = fold(payload_sum_ + payload_sum);
  packet_length_ += payload;
  payload_length_ += payload;
  next_sequence_ += uint32_t(payload);
  ++segments_;
  if (info.tcp_flags & kTcpPsh) {
    buffer_[l4_offset_ + 13] |= kTcpPsh;
    return Added::kMergedEnd;
  }
  return Added::kMerged;
}

std::span<const uint8_t> TcpCoalescer::finish() noexcept {
  const std::span<uint8_t> packet = buffer_.first(packet_length_);
  if (segments_ > 1) {
    const uint8_t version = packet[0] >> 4;
    if (version == 4) {
      store_be16(&packet[2], uint16_t(packet_length_));
      store_be16(&packet[10], 0);
      store_be16(&packet[10], checksum_finish(checksum_partial(packet.first(kIpv4HeaderSize))));
    } else {
      store_be16(&packet[4], uint16_t(packet_length_ - kIpv6HeaderSize));
    }
    const std::span<uint8_t> tcp = packet.subspan(l4_offset_);
    store_be16(&tcp[16], 0);
    const uint32_t header_sum =
        checksum_partial(tcp.first(tcp_header_), pseudo_header_sum(packet, version, tcp.size()));
    store_be16(&tcp[16], checksum_finish(header_sum + payload_sum_));
  }
  packet_length_ = 0;
  segments_ = 0;
  return packet;
}

}  // namespace slirpvpn::slirp
