// SPDX-License-Identifier: MIT
// TCP coalescing: merged segments are valid and carry exactly the payloads; non-continuations,
// other flows, flags and corrupt segments are never merged.
#include "net/tcp_coalescer.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/endian.h"
#include "net/internet_checksum.h"
#include "net/ip_address.h"

namespace slirpvpn::net {
namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpFin = 0x01;
constexpr std::size_t kIpv4HeaderSize = 20;
constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kTcpHeaderSize = 20;

// The TCP checksum over the pseudo header and `tcp`, as stored (0 in the field) or verified
// (0 when correct).
uint16_t tcp_checksum(std::span<const uint8_t> packet, std::size_t l4) {
  const bool v4 = (packet[0] >> 4) == 4;
  const auto addresses = v4 ? packet.subspan(12, 8) : packet.subspan(8, 32);
  const auto tcp = packet.subspan(l4);
  return uint16_t(~ones_complement_sum(
      tcp, ones_complement_sum(addresses, kProtocolTcp + uint32_t(tcp.size()))));
}

struct Segment {
  int version = 4;
  uint32_t seq = 1000;
  uint32_t ack = 5000;
  uint16_t window = 512;
  uint8_t flags = kTcpAck;
  uint16_t source_port = 40000;
  std::vector<uint8_t> options;  // multiple of 4
  std::vector<uint8_t> payload;
  bool corrupt = false;  // wrong TCP checksum
};

std::vector<uint8_t> payload_bytes(std::size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = uint8_t(seed + i * 31);
  return bytes;
}

std::vector<uint8_t> build(const Segment& s) {
  const std::size_t ip = s.version == 4 ? kIpv4HeaderSize : kIpv6HeaderSize;
  const std::size_t tcp_header = kTcpHeaderSize + s.options.size();
  std::vector<uint8_t> p(ip + tcp_header + s.payload.size());
  const IpAddress source = *IpAddress::parse(s.version == 4 ? "10.0.2.15" : "fec0::15");
  const IpAddress destination = *IpAddress::parse(s.version == 4 ? "203.0.113.2" : "2001:db8::1");
  if (s.version == 4) {
    p[0] = 0x45;
    store_be16(&p[2], uint16_t(p.size()));
    store_be16(&p[4], uint16_t(s.seq));  // some ID
    store_be16(&p[6], 0x4000);           // DF
    p[8] = 64;
    p[9] = kProtocolTcp;
    std::copy_n(source.bytes().begin(), 4, p.begin() + 12);
    std::copy_n(destination.bytes().begin(), 4, p.begin() + 16);
    store_be16(&p[10], uint16_t(~ones_complement_sum(std::span(p).first(20))));
  } else {
    p[0] = 0x60;
    store_be16(&p[4], uint16_t(p.size() - ip));
    p[6] = kProtocolTcp;
    p[7] = 64;
    std::copy_n(source.bytes().begin(), 16, p.begin() + 8);
    std::copy_n(destination.bytes().begin(), 16, p.begin() + 24);
  }
  uint8_t* tcp = &p[ip];
  store_be16(tcp, s.source_port);
  store_be16(tcp + 2, 443);
  store_be32(tcp + 4, s.seq);
  store_be32(tcp + 8, s.ack);
  tcp[12] = uint8_t((tcp_header / 4) << 4);
  tcp[13] = s.flags;
  store_be16(tcp + 14, s.window);
  std::copy(s.options.begin(), s.options.end(), tcp + kTcpHeaderSize);
  std::copy(s.payload.begin(), s.payload.end(), tcp + tcp_header);
  store_be16(tcp + 16, 0);
  uint16_t checksum = tcp_checksum(p, ip);
  if (s.corrupt) checksum ^= 0x0101;
  store_be16(tcp + 16, checksum);
  return p;
}

std::size_t l4_of(const std::vector<uint8_t>& packet) {
  return (packet[0] >> 4) == 4 ? kIpv4HeaderSize : kIpv6HeaderSize;
}

class Coalescer : public ::testing::Test {
 protected:
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(65535);
  TcpCoalescer coalescer_{buffer_, 65520};

  // Feeds the packets as the session does; returns the packets handed on, merged or not.
  std::vector<std::vector<uint8_t>> run(const std::vector<std::vector<uint8_t>>& packets) {
    std::vector<std::vector<uint8_t>> out;
    for (const auto& packet : packets) {
      if (!TcpCoalescer::eligible(packet)) {
        if (coalescer_.pending()) out.emplace_back(as_vector(coalescer_.finish()));
        out.push_back(packet);
        continue;
      }
      const auto added = coalescer_.add(packet);
      if (added == TcpCoalescer::Added::kMerged) continue;
      if (added == TcpCoalescer::Added::kMergedEnd) {
        out.emplace_back(as_vector(coalescer_.finish()));
        continue;
      }
      if (coalescer_.pending()) out.emplace_back(as_vector(coalescer_.finish()));
      if (!coalescer_.start(packet)) out.push_back(packet);
    }
    if (coalescer_.pending()) out.emplace_back(as_vector(coalescer_.finish()));
    return out;
  }
  static std::vector<uint8_t> as_vector(std::span<const uint8_t> bytes) {
    return {bytes.begin(), bytes.end()};
  }
};

// Payload of a valid TCP packet (checks the lengths, IPv4 header checksum and TCP checksum).
std::vector<uint8_t> valid_payload(const std::vector<uint8_t>& packet, uint32_t* seq = nullptr,
                                   uint8_t* flags = nullptr) {
  const std::size_t l4 = l4_of(packet);
  if (l4 == kIpv4HeaderSize) {
    EXPECT_EQ(load_be16(&packet[2]), packet.size());
    EXPECT_EQ(ones_complement_sum(std::span(packet).first(20)), 0xffff);
  } else {
    EXPECT_EQ(load_be16(&packet[4]) + kIpv6HeaderSize, packet.size());
  }
  EXPECT_EQ(tcp_checksum(packet, l4), 0);
  if (seq) *seq = load_be32(&packet[l4 + 4]);
  if (flags) *flags = packet[l4 + 13];
  const std::size_t header = std::size_t(packet[l4 + 12] >> 4) * 4;
  return {packet.begin() + std::ptrdiff_t(l4 + header), packet.end()};
}

TEST_F(Coalescer, MergesConsecutiveSegmentsIntoOneValidSegment) {
  for (int version : {4, 6}) {
    std::vector<std::vector<uint8_t>> packets;
    std::vector<uint8_t> expected;
    uint32_t seq = 0xfffff000;  // wraps inside the run
    // Odd sizes put later payloads at odd offsets of the merged one.
    for (std::size_t size : {1380u, 1379u, 1380u, 7u, 1380u}) {
      Segment s;
      s.version = version;
      s.seq = seq;
      s.payload = payload_bytes(size, uint8_t(size));
      s.options = {1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2};  // NOP NOP SACK block
      expected.insert(expected.end(), s.payload.begin(), s.payload.end());
      seq += uint32_t(size);
      packets.push_back(build(s));
    }
    const auto out = run(packets);
    ASSERT_EQ(out.size(), 1u) << "version " << version;
    uint32_t first = 0;
    uint8_t flags = 0;
    EXPECT_EQ(valid_payload(out[0], &first, &flags), expected);
    EXPECT_EQ(first, 0xfffff000u);
    EXPECT_EQ(flags, kTcpAck);
  }
}

TEST_F(Coalescer, PshEndsTheRunAndIsKept) {
  std::vector<std::vector<uint8_t>> packets;
  for (uint32_t k = 0; k < 4; ++k) {
    Segment s;
    s.seq = 1000 + k * 100;
    s.payload = payload_bytes(100, uint8_t(k));
    if (k == 1) s.flags = kTcpAck | 0x08;
    packets.push_back(build(s));
  }
  const auto out = run(packets);
  ASSERT_EQ(out.size(), 2u);
  uint8_t flags = 0;
  EXPECT_EQ(valid_payload(out[0], nullptr, &flags).size(), 200u);
  EXPECT_EQ(flags, kTcpAck | 0x08);
  EXPECT_EQ(valid_payload(out[1]).size(), 200u);
}

TEST_F(Coalescer, NeverMergesWhatDiffers) {
  Segment base;
  base.payload = payload_bytes(100, 1);
  const auto next = [&](auto change) {
    Segment s = base;
    s.seq = base.seq + 100;
    s.payload = payload_bytes(100, 2);
    change(s);
    return build(s);
  };
  // First prove the unchanged continuation merges, so each case below fails only on its change.
  EXPECT_EQ(run({build(base), next([](Segment&) {})}).size(), 1u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.seq += 1; })}).size(), 2u);    // gap
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.seq -= 100; })}).size(), 2u);  // repeat
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.ack += 1; })}).size(), 2u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.window += 1; })}).size(), 2u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.source_port += 1; })}).size(), 2u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.options = {1, 1, 1, 1}; })}).size(), 2u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.flags = kTcpAck | kTcpFin; })}).size(), 2u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.payload.clear(); })}).size(), 2u);
  EXPECT_EQ(run({build(base), next([](Segment& s) { s.version = 6; })}).size(), 2u);
  // A corrupt segment is handed on alone, still corrupt; its neighbours are not merged into it.
  const auto out = run({build(base), next([](Segment& s) { s.corrupt = true; })});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(tcp_checksum(out[1], l4_of(out[1])), 0);
}

TEST_F(Coalescer, StopsAtTheSizeLimit) {
  std::vector<std::vector<uint8_t>> packets;
  for (uint32_t k = 0; k < 60; ++k) {
    Segment s;
    s.seq = 1000 + k * 1380;
    s.payload = payload_bytes(1380, uint8_t(k));
    packets.push_back(build(s));
  }
  const auto out = run(packets);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_LE(out[0].size(), 65520u);
  EXPECT_EQ(valid_payload(out[0]).size() + valid_payload(out[1]).size(), 60u * 1380u);
}

}  // namespace
}  // namespace slirpvpn::net

namespace slirpvpn::net {
namespace {

TEST(CoalescerUniform, MergesOnlyEqualSegmentsEndingWithAShorterOne) {
  std::vector<uint8_t> buffer(65535);
  TcpCoalescer uniform(buffer, 65535, /*uniform=*/true);
  const auto segment = [](uint32_t seq, std::size_t size) {
    Segment s;
    s.seq = seq;
    s.payload = payload_bytes(size, uint8_t(seq));
    return build(s);
  };
  auto first = segment(1000, 1000);
  ASSERT_TRUE(uniform.start(first));
  EXPECT_EQ(uniform.add(segment(2000, 1000)), TcpCoalescer::Added::kMerged);
  EXPECT_EQ(uniform.add(segment(3000, 1001)), TcpCoalescer::Added::kNotMerged);  // larger
  EXPECT_EQ(uniform.add(segment(3000, 500)), TcpCoalescer::Added::kMerged);      // shorter: last
  EXPECT_EQ(uniform.add(segment(3500, 500)), TcpCoalescer::Added::kNotMerged);
  EXPECT_EQ(uniform.first_payload(), 1000u);
  const auto merged = uniform.finish();
  EXPECT_EQ(valid_payload({merged.begin(), merged.end()}).size(), 2500u);
}

}  // namespace
}  // namespace slirpvpn::net
