// SPDX-License-Identifier: MIT
// Tests of address parsing and printing.
#include "socket_address.h"

#include <gtest/gtest.h>

namespace slirpvpn::wanem {
namespace {

TEST(SocketAddress, ParsesAndPrintsBothFamilies) {
  const auto v4 = SocketAddress::parse("198.51.100.1:51820");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->port(), 51820);
  EXPECT_EQ(v4->to_string(), "198.51.100.1:51820");
  const auto v6 = SocketAddress::parse("[2001:db8::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(SocketAddress::parse("203.0.113.2", false)->port(), 0);
  EXPECT_EQ(*SocketAddress::parse("[::1]:7"), *SocketAddress::parse("[0::1]:7"));
  EXPECT_FALSE(*SocketAddress::parse("[::1]:7") == *SocketAddress::parse("[::1]:8"));
}

TEST(SocketAddress, RejectsMalformed) {
  for (const char* bad : {"198.51.100.1", "198.51.100.1:", "198.51.100.1:65536", "::1:5", "[::1",
                          "[::1]x", "example.test:53", "1.2.3.4:5x", ""}) {
    EXPECT_FALSE(SocketAddress::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace slirpvpn::wanem
