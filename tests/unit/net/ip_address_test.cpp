// SPDX-License-Identifier: MIT
// Tests for IP address, prefix and endpoint parsing, printing, matching and sockaddr conversion.
#include "net/ip_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <unordered_set>

namespace slirpvpn::net {
namespace {

IpAddress addr(std::string_view text) {
  auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpAddress{});
}

IpPrefix prefix(std::string_view text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpPrefix{});
}

TEST(IpAddressTest, ParsesAndPrintsV4) {
  const auto a = addr("10.0.2.15");
  EXPECT_TRUE(a.is_v4());
  ASSERT_EQ(a.bytes().size(), 4u);
  EXPECT_EQ(a.bytes()[0], 10);
  EXPECT_EQ(a.bytes()[3], 15);
  EXPECT_EQ(a.to_string(), "10.0.2.15");
  EXPECT_EQ(a, IpAddress::v4({10, 0, 2, 15}));
  EXPECT_EQ(a.bit_length(), 32);
}

TEST(IpAddressTest, ParsesAndPrintsV6Canonically) {
  const auto a = addr("FEC0:0:0:0:0:0:0:15");
  EXPECT_TRUE(a.is_v6());
  ASSERT_EQ(a.bytes().size(), 16u);
  EXPECT_EQ(a.bytes()[0], 0xfe);
  EXPECT_EQ(a.bytes()[1], 0xc0);
  EXPECT_EQ(a.bytes()[15], 0x15);
  EXPECT_EQ(a.to_string(), "fec0::15");
  EXPECT_EQ(addr("::").to_string(), "::");
  EXPECT_EQ(addr("2001:db8::1").to_string(), "2001:db8::1");
  EXPECT_EQ(a.bit_length(), 128);
}

TEST(IpAddressTest, RejectsBadText) {
  for (const char* bad :
       {"", "10.0.2", "10.0.2.300", "10.0.2.15.1", "010.0.2.15", " 10.0.2.15", "10.0.2.15 ",
        "10.0.2.15/32", "[::1]", "fe80::1%eth0", "::g", "1:2:3:4:5:6:7:8:9", "a.b.c.d", "-1.0.0.0",
        "0x0a.0.0.1", "1::2::3", "localhost"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
  EXPECT_FALSE(IpAddress::parse(std::string_view("10.0.2.15\0x", 11)));
  EXPECT_FALSE(IpAddress::parse(std::string(200, '1')));
}

TEST(IpAddressTest, FromBytesNeeds4Or16) {
  const uint8_t four[4] = {198, 51, 100, 1};
  const uint8_t sixteen[16] = {0x20, 0x01, 0x0d, 0xb8};
  const uint8_t five[5] = {};
  EXPECT_EQ(IpAddress::from_bytes(four)->to_string(), "198.51.100.1");
  EXPECT_EQ(IpAddress::from_bytes(sixteen)->to_string(), "2001:db8::");
  EXPECT_FALSE(IpAddress::from_bytes(five));
  EXPECT_FALSE(IpAddress::from_bytes({}));
}

TEST(IpAddressTest, V4MappedIsDistinctFromV4) {
  const auto v4 = addr("10.0.2.15");
  const auto mapped = addr("::ffff:10.0.2.15");
  EXPECT_TRUE(mapped.is_v6());
  EXPECT_TRUE(mapped.is_v4_mapped());
  EXPECT_FALSE(v4.is_v4_mapped());
  EXPECT_NE(v4, mapped);
  EXPECT_EQ(v4.to_v4_mapped(), mapped);
  EXPECT_EQ(mapped.unmapped(), v4);
  EXPECT_EQ(v4.unmapped(), v4);
  EXPECT_EQ(addr("fec0::15").unmapped(), addr("fec0::15"));
  EXPECT_EQ(mapped.to_string(), "::ffff:10.0.2.15");
}

TEST(IpAddressTest, Predicates) {
  EXPECT_TRUE(addr("0.0.0.0").is_unspecified());
  EXPECT_TRUE(addr("::").is_unspecified());
  EXPECT_FALSE(addr("::1").is_unspecified());
  EXPECT_TRUE(addr("127.1.2.3").is_loopback());
  EXPECT_TRUE(addr("::1").is_loopback());
  EXPECT_FALSE(addr("10.0.2.2").is_loopback());
  EXPECT_FALSE(addr("::2").is_loopback());
  EXPECT_EQ(IpAddress{}, addr("0.0.0.0"));
}

TEST(IpAddressTest, OrdersV4BeforeV6ThenNumerically) {
  EXPECT_LT(addr("10.0.2.2"), addr("10.0.2.15"));
  EXPECT_LT(addr("9.255.255.255"), addr("10.0.0.0"));
  EXPECT_LT(addr("255.255.255.255"), addr("::"));
  EXPECT_LT(addr("fec0::2"), addr("fec0::15"));
  EXPECT_FALSE(addr("fec0::15") < addr("fec0::15"));
}

TEST(IpAddressTest, HashesByValue) {
  std::unordered_set<IpAddress> set{addr("10.0.2.15"), addr("10.0.2.15"), addr("::ffff:10.0.2.15")};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(addr("10.0.2.15")));
}

TEST(IpPrefixTest, ParsesWithLengthAndBare) {
  const auto p = prefix("10.0.2.15/32");
  EXPECT_EQ(p.address(), addr("10.0.2.15"));
  EXPECT_EQ(p.length(), 32);
  EXPECT_EQ(prefix("10.0.2.15").length(), 32);
  EXPECT_EQ(prefix("fec0::15").length(), 128);
  EXPECT_EQ(prefix("fec0::/64").to_string(), "fec0::/64");
  EXPECT_EQ(prefix("10.0.2.15").to_string(), "10.0.2.15/32");
}

TEST(IpPrefixTest, CanonicalisesHostBits) {
  EXPECT_EQ(prefix("10.0.2.15/24").to_string(), "10.0.2.0/24");
  EXPECT_EQ(prefix("10.0.2.15/24"), prefix("10.0.2.0/24"));
  EXPECT_EQ(prefix("10.255.255.255/9").to_string(), "10.128.0.0/9");
  EXPECT_EQ(prefix("fec0::15/64").to_string(), "fec0::/64");
  EXPECT_EQ(prefix("2001:db8:ffff::/33").to_string(), "2001:db8:8000::/33");
  EXPECT_EQ(prefix("1.2.3.4/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(IpPrefix(addr("198.51.100.77"), 25).to_string(), "198.51.100.0/25");
}

TEST(IpPrefixTest, RejectsBadText) {
  for (const char* bad : {"10.0.2.15/33", "fec0::/129", "10.0.2.15/", "10.0.2.15/-1",
                          "10.0.2.15/+8", "10.0.2.15/ 8", "10.0.2.15/8/8", "/8", "10.0.2.300/32",
                          "10.0.2.15/0x8", "10.0.2.15/100000", "[fec0::]/64", ""}) {
    EXPECT_FALSE(IpPrefix::parse(bad)) << bad;
  }
}

TEST(IpPrefixTest, ContainsMatchesPrefixBits) {
  const auto p = prefix("10.0.2.0/24");
  EXPECT_TRUE(p.contains(addr("10.0.2.0")));
  EXPECT_TRUE(p.contains(addr("10.0.2.255")));
  EXPECT_FALSE(p.contains(addr("10.0.3.0")));
  EXPECT_FALSE(p.contains(addr("10.0.1.255")));
  const auto odd = prefix("198.51.100.128/25");
  EXPECT_TRUE(odd.contains(addr("198.51.100.200")));
  EXPECT_FALSE(odd.contains(addr("198.51.100.127")));
  const auto host = prefix("10.0.2.15/32");
  EXPECT_TRUE(host.contains(addr("10.0.2.15")));
  EXPECT_FALSE(host.contains(addr("10.0.2.14")));
  const auto v6 = prefix("fec0::/64");
  EXPECT_TRUE(v6.contains(addr("fec0::15")));
  EXPECT_TRUE(v6.contains(addr("fec0::ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(v6.contains(addr("fec0:0:0:1::")));
}

TEST(IpPrefixTest, DefaultRoutesMatchOnlyTheirFamily) {
  const auto all4 = prefix("0.0.0.0/0");
  const auto all6 = prefix("::/0");
  EXPECT_TRUE(all4.contains(addr("255.255.255.255")));
  EXPECT_TRUE(all4.contains(addr("0.0.0.0")));
  EXPECT_FALSE(all4.contains(addr("::")));
  EXPECT_FALSE(all4.contains(addr("2001:db8::1")));
  EXPECT_TRUE(all6.contains(addr("2001:db8::1")));
  EXPECT_FALSE(all6.contains(addr("10.0.2.15")));
  EXPECT_EQ(IpPrefix{}, all4);
}

TEST(IpPrefixTest, V4MappedNeverMatchesV4Prefix) {
  EXPECT_FALSE(prefix("10.0.2.0/24").contains(addr("::ffff:10.0.2.15")));
  EXPECT_FALSE(prefix("0.0.0.0/0").contains(addr("::ffff:10.0.2.15")));
  EXPECT_TRUE(prefix("::ffff:0:0/96").contains(addr("::ffff:10.0.2.15")));
  EXPECT_FALSE(prefix("::ffff:0:0/96").contains(addr("10.0.2.15")));
}

TEST(IpPrefixTest, ContainsAndOverlapsPrefixes) {
  EXPECT_TRUE(prefix("10.0.0.0/8").contains(prefix("10.0.2.0/24")));
  EXPECT_FALSE(prefix("10.0.2.0/24").contains(prefix("10.0.0.0/8")));
  EXPECT_TRUE(prefix("10.0.2.0/24").overlaps(prefix("10.0.0.0/8")));
  EXPECT_TRUE(prefix("10.0.0.0/8").overlaps(prefix("10.0.2.0/24")));
  EXPECT_FALSE(prefix("10.0.2.0/24").overlaps(prefix("10.0.3.0/24")));
  EXPECT_FALSE(prefix("0.0.0.0/0").overlaps(prefix("::/0")));
}

TEST(IpPrefixTest, Orders) {
  EXPECT_LT(prefix("10.0.0.0/8"), prefix("10.0.0.0/16"));
  EXPECT_LT(prefix("10.0.0.0/16"), prefix("10.1.0.0/16"));
  EXPECT_LT(prefix("10.0.0.0/8"), prefix("::/0"));
}

TEST(InterfaceAddressTest, KeepsHostBits) {
  const auto a = InterfaceAddress::parse("10.0.2.2/24");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address, addr("10.0.2.2"));
  EXPECT_EQ(a->length, 24);
  EXPECT_EQ(a->to_string(), "10.0.2.2/24");
  EXPECT_EQ(a->network(), prefix("10.0.2.0/24"));
  EXPECT_EQ(InterfaceAddress::parse("fec0::2")->length, 128);
  EXPECT_FALSE(InterfaceAddress::parse("10.0.2.2/33"));
}

TEST(EndpointTest, ParsesV4AndBracketedV6) {
  const auto a = Endpoint::parse("198.51.100.1:51820");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address, addr("198.51.100.1"));
  EXPECT_EQ(a->port, 51820);
  EXPECT_EQ(a->to_string(), "198.51.100.1:51820");
  const auto b = Endpoint::parse("[2001:db8::1]:51820");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->address, addr("2001:db8::1"));
  EXPECT_EQ(b->port, 51820);
  EXPECT_EQ(b->to_string(), "[2001:db8::1]:51820");
  EXPECT_EQ(Endpoint::parse("[::ffff:198.51.100.1]:1")->to_string(), "[::ffff:198.51.100.1]:1");
  EXPECT_EQ(Endpoint::parse("1.2.3.4:65535")->port, 65535);
}

TEST(EndpointTest, RejectsBadText) {
  for (const char* bad :
       {"198.51.100.1", "198.51.100.1:", "198.51.100.1:0", "198.51.100.1:65536", "198.51.100.1:-1",
        "198.51.100.1:+1", "198.51.100.1:0x10", "2001:db8::1:51820", "[2001:db8::1]",
        "[198.51.100.1]:51820", "[2001:db8::1:51820", "2001:db8::1]:51820", ":51820", "[]:51820",
        "example.com:51820", "198.51.100.1:51820 ", ""}) {
    EXPECT_FALSE(Endpoint::parse(bad)) << bad;
  }
}

TEST(EndpointTest, SockaddrRoundTripV4) {
  const auto e = *Endpoint::parse("198.51.100.1:51820");
  sockaddr_storage storage;
  std::memset(&storage, 0xaa, sizeof storage);
  ASSERT_EQ(e.to_sockaddr(storage), sizeof(sockaddr_in));
  const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
  EXPECT_EQ(in->sin_family, AF_INET);
  EXPECT_EQ(ntohs(in->sin_port), 51820);
  EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0xc6336401u);
  const auto back = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
}

TEST(EndpointTest, SockaddrRoundTripV6) {
  const auto e = *Endpoint::parse("[2001:db8::1]:443");
  sockaddr_storage storage;
  ASSERT_EQ(e.to_sockaddr(storage), sizeof(sockaddr_in6));
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
  EXPECT_EQ(in6->sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(in6->sin6_port), 443);
  EXPECT_EQ(in6->sin6_scope_id, 0u);
  EXPECT_EQ(in6->sin6_flowinfo, 0u);
  char text[INET6_ADDRSTRLEN];
  ASSERT_NE(inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text), nullptr);
  EXPECT_STREQ(text, "2001:db8::1");
  EXPECT_EQ(*Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage)), e);
}

TEST(EndpointTest, FromSockaddrKeepsMappedAndRejectsOtherFamilies) {
  const auto mapped = *Endpoint::parse("[::ffff:198.51.100.1]:51820");
  sockaddr_storage storage;
  mapped.to_sockaddr(storage);
  const auto back = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->address.is_v6());
  EXPECT_EQ(back->unmapped(), *Endpoint::parse("198.51.100.1:51820"));
  sockaddr_storage unix_address{};
  unix_address.ss_family = AF_UNIX;
  EXPECT_FALSE(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&unix_address)));
  EXPECT_FALSE(Endpoint::from_sockaddr(nullptr));
}

TEST(EndpointTest, OrdersAndHashes) {
  EXPECT_LT(*Endpoint::parse("198.51.100.1:1"), *Endpoint::parse("198.51.100.1:2"));
  EXPECT_LT(*Endpoint::parse("198.51.100.1:2"), *Endpoint::parse("198.51.100.2:1"));
  std::unordered_set<Endpoint> set{*Endpoint::parse("198.51.100.1:1"),
                                   *Endpoint::parse("198.51.100.1:1"),
                                   *Endpoint::parse("198.51.100.1:2")};
  EXPECT_EQ(set.size(), 2u);
}

TEST(HostPortTest, KeepsNamesAndLiterals) {
  EXPECT_EQ(HostPort::parse("vpn.example.com:51820"), (HostPort{"vpn.example.com", 51820}));
  EXPECT_EQ(HostPort::parse("[2001:db8::1]:51820"), (HostPort{"2001:db8::1", 51820}));
  EXPECT_EQ(HostPort::parse("198.51.100.1:1"), (HostPort{"198.51.100.1", 1}));
  EXPECT_EQ(HostPort::parse("[2001:db8::1]:51820")->to_string(), "[2001:db8::1]:51820");
  EXPECT_EQ(HostPort::parse("vpn.example.com:51820")->to_string(), "vpn.example.com:51820");
  for (const char* bad : {"vpn.example.com", "vpn.example.com:0", ":1", "2001:db8::1:51820",
                          "[vpn.example.com]:1", "[]:1", "a]:1"}) {
    EXPECT_FALSE(HostPort::parse(bad)) << bad;
  }
}

TEST(ResolveEndpointTest, LiteralsNeedNoResolver) {
  auto v4 = resolve_endpoint("198.51.100.1", 51820);
  ASSERT_TRUE(v4) << v4.error().message();
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ(v4->front(), *Endpoint::parse("198.51.100.1:51820"));
  auto v6 = resolve_endpoint("[2001:db8::1]", 7);
  ASSERT_TRUE(v6) << v6.error().message();
  ASSERT_EQ(v6->size(), 1u);
  EXPECT_EQ(v6->front(), *Endpoint::parse("[2001:db8::1]:7"));
  auto bare6 = resolve_endpoint("2001:db8::1", 7);
  ASSERT_TRUE(bare6);
  EXPECT_EQ(bare6->front(), v6->front());
}

TEST(ResolveEndpointTest, ResolvesLocalhostFromHostsFile) {
  // /etc/hosts answers "localhost" without any network.
  auto result = resolve_endpoint("localhost", 51820);
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_FALSE(result->empty());
  for (const auto& e : *result) {
    EXPECT_TRUE(e.address.is_loopback()) << e.to_string();
    EXPECT_EQ(e.port, 51820);
  }
  // De-duplicated although getaddrinfo may list an address once per socket type.
  std::unordered_set<Endpoint> unique(result->begin(), result->end());
  EXPECT_EQ(unique.size(), result->size());
}

TEST(ResolveEndpointTest, FailsForAnEmptyName) {
  // No failing-name lookup here: it would send a DNS query off this host.
  auto result = resolve_endpoint("", 1);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("empty host"), std::string::npos);
  EXPECT_FALSE(resolve_endpoint("[]", 1));
}

}  // namespace
}  // namespace slirpvpn::net
