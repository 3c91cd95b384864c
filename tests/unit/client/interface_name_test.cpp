// SPDX-License-Identifier: MIT
// Interface names: wg-quick's derivation from the config file name and its character rules.
#include "client/interface_name.h"

#include <gtest/gtest.h>

namespace slirpvpn::client {
namespace {

TEST(InterfaceName, DerivedFromTheFileName) {
  EXPECT_EQ(interface_name_from_config("/etc/slirpvpn/wg0.conf"), "wg0");
  EXPECT_EQ(interface_name_from_config("client.conf"), "client");
  EXPECT_EQ(interface_name_from_config("dir/home-vpn"), "home-vpn");
  EXPECT_EQ(interface_name_from_config("a.b.conf"), "a.b");
}

TEST(InterfaceName, RefusedWhenTooLongOrOdd) {
  EXPECT_EQ(interface_name_from_config("/x/123456789012345.conf"), "123456789012345");
  EXPECT_FALSE(interface_name_from_config("/x/1234567890123456.conf"));
  EXPECT_FALSE(interface_name_from_config("/x/my vpn.conf"));
  EXPECT_FALSE(interface_name_from_config("/x/.conf"));
  EXPECT_FALSE(interface_name_from_config("/x/"));
}

TEST(InterfaceName, Validity) {
  EXPECT_TRUE(valid_interface_name("wg0"));
  EXPECT_TRUE(valid_interface_name("a_b=c+d.e-f"));
  EXPECT_FALSE(valid_interface_name(""));
  EXPECT_FALSE(valid_interface_name("."));
  EXPECT_FALSE(valid_interface_name(".."));
  EXPECT_FALSE(valid_interface_name("a/b"));
  EXPECT_FALSE(valid_interface_name("tun\"0"));
}

}  // namespace
}  // namespace slirpvpn::client
