// SPDX-License-Identifier: MIT
// Tests for key handling: base64 as `wg` writes it, clamping, agreement with `wg pubkey`, and
// Secret's wiping.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "crypto/secret.h"
#include "crypto/x25519.h"
#include "test_hex.h"

namespace slirpvpn::crypto {
namespace {

using test::from_hex;
using test::to_hex;

constexpr const char* kWg = "/usr/bin/wg";

std::array<uint8_t, kKeyLen> key_bytes(std::string_view hex) {
  const auto bytes = from_hex(hex);
  std::array<uint8_t, kKeyLen> key{};
  EXPECT_EQ(bytes.size(), kKeyLen);
  std::copy_n(bytes.begin(), std::min(bytes.size(), kKeyLen), key.begin());
  return key;
}

// An independent base64 encoder (OpenSSL's) to check ours against.
std::string openssl_base64(std::span<const uint8_t> bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                     int(bytes.size()));
  text.resize(size_t(length));
  return text;
}

// Runs `wg pubkey` with `input` on stdin; nullopt when wg rejects it (non-zero exit).
std::optional<std::string> wg_pubkey(const std::string& input) {
  char path[] = "/tmp/slirpvpn-keys-test-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  if (fd < 0) return std::nullopt;
  EXPECT_EQ(write(fd, input.data(), input.size()), ssize_t(input.size()));
  close(fd);
  const std::string command = std::string(kWg) + " pubkey < " + path + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  if (pipe != nullptr) {
    char buffer[128];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  }
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  unlink(path);
  if (status != 0) return std::nullopt;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

bool have_wg() {
  return access(kWg, X_OK) == 0;
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(initialize()); }
};

// RFC 7748 §6.1 keys, used below as ordinary key material.
constexpr const char* kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr const char* kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

TEST_F(KeysTest, EncodeMatchesStandardBase64) {
  const std::array<uint8_t, kKeyLen> zeros{};
  EXPECT_EQ(encode_key(zeros), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  for (const char* hex : {kAlicePrivate, kAlicePublic,
                          "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"}) {
    SCOPED_TRACE(hex);
    const auto key = key_bytes(hex);
    const auto text = encode_key(key);
    EXPECT_EQ(text.size(), 44u);
    EXPECT_EQ(text, openssl_base64(key));
    const auto back = decode_key(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, key);
  }
}

TEST_F(KeysTest, DecodeRejectsMalformedText) {
  const std::string valid = encode_key(key_bytes(kAlicePublic));
  ASSERT_TRUE(decode_key(valid).has_value());

  const std::array<uint8_t, 33> long_key{};
  const std::array<uint8_t, 31> short_key{};
  const std::string rejected[] = {
      "",
      valid.substr(0, 43),                           // padding missing
      valid + "=",                                   // one character too many
      valid + "\n",                                  // trailing newline (callers trim)
      " " + valid.substr(1),                         // leading space
      openssl_base64(long_key),                      // 33 bytes: 44 characters, no padding
      openssl_base64(short_key),                     // 31 bytes: "==" padding
      valid.substr(0, 42) + "==",                    // 31 bytes' worth of characters
      valid.substr(0, 10) + "-" + valid.substr(11),  // base64url alphabet
      valid.substr(0, 10) + "_" + valid.substr(11),
      valid.substr(0, 10) + "*" + valid.substr(11),
      valid.substr(0, 10) + "=" + valid.substr(11),  // padding in the middle
      valid.substr(0, 10) + std::string(1, '\0') + valid.substr(11),
      // 32 bytes leave 2 padding bits in the 43rd symbol, which must be zero (canonical
      // encoding, as `wg` requires); 'B' is 0b000001.
      valid.substr(0, 42) + "B=",
  };
  for (size_t i = 0; i < std::size(rejected); ++i) {
    SCOPED_TRACE(testing::Message() << "case " << i << ": \"" << rejected[i] << "\"");
    EXPECT_FALSE(decode_key(rejected[i]).has_value());
  }
}

// `wg genkey` clamps (wireguard-tools curve25519_clamp_secret; RFC 7748 §5 decodeScalar25519):
// clear the low three bits, clear bit 255, set bit 254.
TEST_F(KeysTest, FromRandomClamps) {
  std::array<uint8_t, kKeyLen> ones;
  ones.fill(0xff);
  const auto high = PrivateKey::from_random(ones);
  EXPECT_EQ(high.span()[0], 0xf8);
  EXPECT_EQ(high.span()[31], 0x7f);
  for (size_t i = 1; i < 31; ++i) EXPECT_EQ(high.span()[i], 0xff) << i;

  const std::array<uint8_t, kKeyLen> zeros{};
  const auto low = PrivateKey::from_random(zeros);
  EXPECT_EQ(low.span()[0], 0x00);
  EXPECT_EQ(low.span()[31], 0x40);
  for (size_t i = 1; i < 31; ++i) EXPECT_EQ(low.span()[i], 0x00) << i;

  // from_bytes keeps the bytes as given.
  const auto raw = PrivateKey::from_bytes(ones);
  EXPECT_EQ(raw.span()[0], 0xff);
  EXPECT_EQ(raw.span()[31], 0xff);
}

// The published RFC 7748 key through `wg pubkey`: an implementation we did not write.
TEST_F(KeysTest, DerivePublicKeyAgreesWithWg) {
  if (!have_wg()) GTEST_SKIP() << kWg << " not installed";
  const auto alice = key_bytes(kAlicePrivate);
  const auto wg_public = wg_pubkey(encode_key(alice) + "\n");
  ASSERT_TRUE(wg_public.has_value());
  const auto decoded = decode_key(*wg_public);
  ASSERT_TRUE(decoded.has_value()) << *wg_public;
  EXPECT_EQ(to_hex(*decoded), kAlicePublic);

  // Clamping does not change the public key (X25519 clamps anyway), so both agree on any
  // bytes, clamped by from_random or not.
  for (const char* hex : {"0000000000000000000000000000000000000000000000000000000000000000",
                          "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                          "c8a3e5b7d1f00102030405060708090a0b0c0d0e0f101112131415161718191a"}) {
    SCOPED_TRACE(hex);
    const auto random = key_bytes(hex);
    const auto ours = encode_key(derive_public_key(PrivateKey::from_random(random)).bytes);
    EXPECT_EQ(wg_pubkey(encode_key(random) + "\n"), ours);
    EXPECT_EQ(wg_pubkey(encode_key(PrivateKey::from_random(random).span()) + "\n"), ours);
  }
}

// Our decoder and `wg` must accept exactly the same key texts.
TEST_F(KeysTest, DecodeAgreesWithWg) {
  if (!have_wg()) GTEST_SKIP() << kWg << " not installed";
  const std::string valid = encode_key(key_bytes(kAlicePrivate));
  const std::string cases[] = {
      valid,
      valid.substr(0, 43),
      valid.substr(0, 42) + "B=",
      valid.substr(0, 10) + "-" + valid.substr(11),
      valid.substr(0, 10) + "=" + valid.substr(11),
      openssl_base64(std::array<uint8_t, 31>{}),
  };
  for (const auto& text : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(decode_key(text).has_value(), wg_pubkey(text + "\n").has_value());
  }
}

TEST(SecretTest, MoveWipesTheSource) {
  const auto bytes = key_bytes(kAlicePrivate);
  SymmetricKey source{std::span<const uint8_t, kKeyLen>(bytes)};
  ASSERT_FALSE(source.is_zero());

  SymmetricKey moved(std::move(source));
  EXPECT_TRUE(source.is_zero());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(to_hex(moved.span()), kAlicePrivate);

  SymmetricKey assigned;
  assigned = std::move(moved);
  EXPECT_TRUE(moved.is_zero());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(to_hex(assigned.span()), kAlicePrivate);

  // Self-move leaves the key intact.
  SymmetricKey& alias = assigned;
  assigned = std::move(alias);
  EXPECT_EQ(to_hex(assigned.span()), kAlicePrivate);
}

TEST(SecretTest, PrivateKeyMoveWipesTheSource) {
  PrivateKey source = PrivateKey::from_bytes(key_bytes(kAlicePrivate));
  PrivateKey moved(std::move(source));
  EXPECT_TRUE(source.is_zero());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(to_hex(moved.span()), kAlicePrivate);
}

TEST(SecretTest, CopyKeepsBothAndWipeClears) {
  const auto bytes = key_bytes(kAlicePublic);
  SymmetricKey original{std::span<const uint8_t, kKeyLen>(bytes)};
  SymmetricKey copy(original);
  EXPECT_EQ(to_hex(original.span()), kAlicePublic);
  EXPECT_EQ(to_hex(copy.span()), kAlicePublic);
  EXPECT_TRUE(equal_constant_time<kKeyLen>(original.span(), copy.span()));
  copy.wipe();
  EXPECT_TRUE(copy.is_zero());
  EXPECT_FALSE(equal_constant_time<kKeyLen>(original.span(), copy.span()));
  EXPECT_EQ(to_hex(original.span()), kAlicePublic);
}

}  // namespace
}  // namespace slirpvpn::crypto
