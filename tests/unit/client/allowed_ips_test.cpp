// SPDX-License-Identifier: MIT
// AllowedIPs checks and inner address extraction on hand-built IPv4/IPv6 headers.
#include "client/allowed_ips.h"

#include <gtest/gtest.h>

#include <vector>

namespace slirpvpn::client {
namespace {

net::IpAddress ip(const char* text) {
  return *net::IpAddress::parse(text);
}
net::IpPrefix prefix(const char* text) {
  return *net::IpPrefix::parse(text);
}

std::vector<uint8_t> ipv4_packet(std::array<uint8_t, 4> source, std::array<uint8_t, 4> dest) {
  std::vector<uint8_t> packet(20, 0);
  packet[0] = 0x45;
  for (size_t i = 0; i < 4; ++i) {
    packet[12 + i] = source[i];
    packet[16 + i] = dest[i];
  }
  return packet;
}

TEST(InnerAddresses, Ipv4SourceAndDestination) {
  const auto packet = ipv4_packet({10, 0, 2, 15}, {203, 0, 113, 2});
  const auto addresses = inner_addresses(packet);
  ASSERT_TRUE(addresses);
  EXPECT_EQ(addresses->source, ip("10.0.2.15"));
  EXPECT_EQ(addresses->destination, ip("203.0.113.2"));
}

TEST(InnerAddresses, Ipv6SourceAndDestination) {
  std::vector<uint8_t> packet(40, 0);
  packet[0] = 0x60;
  packet[8] = 0xfe;
  packet[9] = 0xc0;
  packet[23] = 0x15;
  packet[24] = 0x20;
  packet[25] = 0x01;
  packet[26] = 0x0d;
  packet[27] = 0xb8;
  packet[39] = 0x01;
  const auto addresses = inner_addresses(packet);
  ASSERT_TRUE(addresses);
  EXPECT_EQ(addresses->source, ip("fec0::15"));
  EXPECT_EQ(addresses->destination, ip("2001:db8::1"));
}

TEST(InnerAddresses, TruncatedOrUnknownVersionIsNothing) {
  auto packet = ipv4_packet({10, 0, 2, 15}, {203, 0, 113, 2});
  EXPECT_FALSE(inner_addresses(std::span(packet).first(19)));
  std::vector<uint8_t> v6(39, 0);
  v6[0] = 0x60;
  EXPECT_FALSE(inner_addresses(v6));
  packet[0] = 0x55;
  EXPECT_FALSE(inner_addresses(packet));
  EXPECT_FALSE(inner_addresses({}));
}

TEST(AllowedIps, ContainsOnlyListedPrefixes) {
  const AllowedIps allowed({prefix("10.0.2.0/24"), prefix("fec0::/64")});
  EXPECT_TRUE(allowed.contains(ip("10.0.2.2")));
  EXPECT_TRUE(allowed.contains(ip("fec0::3")));
  EXPECT_FALSE(allowed.contains(ip("10.0.3.1")));
  EXPECT_FALSE(allowed.contains(ip("fec1::1")));
  // An IPv4-mapped address is IPv6: not inside an IPv4 prefix.
  EXPECT_FALSE(allowed.contains(ip("::ffff:10.0.2.2")));
}

TEST(AllowedIps, DefaultRoutesCoverTheirFamilyOnly) {
  const AllowedIps v4_only({prefix("0.0.0.0/0")});
  EXPECT_TRUE(v4_only.contains(ip("198.51.100.7")));
  EXPECT_FALSE(v4_only.contains(ip("2001:db8::1")));
}

}  // namespace
}  // namespace slirpvpn::client
