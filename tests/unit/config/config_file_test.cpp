// SPDX-License-Identifier: MIT
// Tests for reading configuration file text.
#include "config/config_file.h"

#include "test_support.h"

namespace slirpvpn::config {
namespace {

using testing::expect_error;
using testing::ScratchDirectory;

TEST(ConfigFileTest, ReadsTextAndPermissions) {
  ScratchDirectory dir;
  const auto owner_only = read_config_file(dir.write("a.conf", "[Interface]\n", 0600));
  ASSERT_TRUE(owner_only) << owner_only.error().to_string();
  EXPECT_EQ(owner_only->text, "[Interface]\n");
  EXPECT_FALSE(owner_only->readable_by_others);
  const auto world = read_config_file(dir.write("b.conf", "x", 0644));
  ASSERT_TRUE(world);
  EXPECT_TRUE(world->readable_by_others);
  const auto empty = read_config_file(dir.write("c.conf", "", 0600));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->text, "");
}

TEST(ConfigFileTest, Errors) {
  ScratchDirectory dir;
  const std::string missing = dir.path() + "/missing.conf";
  expect_error(read_config_file(missing), missing, 0, "cannot open");
  expect_error(read_config_file(dir.path()), dir.path(), 0, "not a regular file");
  const auto big = dir.write("big.conf", std::string((1 << 20) + 1, '#'), 0600);
  expect_error(read_config_file(big), big, 0, "larger than 1 MiB");
}

}  // namespace
}  // namespace slirpvpn::config
