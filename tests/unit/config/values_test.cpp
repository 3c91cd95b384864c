// SPDX-License-Identifier: MIT
// Tests for the single-value parsers and the rule types they produce.
#include "config/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace slirpvpn::config {
namespace {

using ::testing::HasSubstr;

net::IpAddress ip(std::string_view text) {
  return *net::IpAddress::parse(text);
}

TEST(ValuesTest, Booleans) {
  for (const char* yes : {"true", "TRUE", "Yes", "on", "1"})
    EXPECT_EQ(parse_bool(yes), true) << yes;
  for (const char* no : {"false", "No", "OFF", "0"}) EXPECT_EQ(parse_bool(no), false) << no;
  for (const char* bad : {"", "2", "y", "enable", "truee"}) {
    ASSERT_FALSE(parse_bool(bad)) << bad;
    EXPECT_THAT(parse_bool(bad).error(), HasSubstr("is not a boolean"));
  }
}

TEST(ValuesTest, UnsignedAndPorts) {
  EXPECT_EQ(parse_unsigned("0", 0, 5), 0u);
  EXPECT_EQ(parse_unsigned("5", 0, 5), 5u);
  EXPECT_THAT(parse_unsigned("6", 0, 5).error(), HasSubstr("'6' is out of range (0..5)"));
  EXPECT_THAT(parse_unsigned("-1", 0, 5).error(), HasSubstr("is not a number"));
  EXPECT_FALSE(parse_unsigned("+1", 0, 5));
  EXPECT_FALSE(parse_unsigned(" 1", 0, 5));
  EXPECT_FALSE(parse_unsigned("99999999999999999999999", 0, UINT64_MAX));
  EXPECT_EQ(parse_port("51820", false), 51820);
  EXPECT_EQ(parse_port("0", true), 0);
  EXPECT_THAT(parse_port("0", false).error(), HasSubstr("not a port (1..65535)"));
  EXPECT_FALSE(parse_port("65536", true));
}

TEST(ValuesTest, Mtu) {
  EXPECT_EQ(parse_mtu("1280"), 1280u);
  EXPECT_EQ(parse_mtu("65535"), 65535u);
  EXPECT_THAT(parse_mtu("1279").error(), HasSubstr("out of range (1280..65535)"));
  EXPECT_FALSE(parse_mtu("65536"));
  EXPECT_FALSE(parse_mtu("1420 bytes"));
}

TEST(ValuesTest, Keepalive) {
  EXPECT_EQ(parse_keepalive("25"), std::chrono::seconds(25));
  EXPECT_EQ(parse_keepalive("off"), std::chrono::seconds(0));
  EXPECT_EQ(parse_keepalive("0"), std::chrono::seconds(0));
  EXPECT_EQ(parse_keepalive("65535"), std::chrono::seconds(65535));
  EXPECT_THAT(parse_keepalive("65536").error(), HasSubstr("seconds (0..65535) or 'off'"));
}

TEST(ValuesTest, LogLevel) {
  EXPECT_EQ(parse_log_level("error"), LogLevel::kError);
  EXPECT_EQ(parse_log_level("WARN"), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("info"), LogLevel::kInfo);
  EXPECT_EQ(parse_log_level("Debug"), LogLevel::kDebug);
  EXPECT_THAT(parse_log_level("trace").error(), HasSubstr("not a log level"));
}

TEST(ValuesTest, Table) {
  EXPECT_EQ(parse_table("auto"), (RouteTable{RouteTable::Mode::kAuto, 0}));
  EXPECT_EQ(parse_table("off"), (RouteTable{RouteTable::Mode::kOff, 0}));
  EXPECT_EQ(parse_table("main"), (RouteTable{RouteTable::Mode::kId, 254}));
  EXPECT_EQ(parse_table("51820"), (RouteTable{RouteTable::Mode::kId, 51820}));
  EXPECT_EQ(parse_table("4294967295"), (RouteTable{RouteTable::Mode::kId, 4294967295u}));
  EXPECT_FALSE(parse_table("0"));
  EXPECT_FALSE(parse_table("4294967296"));
  EXPECT_THAT(parse_table("local").error(), HasSubstr("is not a routing table"));
}

TEST(ValuesTest, FwMark) {
  EXPECT_EQ(parse_fwmark("off"), (FwMark{FwMark::Mode::kOff, 0}));
  EXPECT_EQ(parse_fwmark("0"), (FwMark{FwMark::Mode::kOff, 0}));
  EXPECT_EQ(parse_fwmark("51820"), (FwMark{FwMark::Mode::kValue, 51820}));
  EXPECT_EQ(parse_fwmark("0xca6c"), (FwMark{FwMark::Mode::kValue, 0xca6c}));
  EXPECT_EQ(parse_fwmark("0XFFFFFFFF"), (FwMark{FwMark::Mode::kValue, 0xffffffff}));
  for (const char* bad : {"0x", "0x100000000", "0xg", "4294967296", "-1", "auto"}) {
    ASSERT_FALSE(parse_fwmark(bad)) << bad;
    EXPECT_THAT(parse_fwmark(bad).error(), HasSubstr("is not a firewall mark"));
  }
}

TEST(ValuesTest, AddressesAndPrefixes) {
  EXPECT_EQ(parse_address("10.0.2.3"), ip("10.0.2.3"));
  EXPECT_EQ(parse_prefix("10.0.2.300/32").error(), "'10.0.2.300/32' is not an IP prefix");
  EXPECT_EQ(parse_prefix("10.0.2.15/24")->to_string(), "10.0.2.0/24");
  EXPECT_EQ(parse_interface_address("10.0.2.2/24")->to_string(), "10.0.2.2/24");
  EXPECT_THAT(parse_interface_address("10.0.2.2/33").error(), HasSubstr("is not an IP address"));
  EXPECT_EQ(parse_host_port("vpn.example.com:51820")->host, "vpn.example.com");
  EXPECT_THAT(parse_host_port("2001:db8::1:51820").error(), HasSubstr("brackets"));
}

TEST(ValuesTest, SplitList) {
  const auto items = split_list(" 10.0.2.15/32 ,fec0::15/128,  a ");
  ASSERT_TRUE(items);
  EXPECT_EQ(*items, (std::vector<std::string_view>{"10.0.2.15/32", "fec0::15/128", "a"}));
  EXPECT_EQ(split_list("one")->size(), 1u);
  EXPECT_THAT(split_list("").error(), HasSubstr("empty"));
  EXPECT_THAT(split_list("a,,b").error(), HasSubstr("empty item"));
  EXPECT_THAT(split_list("a,").error(), HasSubstr("empty item"));
}

TEST(ValuesTest, QuoteIsBoundedAndPrintable) {
  EXPECT_EQ(quote("abc"), "'abc'");
  EXPECT_EQ(quote(std::string_view("a\x01\x7f"
                                   "b",
                                   4)),
            "'a??b'");
  EXPECT_EQ(quote(std::string(100, 'x')), "'" + std::string(64, 'x') + "...'");
}

TEST(DestinationRuleTest, ParsesEveryForm) {
  struct Row {
    const char* text;
    Protocol protocol;
    const char* prefix;
    uint16_t low, high;
    const char* canonical;
  };
  const Row rows[] = {
      /* 0 */ {"169.254.169.254/32", Protocol::kAny, "169.254.169.254/32", 0, 65535,
               "169.254.169.254/32"},
      /* 1 */ {"10.0.0.0/8:22", Protocol::kAny, "10.0.0.0/8", 22, 22, "10.0.0.0/8:22"},
      /* 2 */ {"tcp:0.0.0.0/0:25", Protocol::kTcp, "0.0.0.0/0", 25, 25, "tcp:0.0.0.0/0:25"},
      /* 3 */
      {"UDP:198.51.100.0/24:1000-2000", Protocol::kUdp, "198.51.100.0/24", 1000, 2000,
       "udp:198.51.100.0/24:1000-2000"},
      /* 4 */
      {"[2001:db8::/32]:443", Protocol::kAny, "2001:db8::/32", 443, 443, "[2001:db8::/32]:443"},
      /* 5 */ {"2001:db8::/32", Protocol::kAny, "2001:db8::/32", 0, 65535, "2001:db8::/32"},
      /* 6 */ {"tcp:[::/0]:1-1024", Protocol::kTcp, "::/0", 1, 1024, "tcp:[::/0]:1-1024"},
      /* 7 */ {"203.0.113.7", Protocol::kAny, "203.0.113.7/32", 0, 65535, "203.0.113.7/32"},
      /* 8 */ {"tcp:10.0.0.0/8", Protocol::kTcp, "10.0.0.0/8", 0, 65535, "tcp:10.0.0.0/8"},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    const auto rule = parse_destination_rule(rows[i].text);
    ASSERT_TRUE(rule) << "row " << i << ": " << rule.error();
    EXPECT_EQ(rule->protocol, rows[i].protocol) << "row " << i;
    EXPECT_EQ(rule->prefix, *net::IpPrefix::parse(rows[i].prefix)) << "row " << i;
    EXPECT_EQ(rule->port_low, rows[i].low) << "row " << i;
    EXPECT_EQ(rule->port_high, rows[i].high) << "row " << i;
    EXPECT_EQ(rule->to_string(), rows[i].canonical) << "row " << i;
    EXPECT_EQ(parse_destination_rule(rule->to_string()), rule) << "row " << i;
  }
}

TEST(DestinationRuleTest, RejectsBadForms) {
  for (const char* bad :
       {"", "10.0.0.0/33", "10.0.0.0/8:", "10.0.0.0/8:65536", "10.0.0.0/8:2000-1000",
        "10.0.0.0/8:a", "2001:db8::/32:443", "[2001:db8::/32]", "[2001:db8::/32]443",
        "[10.0.0.0/8]:22", "icmp:10.0.0.0/8", "tcp:", "[2001:db8::/32:443", "10.0.0.0/8:1-2-3"}) {
    EXPECT_FALSE(parse_destination_rule(bad)) << bad;
  }
  EXPECT_THAT(parse_destination_rule("10.0.0.0/8:9-1").error(), HasSubstr("start is above"));
}

TEST(DestinationRuleTest, Matches) {
  const auto any = *parse_destination_rule("10.0.0.0/8");
  EXPECT_TRUE(any.matches(Protocol::kTcp, ip("10.1.2.3"), 80));
  EXPECT_TRUE(any.matches(Protocol::kUdp, ip("10.1.2.3"), 53));
  EXPECT_TRUE(any.matches(Protocol::kAny, ip("10.1.2.3"), 0));  // e.g. ICMP
  EXPECT_FALSE(any.matches(Protocol::kTcp, ip("11.0.0.1"), 80));
  EXPECT_FALSE(any.matches(Protocol::kTcp, ip("::ffff:10.1.2.3"), 80));
  const auto smtp = *parse_destination_rule("tcp:0.0.0.0/0:25");
  EXPECT_TRUE(smtp.matches(Protocol::kTcp, ip("198.51.100.1"), 25));
  EXPECT_FALSE(smtp.matches(Protocol::kUdp, ip("198.51.100.1"), 25));
  EXPECT_FALSE(smtp.matches(Protocol::kTcp, ip("198.51.100.1"), 26));
  EXPECT_FALSE(smtp.matches(Protocol::kAny, ip("198.51.100.1"), 0));
  const auto range = *parse_destination_rule("[2001:db8::/32]:1000-2000");
  EXPECT_TRUE(range.matches(Protocol::kUdp, ip("2001:db8::1"), 1000));
  EXPECT_TRUE(range.matches(Protocol::kTcp, ip("2001:db8::1"), 2000));
  EXPECT_FALSE(range.matches(Protocol::kTcp, ip("2001:db8::1"), 999));
  EXPECT_FALSE(range.matches(Protocol::kTcp, ip("2001:db8::1"), 2001));
  EXPECT_FALSE(range.matches(Protocol::kAny, ip("2001:db8::1"), 0));
}

TEST(ForwardPortTest, ParsesEveryForm) {
  auto a = parse_forward_port("tcp:8080:80");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->protocol, Protocol::kTcp);
  EXPECT_FALSE(a->bind_address);
  EXPECT_EQ(a->server_port, 8080);
  EXPECT_EQ(a->client_port, 80);
  EXPECT_EQ(a->to_string(), "tcp:8080:80");
  auto b = parse_forward_port("UDP:5353:53");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->protocol, Protocol::kUdp);
  EXPECT_EQ(b->to_string(), "udp:5353:53");
  auto c = parse_forward_port("tcp:203.0.113.1:8080:80");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->bind_address, ip("203.0.113.1"));
  EXPECT_EQ(c->to_string(), "tcp:203.0.113.1:8080:80");
  auto d = parse_forward_port("tcp:[2001:db8::1]:8443:443");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->bind_address, ip("2001:db8::1"));
  EXPECT_EQ(d->to_string(), "tcp:[2001:db8::1]:8443:443");
  for (const auto& forward : {*a, *b, *c, *d}) {
    EXPECT_EQ(parse_forward_port(forward.to_string()), forward);
  }
}

TEST(ForwardPortTest, RejectsBadForms) {
  for (const char* bad : {"", "8080:80", "sctp:8080:80", "tcp:8080", "tcp:0:80", "tcp:8080:0",
                          "tcp:8080:65536", "tcp:2001:db8::1:8080:80", "tcp:[203.0.113.1]:8080:80",
                          "tcp:example.com:8080:80", "tcp::8080:80", "tcp:8080:80:", "tcp:a:b"}) {
    ASSERT_FALSE(parse_forward_port(bad)) << bad;
    EXPECT_THAT(parse_forward_port(bad).error(), HasSubstr("is not a port forward"));
  }
}

TEST(ForwardPortTest, Conflicts) {
  const auto any = *parse_forward_port("tcp:8080:80");
  const auto bound = *parse_forward_port("tcp:203.0.113.1:8080:81");
  const auto other_bound = *parse_forward_port("tcp:203.0.113.2:8080:81");
  const auto udp = *parse_forward_port("udp:8080:80");
  const auto other_port = *parse_forward_port("tcp:8081:80");
  EXPECT_TRUE(any.conflicts_with(any));
  EXPECT_TRUE(any.conflicts_with(bound));
  EXPECT_TRUE(bound.conflicts_with(any));
  EXPECT_FALSE(bound.conflicts_with(other_bound));
  EXPECT_FALSE(any.conflicts_with(udp));
  EXPECT_FALSE(any.conflicts_with(other_port));
}

TEST(ValuesTest, SearchDomains) {
  for (const char* good : {"example.com", "corp", "a-b.example.com.", "_srv.example"}) {
    EXPECT_TRUE(is_search_domain(good)) << good;
  }
  for (const char* bad : {"", ".", "a..b", ".example", "exa mple", "10.0.2.3", "a/b", "x@y"}) {
    EXPECT_FALSE(is_search_domain(bad)) << bad;
  }
  EXPECT_FALSE(is_search_domain(std::string(64, 'a')));
  EXPECT_TRUE(is_search_domain(std::string(63, 'a')));
}

}  // namespace
}  // namespace slirpvpn::config
