// SPDX-License-Identifier: MIT
// Inner IP parsing, checksums, MSS clamp and refusal packets (TCP RST, ICMP prohibited).
#include "slirp/packet.h"

#include <algorithm>
#include <cstring>

#include "common/endian.h"

namespace slirpvpn::slirp {
namespace {

// IPv6 extension headers we walk to reach the transport header (RFC 8200 §4).
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kDestinationOptions = 60;
constexpr uint8_t kNoNextHeader = 59;
constexpr int kMaxExtensionHeaders = 8;

constexpr uint8_t kTcpOptionEnd = 0;
constexpr uint8_t kTcpOptionNop = 1;
constexpr uint8_t kTcpOptionMss = 2;

// RFC 1812 §4.3.2.3: an ICMPv4 error is at most 576 bytes.
constexpr std::size_t kIcmpv4ErrorMaxSize = 576;

std::array<uint8_t, 4> v4_bytes(const uint8_t* p) {
  return {p[0], p[1], p[2], p[3]};
}
std::array<uint8_t, 16> v6_bytes(const uint8_t* p) {
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), p, 16);
  return bytes;
}

// Reads the transport fields at info.l4_offset; false when the header does not fit.
bool parse_transport(IpInfo& info) noexcept {
  if (info.non_first_fragment) return true;
  std::span<const uint8_t> l4 = info.packet.subspan(info.l4_offset);
  switch (info.protocol) {
    case kProtocolTcp: {
      if (l4.size() < kTcpHeaderSize) return false;
      std::size_t data_offset = std::size_t(l4[12] >> 4) * 4;
      if (data_offset < kTcpHeaderSize || data_offset > l4.size()) return false;
      info.has_ports = true;
      info.source_port = load_be16(&l4[0]);
      info.destination_port = load_be16(&l4[2]);
      info.tcp_seq = load_be32(&l4[4]);
      info.tcp_ack = load_be32(&l4[8]);
      info.tcp_flags = l4[13];
      return true;
    }
    case kProtocolUdp:
      if (l4.size() < kUdpHeaderSize) return false;
      info.has_ports = true;
      info.source_port = load_be16(&l4[0]);
      info.destination_port = load_be16(&l4[2]);
      return true;
    case kProtocolIcmp:
    case kProtocolIcmpv6:
      if (l4.size() < 4) return false;
      info.icmp_type = l4[0];
      info.icmp_code = l4[1];
      return true;
    default:
      return true;
  }
}

IpDrop parse_ipv4(std::span<const uint8_t> packet, IpInfo& info) noexcept {
  if (packet.size() < kIpv4HeaderSize) return IpDrop::kTooShort;
  std::size_t header_length = std::size_t(packet[0] & 0x0f) * 4;
  if (header_length < kIpv4HeaderSize || header_length > packet.size()) {
    return IpDrop::kBadHeaderLength;
  }
  std::size_t total_length = load_be16(&packet[2]);
  if (total_length < header_length || total_length > packet.size()) {
    return IpDrop::kBadTotalLength;
  }
  if (checksum_finish(checksum_partial(packet.first(header_length))) != 0) {
    return IpDrop::kBadHeaderChecksum;
  }
  info.packet = packet.first(total_length);
  info.version = 4;
  info.protocol = packet[9];
  info.l4_offset = header_length;
  info.non_first_fragment = (load_be16(&packet[6]) & 0x1fff) != 0;
  info.source = net::IpAddress::v4(v4_bytes(&packet[12]));
  info.destination = net::IpAddress::v4(v4_bytes(&packet[16]));
  return IpDrop::kNone;
}

IpDrop parse_ipv6(std::span<const uint8_t> packet, IpInfo& info) noexcept {
  if (packet.size() < kIpv6HeaderSize) return IpDrop::kTooShort;
  std::size_t payload_length = load_be16(&packet[4]);
  // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675): not on a tunnel.
  if (payload_length == 0 && packet[6] == kHopByHop) return IpDrop::kBadExtensionHeader;
  if (kIpv6HeaderSize + payload_length > packet.size()) return IpDrop::kBadTotalLength;
  info.packet = packet.first(kIpv6HeaderSize + payload_length);
  info.version = 6;
  info.source = net::IpAddress::v6(v6_bytes(&packet[8]));
  info.destination = net::IpAddress::v6(v6_bytes(&packet[24]));
  uint8_t next = packet[6];
  std::size_t offset = kIpv6HeaderSize;
  for (int count = 0;; ++count) {
    if (next != kHopByHop && next != kRouting && next != kFragment && next != kDestinationOptions) {
      break;
    }
    if (count == kMaxExtensionHeaders || offset + 8 > info.packet.size()) {
      return IpDrop::kBadExtensionHeader;
    }
    uint8_t following = info.packet[offset];
    std::size_t length;
    if (next == kFragment) {
      length = 8;
      if ((load_be16(&info.packet[offset + 2]) & 0xfff8) != 0) info.non_first_fragment = true;
    } else {
      length = (std::size_t(info.packet[offset + 1]) + 1) * 8;
    }
    if (offset + length > info.packet.size()) return IpDrop::kBadExtensionHeader;
    offset += length;
    next = following;
  }
  info.protocol = next;
  info.l4_offset = offset;
  if (next == kNoNextHeader) info.non_first_fragment = false;
  return IpDrop::kNone;
}

// Writes an IPv4 header (no options, DF clear, TTL 64) with its checksum.
void write_ipv4_header(std::span<uint8_t> out, std::size_t total_length, uint8_t protocol,
                       const net::IpAddress& source, const net::IpAddress& destination) noexcept {
  out[0] = 0x45;
  out[1] = 0;
  store_be16(&out[2], uint16_t(total_length));
  store_be16(&out[4], 0);
  store_be16(&out[6], 0);
  out[8] = 64;
  out[9] = protocol;
  store_be16(&out[10], 0);
  std::memcpy(&out[12], source.bytes().data(), 4);
  std::memcpy(&out[16], destination.bytes().data(), 4);
  store_be16(&out[10], checksum_finish(checksum_partial(out.first(kIpv4HeaderSize))));
}

void write_ipv6_header(std::span<uint8_t> out, std::size_t payload_length, uint8_t next_header,
                       const net::IpAddress& source, const net::IpAddress& destination) noexcept {
  store_be32(&out[0], 0x60000000u);
  store_be16(&out[4], uint16_t(payload_length));
  out[6] = next_header;
  out[7] = 64;
  std::memcpy(&out[8], source.bytes().data(), 16);
  std::memcpy(&out[24], destination.bytes().data(), 16);
}

std::size_t ip_header_size(uint8_t version) {
  return version == 4 ? kIpv4HeaderSize : kIpv6HeaderSize;
}

}  // namespace

IpDrop parse_ip(std::span<const uint8_t> packet, IpInfo& info) noexcept {
  info = IpInfo{};
  if (packet.empty()) return IpDrop::kTooShort;
  IpDrop drop;
  switch (packet[0] >> 4) {
    case 4:
      drop = parse_ipv4(packet, info);
      break;
    case 6:
      drop = parse_ipv6(packet, info);
      break;
    default:
      return IpDrop::kBadVersion;
  }
  if (drop != IpDrop::kNone) return drop;
  if (!parse_transport(info)) return IpDrop::kTruncatedTransport;
  return IpDrop::kNone;
}

uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t sum) noexcept {
  std::size_t i = 0;
  // 64-bit accumulator: no carry handling inside the loop for any packet size we see.
  uint64_t wide = sum;
  for (; i + 1 < bytes.size(); i += 2) wide += load_be16(&bytes[i]);
  if (i < bytes.size()) wide += uint32_t(bytes[i]) << 8;
  while (wide >> 32) wide = (wide & 0xffffffffu) + (wide >> 32);
  return uint32_t(wide);
}

uint16_t checksum_finish(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

uint16_t transport_checksum(const net::IpAddress& source, const net::IpAddress& destination,
                            uint8_t protocol, std::span<const uint8_t> l4) noexcept {
  uint32_t sum = checksum_partial(source.bytes());
  sum = checksum_partial(destination.bytes(), sum);
  // Both pseudo headers reduce to: length (16 or 32 bits, same sum) + protocol.
  sum += uint32_t(l4.size() & 0xffff) + uint32_t(l4.size() >> 16) + protocol;
  return checksum_finish(checksum_partial(l4, sum));
}

uint16_t checksum_adjust(uint16_t checksum, uint16_t old_value, uint16_t new_value) noexcept {
  // HC' = ~(~HC + ~m + m')
  uint32_t sum = uint32_t(uint16_t(~checksum)) + uint16_t(~old_value) + new_value;
  return checksum_finish(sum);
}

uint16_t max_mss_for_mtu(std::size_t mtu, uint8_t ip_version) noexcept {
  std::size_t overhead = (ip_version == 4 ? kIpv4HeaderSize : kIpv6HeaderSize) + kTcpHeaderSize;
  if (mtu <= overhead) return 0;
  return uint16_t(std::min<std::size_t>(mtu - overhead, 0xffff));
}

namespace {

// Offset of the MSS option's value inside the TCP header of the SYN segment `info`, or 0 when
// the segment is no SYN or carries no well-formed MSS option.
std::size_t find_mss_value(std::span<const uint8_t> packet, const IpInfo& info) noexcept {
  if (info.protocol != kProtocolTcp || !info.has_ports || (info.tcp_flags & kTcpSyn) == 0) {
    return 0;
  }
  if (info.l4_offset + kTcpHeaderSize > packet.size()) return 0;
  std::span<const uint8_t> tcp = packet.subspan(info.l4_offset);
  std::size_t data_offset = std::size_t(tcp[12] >> 4) * 4;
  if (data_offset > tcp.size()) return 0;
  std::size_t i = kTcpHeaderSize;
  while (i < data_offset) {
    uint8_t kind = tcp[i];
    if (kind == kTcpOptionEnd) break;
    if (kind == kTcpOptionNop) {
      ++i;
      continue;
    }
    if (i + 1 >= data_offset) break;
    std::size_t length = tcp[i + 1];
    if (length < 2 || i + length > data_offset) break;
    if (kind == kTcpOptionMss && length == 4) return i + 2;
    i += length;
  }
  return 0;
}

// Stores `mss` at `value_offset` of the TCP header and fixes the TCP checksum incrementally.
void store_mss(std::span<uint8_t> tcp, std::size_t value_offset, uint16_t mss) noexcept {
  // The option sits at an even or odd offset; adjust on the aligned 16-bit words.
  if (value_offset % 2 == 0) {
    const uint16_t old_mss = load_be16(&tcp[value_offset]);
    store_be16(&tcp[value_offset], mss);
    store_be16(&tcp[16], checksum_adjust(load_be16(&tcp[16]), old_mss, mss));
    return;
  }
  const uint16_t old_a = load_be16(&tcp[value_offset - 1]);
  const uint16_t old_b = load_be16(&tcp[value_offset + 1]);
  store_be16(&tcp[value_offset], mss);
  uint16_t checksum = load_be16(&tcp[16]);
  checksum = checksum_adjust(checksum, old_a, load_be16(&tcp[value_offset - 1]));
  checksum = checksum_adjust(checksum, old_b, load_be16(&tcp[value_offset + 1]));
  store_be16(&tcp[16], checksum);
}

}  // namespace

bool clamp_mss(std::span<uint8_t> packet, const IpInfo& info, uint16_t max_mss) noexcept {
  const std::size_t at = find_mss_value(packet, info);
  if (at == 0) return false;
  std::span<uint8_t> tcp = packet.subspan(info.l4_offset);
  if (load_be16(&tcp[at]) <= max_mss) return false;
  store_mss(tcp, at, max_mss);
  return true;
}

bool raise_mss(std::span<uint8_t> packet, const IpInfo& info, uint16_t at_least,
               uint16_t raised) noexcept {
  const std::size_t at = find_mss_value(packet, info);
  if (at == 0) return false;
  std::span<uint8_t> tcp = packet.subspan(info.l4_offset);
  const uint16_t mss = load_be16(&tcp[at]);
  if (mss < at_least || mss >= raised) return false;
  store_mss(tcp, at, raised);
  return true;
}

std::size_t fragment_ipv4(const IpInfo& info, std::size_t mtu, net::PacketBatch& out) noexcept {
  const std::span<const uint8_t> packet = info.packet;
  if (info.version != 4 || info.l4_offset != kIpv4HeaderSize || mtu > out.slot_capacity() ||
      mtu < kIpv4HeaderSize + 8) {
    return 0;
  }
  const uint16_t flags_offset = load_be16(&packet[6]);
  constexpr uint16_t kDontFragment = 0x4000;
  constexpr uint16_t kMoreFragments = 0x2000;
  if (flags_offset & kDontFragment) return 0;
  const std::size_t payload = packet.size() - kIpv4HeaderSize;
  const std::size_t chunk = (mtu - kIpv4HeaderSize) / 8 * 8;
  const std::size_t count = (payload + chunk - 1) / chunk;
  if (count > out.slots()) return 0;
  const std::size_t first_offset = std::size_t(flags_offset & 0x1fff) * 8;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t offset = k * chunk;
    const std::size_t size = std::min(chunk, payload - offset);
    std::span<uint8_t> fragment = out.buffer(k);
    std::memcpy(fragment.data(), packet.data(), kIpv4HeaderSize);
    std::memcpy(fragment.data() + kIpv4HeaderSize, packet.data() + kIpv4HeaderSize + offset, size);
    const bool more = k + 1 < count || (flags_offset & kMoreFragments);
    store_be16(&fragment[2], uint16_t(kIpv4HeaderSize + size));
    store_be16(&fragment[6], uint16_t(((first_offset + offset) / 8) | (more ? kMoreFragments : 0)));
    store_be16(&fragment[10], 0);
    store_be16(&fragment[10], checksum_finish(checksum_partial(fragment.first(kIpv4HeaderSize))));
    out.set_length(k, kIpv4HeaderSize + size);
  }
  return count;
}

std::size_t build_tcp_rst(const IpInfo& info, std::span<uint8_t> out) noexcept {
  if (info.protocol != kProtocolTcp || !info.has_ports || (info.tcp_flags & kTcpRst) != 0) {
    return 0;
  }
  const std::size_t ip_size = ip_header_size(info.version);
  const std::size_t total = ip_size + kTcpHeaderSize;
  if (out.size() < total) return 0;
  std::span<uint8_t> tcp = out.subspan(ip_size, kTcpHeaderSize);
  std::fill(tcp.begin(), tcp.end(), uint8_t(0));
  store_be16(&tcp[0], info.destination_port);
  store_be16(&tcp[2], info.source_port);
  if (info.tcp_flags & kTcpAck) {
    store_be32(&tcp[4], info.tcp_ack);
    tcp[13] = kTcpRst;
  } else {
    std::span<const uint8_t> segment = info.packet.subspan(info.l4_offset);
    std::size_t data_offset = std::size_t(segment[12] >> 4) * 4;
    uint32_t length = uint32_t(segment.size() - data_offset);
    if (info.tcp_flags & kTcpSyn) ++length;
    if (info.tcp_flags & kTcpFin) ++length;
    store_be32(&tcp[8], info.tcp_seq + length);
    tcp[13] = kTcpRst | kTcpAck;
  }
  tcp[12] = uint8_t((kTcpHeaderSize / 4) << 4);
  store_be16(&tcp[16], transport_checksum(info.destination, info.source, kProtocolTcp, tcp));
  if (info.version == 4) {
    write_ipv4_header(out, total, kProtocolTcp, info.destination, info.source);
  } else {
    write_ipv6_header(out, kTcpHeaderSize, kProtocolTcp, info.destination, info.source);
  }
  return total;
}

bool is_icmp_error(const IpInfo& info) noexcept {
  if (info.non_first_fragment) return false;
  if (info.version == 4 && info.protocol == kProtocolIcmp) {
    // Destination unreachable, source quench, redirect, time exceeded, parameter problem.
    return info.icmp_type == 3 || info.icmp_type == 4 || info.icmp_type == 5 ||
           info.icmp_type == 11 || info.icmp_type == 12;
  }
  if (info.version == 6 && info.protocol == kProtocolIcmpv6) return info.icmp_type < 128;
  return false;
}

std::size_t build_icmp_prohibited(const IpInfo& info, const net::IpAddress& from,
                                  std::span<uint8_t> out) noexcept {
  if (is_icmp_error(info) || from.is_v4() != (info.version == 4)) return 0;
  // RFC 1122 §3.2.2 / RFC 4443 §2.4 (e): never answer an error, a fragment after the first or
  // a multicast/broadcast destination. The policy already refuses multicast; fragments here.
  if (info.non_first_fragment) return 0;
  const bool v4 = info.version == 4;
  const std::size_t ip_size = ip_header_size(info.version);
  const std::size_t limit = std::min(out.size(), v4 ? kIcmpv4ErrorMaxSize : kIcmpErrorMaxSize);
  if (limit < ip_size + 8 + (v4 ? kIpv4HeaderSize + 8 : kIpv6HeaderSize)) return 0;
  const std::size_t quote = std::min(info.packet.size(), limit - ip_size - 8);
  const std::size_t icmp_size = 8 + quote;
  std::span<uint8_t> icmp = out.subspan(ip_size, icmp_size);
  icmp[0] = v4 ? 3 : 1;   // destination unreachable
  icmp[1] = v4 ? 13 : 1;  // administratively prohibited
  store_be16(&icmp[2], 0);
  store_be32(&icmp[4], 0);  // unused
  std::memcpy(&icmp[8], info.packet.data(), quote);
  if (v4) {
    store_be16(&icmp[2], checksum_finish(checksum_partial(icmp)));
    write_ipv4_header(out, ip_size + icmp_size, kProtocolIcmp, from, info.source);
  } else {
    store_be16(&icmp[2], transport_checksum(from, info.source, kProtocolIcmpv6, icmp));
    write_ipv6_header(out, icmp_size, kProtocolIcmpv6, from, info.source);
  }
  return ip_size + icmp_size;
}

}  // namespace slirpvpn::slirp
