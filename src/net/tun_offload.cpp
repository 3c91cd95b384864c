// SPDX-License-Identifier: MIT
// Segmentation of TSO super-packets and completion of partial checksums from an IFF_VNET_HDR TUN.
#include "net/tun_offload.h"

#include <cstring>

#include "common/endian.h"
#include "net/internet_checksum.h"

namespace slirpvpn::net {
namespace {

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

// virtio fields are in the host's byte order on a TUN (legacy virtio, TUNSETVNETLE not used).
uint16_t load_native16(const uint8_t* p) {
  uint16_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

}  // namespace

void prepare_gso_write(std::span<uint8_t> packet, size_t segment_payload,
                       std::span<uint8_t, kVirtioNetHeaderSize> header) noexcept {
  const bool v4 = (packet[0] >> 4) == 4;
  const size_t l4 = v4 ? size_t(packet[0] & 0x0f) * 4 : 40;
  const size_t tcp_length = packet.size() - l4;
  const size_t headers = l4 + size_t(packet[l4 + 12] >> 4) * 4;
  const uint16_t partial = ones_complement_sum({}, pseudo_header_sum(packet, v4, 6, tcp_length));
  store_be16(&packet[l4 + 16], partial);
  const auto store_native16 = [&](size_t at, size_t value) {
    const uint16_t field = static_cast<uint16_t>(value);
    std::memcpy(&header[at], &field, sizeof field);
  };
  header[0] = kVirtioNeedsChecksum;
  header[1] = v4 ? kVirtioGsoTcpV4 : kVirtioGsoTcpV6;
  store_native16(2, headers);
  store_native16(4, segment_payload);
  store_native16(6, l4);
  store_native16(8, 16);
}

SplitOutcome split_offloaded_packet(std::span<const uint8_t> read, PacketBatch& out,
                                    size_t first_slot) noexcept {
  SplitOutcome outcome;
  if (read.size() < kVirtioNetHeaderSize + 20) return {0, OffloadDrop::kMalformed};
  const uint8_t flags = read[0];
  const uint8_t gso_type = read[1];
  const size_t gso_size = load_native16(&read[4]);
  const size_t csum_start = load_native16(&read[6]);
  const size_t csum_offset = load_native16(&read[8]);
  const std::span<const uint8_t> packet = read.subspan(kVirtioNetHeaderSize);
  const bool v4 = (packet[0] >> 4) == 4;
  if (!v4 && ((packet[0] >> 4) != 6 || packet.size() < 40)) return {0, OffloadDrop::kMalformed};

  if (gso_type == kVirtioGsoNone) {
    if (first_slot >= out.slots() || packet.size() > out.slot_capacity()) {
      return {0, OffloadDrop::kNoRoom};
    }
    std::span<uint8_t> copy = out.buffer(first_slot);
    std::memcpy(copy.data(), packet.data(), packet.size());
    if (flags & kVirtioNeedsChecksum) {
      // The field already holds the pseudo-header sum: summing over it completes the checksum.
      if (csum_start >= packet.size() || csum_start + csum_offset + 2 > packet.size()) {
        return {0, OffloadDrop::kMalformed};
      }
      const size_t field = csum_start + csum_offset;
      uint16_t checksum =
          ~ones_complement_sum({copy.data() + csum_start, packet.size() - csum_start});
      // UDP sends "no checksum" as 0, so a computed 0 goes out as all ones (RFC 768).
      if (checksum == 0 && csum_offset == 6) checksum = 0xffff;
      store_be16(copy.data() + field, checksum);
    }
    out.set_length(first_slot, packet.size());
    return {1, OffloadDrop::kNone};
  }

  if ((gso_type & ~kVirtioGsoEcn) != kVirtioGsoTcpV4 &&
      (gso_type & ~kVirtioGsoEcn) != kVirtioGsoTcpV6) {
    return {0, OffloadDrop::kUnsupported};
  }
  // Where TCP starts: after the IPv4 options, or straight after the fixed IPv6 header.
  const size_t ip_length = v4 ? size_t(packet[0] & 0x0f) * 4 : 40;
  const uint8_t protocol = v4 ? packet[9] : packet[6];
  if (protocol != 6 || ip_length < 20 || packet.size() < ip_length + 20 || gso_size == 0 ||
      (v4 != ((gso_type & ~kVirtioGsoEcn) == kVirtioGsoTcpV4))) {
    return {0, OffloadDrop::kMalformed};
  }
  const size_t tcp_length = size_t(packet[ip_length + 12] >> 4) * 4;
  const size_t headers = ip_length + tcp_length;
  if (tcp_length < 20 || packet.size() <= headers) return {0, OffloadDrop::kMalformed};
  const size_t payload = packet.size() - headers;
  const size_t segments = (payload + gso_size - 1) / gso_size;
  if (first_slot + segments > out.slots() || headers + gso_size > out.slot_capacity()) {
    return {0, OffloadDrop::kNoRoom};
  }

  const uint32_t first_sequence = load_be32(&packet[ip_length + 4]);
  const uint16_t first_id = v4 ? load_be16(&packet[4]) : 0;
  for (size_t k = 0; k < segments; ++k) {
    const size_t offset = k * gso_size;
    const size_t size = payload - offset < gso_size ? payload - offset : gso_size;
    std::span<uint8_t> segment = out.buffer(first_slot + k);
    std::memcpy(segment.data(), packet.data(), headers);
    std::memcpy(segment.data() + headers, packet.data() + headers + offset, size);
    const size_t total = headers + size;
    if (v4) {
      store_be16(&segment[2], static_cast<uint16_t>(total));
      store_be16(&segment[4], static_cast<uint16_t>(first_id + k));  // as the kernel's TSO does
      store_be16(&segment[10], 0);
      store_be16(&segment[10], ~ones_complement_sum({segment.data(), ip_length}));
    } else {
      store_be16(&segment[4], static_cast<uint16_t>(total - 40));
    }
    uint8_t* tcp = segment.data() + ip_length;
    store_be32(tcp + 4, first_sequence + static_cast<uint32_t>(offset));
    if (k + 1 < segments) tcp[13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (k > 0) tcp[13] &= static_cast<uint8_t>(~kTcpCwr);
    store_be16(tcp + 16, 0);
    const uint32_t pseudo = pseudo_header_sum(segment, v4, 6, tcp_length + size);
    store_be16(tcp + 16, ~ones_complement_sum({tcp, tcp_length + size}, pseudo));
    out.set_length(first_slot + k, total);
  }
  outcome.count = segments;
  return outcome;
}

}  // namespace slirpvpn::net
