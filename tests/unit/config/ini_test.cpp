// SPDX-License-Identifier: MIT
// Tests for the INI reader: sections, entries, trimming, comments, line numbers and errors.
#include "config/ini.h"

#include "test_support.h"

namespace slirpvpn::config {
namespace {

using testing::expect_error;

TEST(IniTest, ReadsSectionsEntriesAndLineNumbers) {
  const auto document = parse_ini(
      "# leading comment\n"
      "\n"
      "[Interface]\n"
      "PrivateKey = abc=\n"
      "  ListenPort\t=\t51820  \n"
      "[Peer]   # trailing comment\n"
      "AllowedIPs = 10.0.2.15/32 # host\n"
      "AllowedIPs=fec0::15/128\n",
      "x.conf");
  ASSERT_TRUE(document) << document.error().to_string();
  ASSERT_EQ(document->sections.size(), 2u);
  const auto& interface = document->sections[0];
  EXPECT_EQ(interface.name, "Interface");
  EXPECT_EQ(interface.line, 3);
  ASSERT_EQ(interface.entries.size(), 2u);
  EXPECT_EQ(interface.entries[0].key, "PrivateKey");
  EXPECT_EQ(interface.entries[0].value, "abc=");
  EXPECT_EQ(interface.entries[0].line, 4);
  EXPECT_EQ(interface.entries[1].key, "ListenPort");
  EXPECT_EQ(interface.entries[1].value, "51820");
  EXPECT_EQ(interface.entries[1].line, 5);
  const auto& peer = document->sections[1];
  EXPECT_EQ(peer.name, "Peer");
  EXPECT_EQ(peer.line, 6);
  ASSERT_EQ(peer.entries.size(), 2u);
  EXPECT_EQ(peer.entries[0].value, "10.0.2.15/32");
  EXPECT_EQ(peer.entries[1].value, "fec0::15/128");
  EXPECT_EQ(peer.entries[1].line, 8);
}

TEST(IniTest, HandlesCrlfEmptyValuesAndNoFinalNewline) {
  const auto document = parse_ini("[ Interface ]\r\nDNS =\r\nMTU = 1280", "x.conf");
  ASSERT_TRUE(document);
  ASSERT_EQ(document->sections.size(), 1u);
  EXPECT_EQ(document->sections[0].name, "Interface");
  EXPECT_EQ(document->sections[0].entries[0].value, "");
  EXPECT_EQ(document->sections[0].entries[1].value, "1280");
  EXPECT_EQ(document->sections[0].entries[1].line, 3);
}

TEST(IniTest, EmptyTextIsAnEmptyDocument) {
  const auto document = parse_ini("", "x.conf");
  ASSERT_TRUE(document);
  EXPECT_TRUE(document->sections.empty());
}

TEST(IniTest, ValueKeepsEqualsSigns) {
  const auto document = parse_ini("[Peer]\nPublicKey = AAAA==\n", "x.conf");
  ASSERT_TRUE(document);
  EXPECT_EQ(document->sections[0].entries[0].value, "AAAA==");
}

TEST(IniTest, Errors) {
  expect_error(parse_ini("Key = 1\n", "x.conf"), "x.conf", 1, "'Key' is outside any section");
  expect_error(parse_ini("[Interface]\n\nnot a pair\n", "x.conf"), "x.conf", 3,
               "expected 'Key = Value'");
  expect_error(parse_ini("[Interface\n", "x.conf"), "x.conf", 1, "missing ']'");
  expect_error(parse_ini("[]\n", "x.conf"), "x.conf", 1, "section name");
  expect_error(parse_ini("[Inter face]\n", "x.conf"), "x.conf", 1, "section name");
  expect_error(parse_ini("[Interface]\n= 5\n", "x.conf"), "x.conf", 2, "missing key name");
  expect_error(parse_ini("[Interface]\nList-en = 5\n", "x.conf"), "x.conf", 2,
               "letters and digits");
  expect_error(parse_ini(std::string_view("[Interface]\nA = \0\n", 17), "x.conf"), "x.conf", 2,
               "NUL");
}

TEST(IniTest, ErrorsNeverQuoteTheLine) {
  // A mistyped line might be a private key; the message must not echo it.
  const auto result =
      parse_ini("[Interface]\nyAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk\n", "x.conf");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message.find("yAnz5"), std::string::npos);
}

TEST(IniTest, CaseInsensitiveCompareAndTrim) {
  EXPECT_TRUE(equals_ignore_case("AllowedIPs", "allowedips"));
  EXPECT_TRUE(equals_ignore_case("", ""));
  EXPECT_FALSE(equals_ignore_case("MTU", "MTUs"));
  EXPECT_FALSE(equals_ignore_case("a[", "A{"));
  EXPECT_EQ(trim(" \t x y \t"), "x y");
  EXPECT_EQ(trim(" \t "), "");
}

}  // namespace
}  // namespace slirpvpn::config
