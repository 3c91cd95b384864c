// SPDX-License-Identifier: MIT
// Tests for the shared section checks: unknown, repeated and unsupported keys, secrets.
#include "config/section.h"

#include "test_support.h"

namespace slirpvpn::config {
namespace {

using testing::expect_error;

constexpr KeyRule kRules[] = {{"MTU"}, {"AllowedIPs", true}, {"PrivateKey"}, {"PrivateKeyFile"}};

IniDocument parse(std::string_view text) {
  auto document = parse_ini(text, "t.conf");
  EXPECT_TRUE(document);
  return std::move(*document);
}

TEST(SectionTest, AcceptsKnownKeysAnyCaseAndRepeatedLists) {
  const auto document = parse("[Peer]\nmtu = 1\nALLOWEDIPS = a\nAllowedIPs = b\n");
  EXPECT_TRUE(check_section(document.sections[0], kRules, "t.conf"));
  EXPECT_EQ(find_entry(document.sections[0], "MTU")->value, "1");
  EXPECT_EQ(find_entries(document.sections[0], "allowedips").size(), 2u);
  EXPECT_EQ(find_entry(document.sections[0], "PrivateKey"), nullptr);
}

TEST(SectionTest, UnknownKeyIsNamed) {
  const auto document = parse("[Peer]\nMTU = 1\nFoo = 2\n");
  expect_error(check_section(document.sections[0], kRules, "t.conf"), "t.conf", 3,
               "unknown key 'Foo' in [Peer]");
}

TEST(SectionTest, DuplicateSingleKey) {
  const auto document = parse("[Interface]\nMTU = 1\n\nmtu = 2\n");
  expect_error(check_section(document.sections[0], kRules, "t.conf"), "t.conf", 4,
               "duplicate key 'MTU' in [Interface] (first at line 2)");
}

TEST(SectionTest, WgQuickHooksAreNotSupported) {
  for (const char* hook : {"PreUp", "PostUp", "PreDown", "postdown", "SaveConfig"}) {
    const auto document = parse(std::string("[Interface]\n") + hook + " = true\n");
    const auto result = check_section(document.sections[0], kRules, "t.conf");
    expect_error(result, "t.conf", 2, "is not supported by slirpvpn");
  }
}

TEST(SectionTest, LoadSecretInlineFileBothAndNeither) {
  testing::ScratchDirectory dir;
  const std::string key = testing::private_text(9);
  auto inline_doc = parse("[Interface]\nPrivateKey = " + key + "\n");
  auto inline_secret =
      load_secret(inline_doc.sections[0], "PrivateKey", "PrivateKeyFile", "t.conf");
  ASSERT_TRUE(inline_secret);
  ASSERT_TRUE(*inline_secret);
  EXPECT_EQ(crypto::encode_key((*inline_secret)->span()), key);

  dir.write("k", key + "\n", 0600);
  const std::string conf = dir.path() + "/t.conf";
  auto file_doc = parse("[Interface]\nPrivateKeyFile = k\n");
  auto file_secret = load_secret(file_doc.sections[0], "PrivateKey", "PrivateKeyFile", conf);
  ASSERT_TRUE(file_secret) << file_secret.error().to_string();
  EXPECT_EQ(crypto::encode_key((*file_secret)->span()), key);

  auto both = parse("[Interface]\nPrivateKeyFile = k\nPrivateKey = " + key + "\n");
  expect_error(load_secret(both.sections[0], "PrivateKey", "PrivateKeyFile", "t.conf"), "t.conf", 3,
               "PrivateKey: give either PrivateKey or PrivateKeyFile, not both");

  auto neither = parse("[Interface]\nMTU = 1\n");
  auto none = load_secret(neither.sections[0], "PrivateKey", "PrivateKeyFile", "t.conf");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  auto bad = parse("[Interface]\nPrivateKey = nope\n");
  expect_error(load_secret(bad.sections[0], "PrivateKey", "PrivateKeyFile", "t.conf"), "t.conf", 2,
               "PrivateKey: not a base64 32-byte key");
  auto empty_file = parse("[Interface]\nPrivateKeyFile =\n");
  expect_error(load_secret(empty_file.sections[0], "PrivateKey", "PrivateKeyFile", "t.conf"),
               "t.conf", 2, "PrivateKeyFile: the value is empty");
}

TEST(SectionTest, ParseListAccumulatesWithLines) {
  const auto document =
      parse("[Peer]\nAllowedIPs = 10.0.2.15/32, fec0::15\n\nAllowedIPs = 10.0.3.0/24\n");
  auto list = parse_list(document.sections[0], "AllowedIPs", "t.conf", parse_prefix);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].line, 2);
  EXPECT_EQ((*list)[1].value.to_string(), "fec0::15/128");
  EXPECT_EQ((*list)[2].line, 4);
  const auto bad = parse("[Peer]\nAllowedIPs = 10.0.2.15/32\nAllowedIPs = 10.0.2.300/32\n");
  expect_error(parse_list(bad.sections[0], "AllowedIPs", "t.conf", parse_prefix), "t.conf", 3,
               "AllowedIPs: '10.0.2.300/32' is not an IP prefix");
}

}  // namespace
}  // namespace slirpvpn::config
