// SPDX-License-Identifier: MIT
// Ethernet/ARP/NDP: parsing slirp's frames, reply bytes, seeding frames and their checksums.
#include "slirp/ethernet.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/endian.h"
#include "slirp/packet.h"

namespace slirpvpn::slirp {
namespace {

const GuestAddresses kGuest{};
const MacAddress kSlirpMac{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

// slirp's ARP request for the guest (as if_encap4 builds it): who has 10.0.2.15, tell 10.0.2.2.
std::vector<uint8_t> arp_request(uint8_t last_octet) {
  std::vector<uint8_t> f(42, 0);
  write_ethernet_header(f, MacAddress{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kSlirpMac,
                        kEtherTypeArp);
  uint8_t arp[28] = {0,  1, 8, 0, 6, 4, 0, 1, 0x52, 0x55, 10, 0, 2, 2,
                     10, 0, 2, 2, 0, 0, 0, 0, 0,    0,    10, 0, 2, last_octet};
  std::copy(std::begin(arp), std::end(arp), f.begin() + 14);
  return f;
}

// slirp's neighbour solicitation (ndp_send_ns): fec0::2 -> ff02::1:ff00:15, target fec0::15.
std::vector<uint8_t> neighbor_solicitation(uint8_t target_last) {
  std::vector<uint8_t> f(14 + 40 + 32, 0);
  write_ethernet_header(f, MacAddress{0x33, 0x33, 0xff, 0, 0, 0x15}, kSlirpMac, kEtherTypeIpv6);
  uint8_t* ip = &f[14];
  ip[0] = 0x60;
  store_be16(&ip[4], 32);
  ip[6] = 58;
  ip[7] = 255;
  ip[8] = 0xfe;
  ip[9] = 0xc0;
  ip[23] = 2;
  ip[24] = 0xff;
  ip[25] = 0x02;
  ip[35] = 1;
  ip[36] = 0xff;
  ip[39] = 0x15;
  uint8_t* icmp = ip + 40;
  icmp[0] = 135;
  icmp[8] = 0xfe;
  icmp[9] = 0xc0;
  icmp[23] = target_last;
  icmp[24] = 1;
  icmp[25] = 1;
  std::copy(kSlirpMac.begin(), kSlirpMac.end(), icmp + 26);
  return f;
}

TEST(Ethernet, ArpRequestForGuestIsAnsweredWithExactBytes) {
  auto frame = arp_request(15);
  ParsedFrame parsed = parse_frame(frame, kGuest);
  ASSERT_EQ(parsed.kind, FrameKind::kArpRequest);
  std::array<uint8_t, kArpFrameSize> out{};
  ASSERT_EQ(build_arp_reply(parsed, kGuest, out), kArpFrameSize);
  const std::array<uint8_t, kArpFrameSize> expected = {
      0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,  // eth
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,                                      // reply
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10,   0,    2,    15,                            // guest
      0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 10,   0,    2,    2};                            // slirp
  EXPECT_EQ(out, expected);
}

TEST(Ethernet, ArpOtherwiseDroppedWithReason) {
  EXPECT_EQ(parse_frame(arp_request(99), kGuest).drop, FrameDrop::kArpNotForGuest);
  auto reply = arp_request(15);
  reply[21] = 2;
  EXPECT_EQ(parse_frame(reply, kGuest).drop, FrameDrop::kArpNotRequest);
  auto short_frame = arp_request(15);
  short_frame.resize(30);
  EXPECT_EQ(parse_frame(short_frame, kGuest).drop, FrameDrop::kArpMalformed);
  EXPECT_EQ(parse_frame(std::span(short_frame).first(10), kGuest).drop, FrameDrop::kTruncated);
  auto vlan = arp_request(15);
  vlan[12] = 0x81;
  vlan[13] = 0x00;
  EXPECT_EQ(parse_frame(vlan, kGuest).drop, FrameDrop::kUnknownEtherType);
}

TEST(Ethernet, GratuitousArpSeedsWithSenderEqualTarget) {
  std::array<uint8_t, kArpFrameSize> out{};
  ASSERT_EQ(build_gratuitous_arp(kGuest, out), kArpFrameSize);
  const std::array<uint8_t, kArpFrameSize> expected = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34,
      0x56, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // request
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10,   0,    2,    15,   0,
      0,    0,    0,    0,    0,    10,   0,    2,    15};
  EXPECT_EQ(out, expected);
}

TEST(Ethernet, NeighborSolicitationAnsweredWithCheckedAdvertisement) {
  auto frame = neighbor_solicitation(0x15);
  ParsedFrame parsed = parse_frame(frame, kGuest);
  ASSERT_EQ(parsed.kind, FrameKind::kNeighborSolicitation);
  std::array<uint8_t, kNeighborAdvertisementFrameSize> out{};
  ASSERT_EQ(build_neighbor_advertisement(parsed, kGuest, out), kNeighborAdvertisementFrameSize);
  // Ethernet to the solicitor, from the guest.
  EXPECT_TRUE(std::equal(kSlirpMac.begin(), kSlirpMac.end(), out.begin()));
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), out.begin() + 6));
  const uint8_t* ip = &out[14];
  EXPECT_EQ(ip[7], 255);                       // hop limit
  EXPECT_EQ(ip[39], 2);                        // to fec0::2
  EXPECT_EQ(ip[40], 136);                      // NA
  EXPECT_EQ(load_be32(&ip[44]), 0x60000000u);  // solicited + override
  EXPECT_EQ(load_be16(&ip[42]), 0x9278);       // checksum computed independently
  EXPECT_EQ(
      transport_checksum(*net::IpAddress::parse("fec0::15"), *net::IpAddress::parse("fec0::2"),
                         kProtocolIcmpv6, std::span(out).subspan(54)),
      0);
}

TEST(Ethernet, UnsolicitedAdvertisementToAllNodes) {
  std::array<uint8_t, kNeighborAdvertisementFrameSize> out{};
  ASSERT_EQ(build_unsolicited_neighbor_advertisement(kGuest, out), kNeighborAdvertisementFrameSize);
  const uint8_t all_nodes_mac[] = {0x33, 0x33, 0, 0, 0, 1};
  EXPECT_TRUE(std::equal(std::begin(all_nodes_mac), std::end(all_nodes_mac), out.begin()));
  EXPECT_EQ(out[14 + 24], 0xff);
  EXPECT_EQ(out[14 + 39], 1);
  EXPECT_EQ(load_be32(&out[14 + 44]), 0x20000000u);  // override only: S must be 0 to multicast
  EXPECT_EQ(load_be16(&out[14 + 42]), 0xd237);
}

TEST(Ethernet, NdpAndIpClassification) {
  EXPECT_EQ(parse_frame(neighbor_solicitation(0x99), kGuest).drop, FrameDrop::kNdpNotForGuest);
  auto hop = neighbor_solicitation(0x15);
  hop[14 + 7] = 64;
  EXPECT_EQ(parse_frame(hop, kGuest).drop, FrameDrop::kNdpMalformed);
  auto ra = neighbor_solicitation(0x15);
  ra[54] = 134;
  EXPECT_EQ(parse_frame(ra, kGuest).drop, FrameDrop::kRouterAdvertisement);
  auto echo = neighbor_solicitation(0x15);
  echo[54] = 129;
  ParsedFrame parsed = parse_frame(echo, kGuest);
  EXPECT_EQ(parsed.kind, FrameKind::kIpv6);
  EXPECT_EQ(parsed.ip.size(), echo.size() - 14);
  std::vector<uint8_t> v4(34, 0);
  v4[12] = 0x08;
  parsed = parse_frame(v4, kGuest);
  EXPECT_EQ(parsed.kind, FrameKind::kIpv4);
  EXPECT_EQ(parsed.ip.size(), 20u);
}

}  // namespace
}  // namespace slirpvpn::slirp
