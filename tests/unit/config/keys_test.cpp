// SPDX-License-Identifier: MIT
// Tests for key decoding and owner-only key files.
#include "config/keys.h"

#include <sys/stat.h>

#include "test_support.h"

namespace slirpvpn::config {
namespace {

using ::testing::HasSubstr;
using testing::ScratchDirectory;

TEST(KeysTest, PublicKeyRoundTrip) {
  const std::string text = testing::public_text(1);
  const auto key = parse_public_key(text);
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(*key, testing::public_key(1));
  EXPECT_EQ(crypto::encode_key(key->bytes), text);
}

TEST(KeysTest, SecretKeyRoundTrip) {
  const std::string text = testing::private_text(2);
  const auto key = parse_secret_key(text);
  ASSERT_TRUE(key);
  EXPECT_EQ(crypto::encode_key(key->span()), text);
}

TEST(KeysTest, BadKeysAreRejectedWithoutEchoingSecrets) {
  const std::string almost = testing::private_text(3).substr(0, 43) + "A";  // no padding
  const auto secret = parse_secret_key(almost);
  ASSERT_FALSE(secret);
  EXPECT_THAT(secret.error(), HasSubstr("not a base64 32-byte key"));
  EXPECT_EQ(secret.error().find(almost.substr(0, 10)), std::string::npos);
  EXPECT_FALSE(parse_secret_key(""));
  EXPECT_FALSE(parse_secret_key(testing::private_text(3) + "="));
  EXPECT_FALSE(parse_public_key("AAAA"));
  EXPECT_THAT(parse_public_key("AAAA").error(), HasSubstr("'AAAA' is not a base64 32-byte key"));
}

TEST(KeysTest, ReadsAnOwnerOnlyKeyFile) {
  ScratchDirectory dir;
  const std::string text = testing::private_text(4);
  const auto path = dir.write("server.key", text + "\n", 0600);
  const auto key = read_key_file(path);
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(crypto::encode_key(key->span()), text);
  // 0400 is fine too; surrounding whitespace is tolerated.
  const auto read_only = dir.write("ro.key", "  " + text + " \r\n\n", 0400);
  EXPECT_TRUE(read_key_file(read_only));
}

TEST(KeysTest, RefusesGroupOrWorldAccessibleKeyFiles) {
  ScratchDirectory dir;
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0666}) {
    const auto path = dir.write("loose.key", testing::private_text(5) + "\n", mode);
    const auto key = read_key_file(path);
    ASSERT_FALSE(key) << std::oct << mode;
    EXPECT_THAT(key.error(), HasSubstr("is world accessible"));
    EXPECT_THAT(key.error(), HasSubstr(path));
    EXPECT_THAT(key.error(), HasSubstr("chmod 600"));
  }
}

TEST(KeysTest, KeyFileErrors) {
  ScratchDirectory dir;
  const auto missing = read_key_file(dir.path() + "/missing.key");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error(), HasSubstr("cannot open"));
  EXPECT_THAT(missing.error(), HasSubstr("No such file"));
  const auto directory = read_key_file(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_THAT(directory.error(), HasSubstr("not a regular file"));
  const auto garbage = dir.write("bad.key", "not a key\n", 0600);
  ASSERT_FALSE(read_key_file(garbage));
  EXPECT_THAT(read_key_file(garbage).error(), HasSubstr("does not hold a key"));
  const auto two =
      dir.write("two.key", testing::private_text(6) + "\n" + testing::private_text(7) + "\n", 0600);
  EXPECT_FALSE(read_key_file(two));
  const auto big = dir.write("big.key", std::string(4096, 'A'), 0600);
  EXPECT_FALSE(read_key_file(big));
  const auto empty = dir.write("empty.key", "", 0600);
  EXPECT_FALSE(read_key_file(empty));
}

TEST(KeysTest, RefusesFifoWithoutBlocking) {
  ScratchDirectory dir;
  const std::string path = dir.path() + "/fifo.key";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const auto key = read_key_file(path);
  ASSERT_FALSE(key);
  EXPECT_THAT(key.error(), HasSubstr("not a regular file"));
}

TEST(KeysTest, ResolvesRelativeToTheConfigFile) {
  EXPECT_EQ(resolve_relative_to("/etc/slirpvpn/server.conf", "server.key"),
            "/etc/slirpvpn/server.key");
  EXPECT_EQ(resolve_relative_to("/etc/slirpvpn/server.conf", "/keys/a.key"), "/keys/a.key");
  EXPECT_EQ(resolve_relative_to("server.conf", "keys/a.key"), "keys/a.key");
  EXPECT_EQ(resolve_relative_to("conf/server.conf", "a.key"), "conf/a.key");
}

}  // namespace
}  // namespace slirpvpn::config
