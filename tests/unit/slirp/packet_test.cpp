// SPDX-License-Identifier: MIT
// Inner packet parsing, checksums (vs. independently computed packets), MSS clamp, refusals.
#include "slirp/packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/endian.h"

namespace slirpvpn::slirp {
namespace {

std::vector<uint8_t> hex(const std::string& text) {
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(uint8_t(std::stoul(text.substr(i, 2), nullptr, 16)));
  }
  return out;
}

net::IpAddress addr(const char* text) {
  return *net::IpAddress::parse(text);
}

// IPv4 header around `l4` with a correct header checksum.
std::vector<uint8_t> ipv4(const char* src, const char* dst, uint8_t protocol,
                          const std::vector<uint8_t>& l4) {
  std::vector<uint8_t> p(20 + l4.size());
  p[0] = 0x45;
  store_be16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = protocol;
  std::copy_n(addr(src).bytes().begin(), 4, p.begin() + 12);
  std::copy_n(addr(dst).bytes().begin(), 4, p.begin() + 16);
  store_be16(&p[10], checksum_finish(checksum_partial(std::span(p).first(20))));
  std::copy(l4.begin(), l4.end(), p.begin() + 20);
  return p;
}

std::vector<uint8_t> ipv6(const char* src, const char* dst, uint8_t next,
                          const std::vector<uint8_t>& l4) {
  std::vector<uint8_t> p(40 + l4.size());
  p[0] = 0x60;
  store_be16(&p[4], uint16_t(l4.size()));
  p[6] = next;
  p[7] = 64;
  std::copy_n(addr(src).bytes().begin(), 16, p.begin() + 8);
  std::copy_n(addr(dst).bytes().begin(), 16, p.begin() + 24);
  std::copy(l4.begin(), l4.end(), p.begin() + 40);
  return p;
}

// Computed independently (Python, RFC 1071 sum over pseudo header + segment): a SYN
// 10.0.2.15:40000 -> 93.184.216.34:443, seq 1000, MSS 1460, NOP NOP SACK-permitted.
const char* kSyn4 = "9c4001bb000003e8000000007002faf0a4610000020405b401010402";
const char* kSyn4Clamped1380 = "9c4001bb000003e8000000007002faf0a4b100000204056401010402";
// fec0::15 -> 2001:db8::1, NOP then MSS 1440 at an odd offset.
const char* kSyn6Odd = "9c4001bb000003e8000000007002faf0206e000001020405a0010100";
const char* kSyn6OddClamped1360 = "9c4001bb000003e8000000007002faf0706e00000102040550010100";

TEST(Checksum, KnownIpv4Header) {
  // The classic example header (checksum 0xb861).
  auto header = hex("450000730000400040110000c0a80001c0a800c7");
  EXPECT_EQ(checksum_finish(checksum_partial(header)), 0xb861);
  header[10] = 0xb8;
  header[11] = 0x61;
  EXPECT_EQ(checksum_finish(checksum_partial(header)), 0);
}

TEST(Checksum, KnownTcpSegmentsVerify) {
  EXPECT_EQ(transport_checksum(addr("10.0.2.15"), addr("93.184.216.34"), kProtocolTcp, hex(kSyn4)),
            0);
  EXPECT_EQ(transport_checksum(addr("fec0::15"), addr("2001:db8::1"), kProtocolTcp, hex(kSyn6Odd)),
            0);
  auto bad = hex(kSyn4);
  bad[25] ^= 1;
  EXPECT_NE(transport_checksum(addr("10.0.2.15"), addr("93.184.216.34"), kProtocolTcp, bad), 0);
}

TEST(Checksum, AdjustMatchesRecompute) {
  auto segment = hex(kSyn4);
  uint16_t old_checksum = load_be16(&segment[16]);
  store_be16(&segment[22], 1000);
  uint16_t adjusted = checksum_adjust(old_checksum, 1460, 1000);
  store_be16(&segment[16], 0);
  EXPECT_EQ(adjusted,
            transport_checksum(addr("10.0.2.15"), addr("93.184.216.34"), kProtocolTcp, segment));
}

TEST(ParseIp, AcceptsTcpAndTrimsPadding) {
  auto packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex(kSyn4));
  packet.resize(packet.size() + 12, 0);  // WireGuard padding
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(info.packet.size(), packet.size() - 12);
  EXPECT_EQ(info.version, 4);
  EXPECT_EQ(info.protocol, kProtocolTcp);
  EXPECT_TRUE(info.has_ports);
  EXPECT_EQ(info.source_port, 40000);
  EXPECT_EQ(info.destination_port, 443);
  EXPECT_EQ(info.tcp_flags, kTcpSyn);
  EXPECT_EQ(info.destination, addr("93.184.216.34"));
}

TEST(ParseIp, DropsMalformedWithReason) {
  auto good = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex(kSyn4));
  IpInfo info;
  EXPECT_EQ(parse_ip(std::span(good).first(10), info), IpDrop::kTooShort);
  auto v = good;
  v[0] = 0x55;
  EXPECT_EQ(parse_ip(v, info), IpDrop::kBadVersion);
  auto ihl = good;
  ihl[0] = 0x44;
  EXPECT_EQ(parse_ip(ihl, info), IpDrop::kBadHeaderLength);
  auto total = good;
  store_be16(&total[2], uint16_t(good.size() + 1));
  EXPECT_EQ(parse_ip(total, info), IpDrop::kBadTotalLength);
  auto sum = good;
  sum[8] = 63;
  EXPECT_EQ(parse_ip(sum, info), IpDrop::kBadHeaderChecksum);
  auto truncated = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex("9c4001bb"));
  EXPECT_EQ(parse_ip(truncated, info), IpDrop::kTruncatedTransport);
  auto six = ipv6("fec0::15", "2001:db8::1", kProtocolTcp, hex(kSyn6Odd));
  store_be16(&six[4], 2000);
  EXPECT_EQ(parse_ip(six, info), IpDrop::kBadTotalLength);
}

TEST(ParseIp, WalksIpv6ExtensionHeaders) {
  // Hop-by-hop (8 bytes, next = fragment), fragment (offset 0, next = UDP), UDP header.
  std::vector<uint8_t> l4 =
      hex("2c00010400000000"
          "1100000000000001"
          "d431003500080000");
  auto packet = ipv6("fec0::15", "2001:db8::1", 0, l4);
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(info.protocol, kProtocolUdp);
  EXPECT_EQ(info.l4_offset, 56u);
  EXPECT_EQ(info.destination_port, 53);
  EXPECT_FALSE(info.non_first_fragment);
  // A later fragment: no transport header read.
  packet[40 + 8 + 3] = 0x08;  // offset 1 (in 8-byte units, bits 15..3)
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_TRUE(info.non_first_fragment);
  EXPECT_FALSE(info.has_ports);
  // Truncated chain.
  auto cut = ipv6("fec0::15", "2001:db8::1", 0, hex("2c00"));
  EXPECT_EQ(parse_ip(cut, info), IpDrop::kBadExtensionHeader);
}

TEST(MssClamp, RewritesIpv4AndKeepsChecksumValid) {
  auto packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex(kSyn4));
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(max_mss_for_mtu(1420, 4), 1380);
  EXPECT_TRUE(clamp_mss(packet, info, 1380));
  EXPECT_EQ(std::vector<uint8_t>(packet.begin() + 20, packet.end()), hex(kSyn4Clamped1380));
  // Already small enough: untouched.
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_FALSE(clamp_mss(packet, info, 1400));
}

TEST(MssClamp, RewritesIpv6OptionAtOddOffset) {
  auto packet = ipv6("fec0::15", "2001:db8::1", kProtocolTcp, hex(kSyn6Odd));
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(max_mss_for_mtu(1420, 6), 1360);
  EXPECT_TRUE(clamp_mss(packet, info, 1360));
  EXPECT_EQ(std::vector<uint8_t>(packet.begin() + 40, packet.end()), hex(kSyn6OddClamped1360));
}

TEST(MssClamp, IgnoresNonSynAndMalformedOptions) {
  auto ack = hex(kSyn4);
  ack[13] = kTcpAck;
  auto packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, ack);
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_FALSE(clamp_mss(packet, info, 536));
  auto bad = hex(kSyn4);
  bad[21] = 40;  // option length past the header
  packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, bad);
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_FALSE(clamp_mss(packet, info, 536));
}

TEST(MssRaise, RaisesOnlyFullSizeOffersAndKeepsChecksumValid) {
  auto packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex(kSyn4Clamped1380));
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_TRUE(raise_mss(packet, info, 1380, 65480));
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(load_be16(&packet[20 + 22]), 65480);
  EXPECT_EQ(transport_checksum(info.source, info.destination, kProtocolTcp,
                               std::span(packet).subspan(20)),
            0);
  // A peer that asked for less than a tunnel-size segment keeps its offer: it may not take more.
  packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex(kSyn4Clamped1380));
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_FALSE(raise_mss(packet, info, 1400, 65480));
  // Odd offset (IPv6).
  packet = ipv6("fec0::15", "2001:db8::1", kProtocolTcp, hex(kSyn6OddClamped1360));
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_TRUE(raise_mss(packet, info, 1360, 65460));
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(transport_checksum(info.source, info.destination, kProtocolTcp,
                               std::span(packet).subspan(40)),
            0);
}

TEST(Fragment, SplitsUdpIntoValidFragmentsThatReassemble) {
  std::vector<uint8_t> udp(8 + 3000);
  for (std::size_t i = 0; i < udp.size(); ++i) udp[i] = uint8_t(i * 7);
  auto packet = ipv4("93.184.216.34", "10.0.2.15", kProtocolUdp, udp);
  store_be16(&packet[4], 0x1234);
  store_be16(&packet[10], 0);
  store_be16(&packet[10], checksum_finish(checksum_partial(std::span(packet).first(20))));
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  net::PacketBatch out(8, 1420);
  const std::size_t count = fragment_ipv4(info, 1420, out);
  ASSERT_EQ(count, 3u);
  std::vector<uint8_t> reassembled(udp.size());
  std::size_t covered = 0;
  for (std::size_t k = 0; k < count; ++k) {
    auto fragment = out.packet(k);
    IpInfo part;
    ASSERT_EQ(parse_ip(fragment, part), IpDrop::kNone) << k;  // header checksum valid
    EXPECT_LE(fragment.size(), 1420u);
    EXPECT_EQ(load_be16(&fragment[4]), 0x1234);
    const uint16_t word = load_be16(&fragment[6]);
    EXPECT_EQ((word & 0x2000) != 0, k + 1 < count);
    const std::size_t offset = std::size_t(word & 0x1fff) * 8;
    std::copy(fragment.begin() + 20, fragment.end(), reassembled.begin() + offset);
    covered += fragment.size() - 20;
  }
  EXPECT_EQ(covered, udp.size());
  EXPECT_EQ(reassembled, udp);
  // Don't Fragment: refused.
  store_be16(&packet[6], 0x4000);
  store_be16(&packet[10], 0);
  store_be16(&packet[10], checksum_finish(checksum_partial(std::span(packet).first(20))));
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  EXPECT_EQ(fragment_ipv4(info, 1420, out), 0u);
}

TEST(Refusal, RstForSynMatchesKnownPacket) {
  auto packet = ipv4("10.0.2.15", "93.184.216.34", kProtocolTcp, hex(kSyn4));
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  std::array<uint8_t, kTcpRstMaxSize> out{};
  std::size_t size = build_tcp_rst(info, out);
  ASSERT_EQ(size, 40u);
  IpInfo rst;
  ASSERT_EQ(parse_ip(std::span(out).first(size), rst), IpDrop::kNone);
  EXPECT_EQ(rst.source, addr("93.184.216.34"));
  EXPECT_EQ(rst.destination, addr("10.0.2.15"));
  EXPECT_EQ(rst.source_port, 443);
  EXPECT_EQ(rst.destination_port, 40000);
  EXPECT_EQ(rst.tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(rst.tcp_seq, 0u);
  EXPECT_EQ(rst.tcp_ack, 1001u);                // SYN counts one
  EXPECT_EQ(load_be16(&out[20 + 16]), 0xcc02);  // computed independently
  // Never answer a RST with a RST.
  IpInfo reset = info;
  reset.tcp_flags = kTcpRst;
  EXPECT_EQ(build_tcp_rst(reset, out), 0u);
}

TEST(Refusal, RstForAckUsesItsAckAsSequence) {
  auto segment = hex(kSyn4);
  segment[13] = kTcpAck;
  store_be32(&segment[8], 777);
  auto packet = ipv6("fec0::15", "2001:db8::1", kProtocolTcp, segment);
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  std::array<uint8_t, kTcpRstMaxSize> out{};
  std::size_t size = build_tcp_rst(info, out);
  ASSERT_EQ(size, 60u);
  IpInfo rst;
  ASSERT_EQ(parse_ip(std::span(out).first(size), rst), IpDrop::kNone);
  EXPECT_EQ(rst.tcp_flags, kTcpRst);
  EXPECT_EQ(rst.tcp_seq, 777u);
  EXPECT_EQ(
      transport_checksum(rst.source, rst.destination, kProtocolTcp, std::span(out).subspan(40, 20)),
      0);
}

TEST(Refusal, IcmpProhibitedV4AndV6) {
  std::vector<uint8_t> udp = hex("d431003500100000");
  udp.resize(16, 0xab);
  auto packet = ipv4("10.0.2.15", "169.254.169.254", kProtocolUdp, udp);
  IpInfo info;
  ASSERT_EQ(parse_ip(packet, info), IpDrop::kNone);
  std::array<uint8_t, kIcmpErrorMaxSize> out{};
  std::size_t size = build_icmp_prohibited(info, addr("10.0.2.2"), out);
  ASSERT_EQ(size, 20 + 8 + packet.size());
  IpInfo icmp;
  ASSERT_EQ(parse_ip(std::span(out).first(size), icmp), IpDrop::kNone);
  EXPECT_EQ(icmp.protocol, kProtocolIcmp);
  EXPECT_EQ(icmp.icmp_type, 3);
  EXPECT_EQ(icmp.icmp_code, 13);
  EXPECT_EQ(icmp.source, addr("10.0.2.2"));
  EXPECT_EQ(icmp.destination, addr("10.0.2.15"));
  EXPECT_EQ(checksum_finish(checksum_partial(std::span(out).subspan(20, size - 20))), 0);
  EXPECT_TRUE(std::equal(packet.begin(), packet.end(), out.begin() + 28));
  // An ICMP error is never answered.
  EXPECT_EQ(build_icmp_prohibited(icmp, addr("10.0.2.2"), out), 0u);

  std::vector<uint8_t> big(1400, 0x11);
  std::copy_n(udp.begin(), 8, big.begin());
  store_be16(&big[4], uint16_t(big.size()));
  auto packet6 = ipv6("fec0::15", "fd00::1", kProtocolUdp, big);
  ASSERT_EQ(parse_ip(packet6, info), IpDrop::kNone);
  size = build_icmp_prohibited(info, addr("fec0::2"), out);
  ASSERT_EQ(size, 1280u);  // quote truncated to the IPv6 minimum MTU
  ASSERT_EQ(parse_ip(std::span(out).first(size), icmp), IpDrop::kNone);
  EXPECT_EQ(icmp.icmp_type, 1);
  EXPECT_EQ(icmp.icmp_code, 1);
  EXPECT_EQ(transport_checksum(icmp.source, icmp.destination, kProtocolIcmpv6,
                               std::span(out).subspan(40, size - 40)),
            0);
  EXPECT_TRUE(is_icmp_error(icmp));
}

}  // namespace
}  // namespace slirpvpn::slirp
