// SPDX-License-Identifier: MIT
// Tests for the "file:line: message" formatting of configuration errors.
#include "config/config_error.h"

#include <gtest/gtest.h>

namespace slirpvpn::config {
namespace {

TEST(ConfigErrorTest, FormatsFileLineMessage) {
  EXPECT_EQ((ConfigError{"server.conf", 7, "MTU: '9' is out of range"}).to_string(),
            "server.conf:7: MTU: '9' is out of range");
}

TEST(ConfigErrorTest, WholeFileErrorsHaveNoLine) {
  EXPECT_EQ((ConfigError{"client.conf", 0, "no [Peer] section"}).to_string(),
            "client.conf: no [Peer] section");
}

TEST(ConfigErrorTest, ConfigFailBuildsAnUnexpected) {
  ConfigExpected<int> result = config_fail("a.conf", 3, "bad");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string(), "a.conf:3: bad");
}

}  // namespace
}  // namespace slirpvpn::config
