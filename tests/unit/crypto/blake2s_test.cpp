// SPDX-License-Identifier: MIT
// Known-answer tests for BLAKE2s hash and MAC, HMAC-BLAKE2s and the Noise KDF.
#include "crypto/blake2s.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <vector>

#include "crypto/x25519.h"
#include "test_hex.h"

namespace slirpvpn::crypto {
namespace {

using test::from_hex;
using test::to_hex;

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// 00 01 02 … (length - 1): the input pattern of both the BLAKE2 and the kernel vectors.
std::vector<uint8_t> counting(size_t length) {
  std::vector<uint8_t> bytes(length);
  for (size_t i = 0; i < length; ++i) bytes[i] = uint8_t(i);
  return bytes;
}

class Blake2sTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(initialize()); }
};

// RFC 7693 Appendix B: BLAKE2s-256("abc").
constexpr const char* kRfc7693Abc =
    "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982";

TEST_F(Blake2sTest, Rfc7693AppendixB) {
  std::array<uint8_t, kHashLen> out{};
  blake2s_hash(out, {bytes_of("abc")});
  EXPECT_EQ(to_hex(out), kRfc7693Abc);
}

// The parts are hashed as one concatenated message, whichever way it is split.
TEST_F(Blake2sTest, PartsAreConcatenated) {
  std::array<uint8_t, kHashLen> out{};
  blake2s_hash(out, {bytes_of("a"), bytes_of(""), bytes_of("bc")});
  EXPECT_EQ(to_hex(out), kRfc7693Abc);
}

// BLAKE2 reference package (github.com/BLAKE2/BLAKE2) keyed KAT, testvectors/blake2s-test.txt,
// also published as blake2.net/blake2s-test.txt: key 000102…1f, input 00 01 … (length - 1),
// 32-byte output.
struct KeyedRow {
  size_t input_length;
  const char* hash;
};
constexpr const char* kKatKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr KeyedRow kBlake2sKeyedKat[] = {
    {0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"},
    {1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1"},
    {2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803"},
    {63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd"},
    {64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"},
    {65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8"},
    {255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd"},
};

TEST_F(Blake2sTest, ReferenceKeyedKat) {
  const auto key = from_hex(kKatKey);
  for (const auto& row : kBlake2sKeyedKat) {
    SCOPED_TRACE(testing::Message() << "blake2s-kat.txt input length " << row.input_length);
    const auto input = counting(row.input_length);
    std::array<uint8_t, kHashLen> out{};
    blake2s_mac(out, key, input);
    EXPECT_EQ(to_hex(out), row.hash);
  }
}

// Linux lib/crypto/blake2s-selftest.c, blake2s_testvecs[i]: output length 1 + i % 32, key the
// last (13 * i) % 33 bytes of a Fibonacci sequence mod 256 starting 1, 1, input 00 01 … (i - 1).
// Rows 15, 47 and 79 are BLAKE2s-128, WireGuard's MAC() (mac1, mac2, cookie).
struct KernelRow {
  size_t index;
  const char* hash;
};
constexpr KernelRow kKernelBlake2s[] = {
    {1, "7c89"},
    {15, "4fe0f95212da84b7abaeb0a6472ac7f5"},
    {31, "dd35d2b4f6c7eaab64244efee53d4e958b6d6cbcb0f8886109b778a331fed92f"},
    {47, "a3504da51d0368e95778d604f1c394d8"},
    {79, "b1dec9f5dbf32f4cd6417d39183ec7c3"},
};

std::array<uint8_t, 32> kernel_key() {
  std::array<uint8_t, 32> key{};
  key[0] = key[1] = 1;
  for (size_t i = 2; i < key.size(); ++i) key[i] = uint8_t(key[i - 2] + key[i - 1]);
  return key;
}

TEST_F(Blake2sTest, KernelSelftestKeyedOutputLengths) {
  const auto key = kernel_key();
  for (const auto& row : kKernelBlake2s) {
    SCOPED_TRACE(testing::Message() << "blake2s_testvecs[" << row.index << "]");
    const size_t out_length = 1 + row.index % 32;
    const size_t key_length = (13 * row.index) % 33;
    ASSERT_GT(key_length, 0u);  // BLAKE2s-MAC needs a key; the rows above all have one
    const auto input = counting(row.index);
    std::vector<uint8_t> out(out_length);
    blake2s_mac(out, std::span<const uint8_t>(key).last(key_length), input);
    EXPECT_EQ(to_hex(out), row.hash);
  }
}

// Linux lib/crypto/blake2s-selftest.c, blake2s_hmac_testvecs: HMAC-BLAKE2s-256 with the
// 32-byte Fibonacci key over 00 01 … ff, and with the 256-byte counting key (longer than the
// 64-byte block, so hashed first) over the Fibonacci bytes.
TEST_F(Blake2sTest, KernelSelftestHmac) {
  const auto key = kernel_key();
  const auto buf = counting(256);
  std::array<uint8_t, kHashLen> out{};
  hmac_blake2s(out, key, {buf});
  EXPECT_EQ(to_hex(out), "cee1576982dcbf43ad564c70ed681696cfa473e8e8fc3279080a7582da3f0511");
  hmac_blake2s(out, buf, {key});
  EXPECT_EQ(to_hex(out), "772f0c7141f44b2bb3c6b6f960dee4523866e8bf9b96c49f60d9243799d6ec31");
  // Split input, same message.
  hmac_blake2s(out, buf, {std::span<const uint8_t>(key).first(5), std::span(key).subspan(5)});
  EXPECT_EQ(to_hex(out), "772f0c7141f44b2bb3c6b6f960dee4523866e8bf9b96c49f60d9243799d6ec31");
}

// wireguard-go device/kdf_test.go: KDF_n(key, input) with HMAC-BLAKE2s. The keys are the hex
// strings "test-key", "wireguard" and "", inputs "test-input", "wireguard" and "".
struct KdfRow {
  const char* key;
  const char* input;
  const char* t0;
  const char* t1;
  const char* t2;
};
constexpr KdfRow kWireguardGoKdf[] = {
    /* 0 */ {"746573742d6b6579", "746573742d696e707574",
             "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
             "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
             "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"},
    /* 1 */
    {"776972656775617264", "776972656775617264",
     "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
     "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
     "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"},
    /* 2 */
    {"", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
     "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
     "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"},
};

// The KDF spelt out with hmac_blake2s on the vector's own (short) key:
// prk = HMAC(key, input); t0 = HMAC(prk, 1); t1 = HMAC(prk, t0 ‖ 2); t2 = HMAC(prk, t1 ‖ 3).
TEST_F(Blake2sTest, WireguardGoKdfThroughHmac) {
  for (size_t row = 0; row < std::size(kWireguardGoKdf); ++row) {
    SCOPED_TRACE(testing::Message() << "kdf_test.go row " << row);
    const auto& v = kWireguardGoKdf[row];
    const auto key = from_hex(v.key);
    const auto input = from_hex(v.input);
    std::array<uint8_t, kHashLen> prk{}, t0{}, t1{}, t2{};
    const uint8_t one = 1, two = 2, three = 3;
    hmac_blake2s(prk, key, {input});
    hmac_blake2s(t0, prk, {std::span(&one, 1)});
    hmac_blake2s(t1, prk, {t0, std::span(&two, 1)});
    hmac_blake2s(t2, prk, {t1, std::span(&three, 1)});
    EXPECT_EQ(to_hex(t0), v.t0);
    EXPECT_EQ(to_hex(t1), v.t1);
    EXPECT_EQ(to_hex(t2), v.t2);
  }
}

// crypto::kdf takes a 32-byte chaining key. HMAC (RFC 2104 §2, step 1) pads every key with
// zeros to the 64-byte block, so a short key and the same key zero-padded to 32 bytes are the
// same HMAC key: the vectors apply unchanged.
TEST_F(Blake2sTest, WireguardGoKdf) {
  for (size_t row = 0; row < std::size(kWireguardGoKdf); ++row) {
    const auto& v = kWireguardGoKdf[row];
    auto key = from_hex(v.key);
    key.resize(kHashLen, 0);
    const std::span<const uint8_t, kHashLen> chaining_key(key.data(), kHashLen);
    const auto input = from_hex(v.input);
    const char* expected[] = {v.t0, v.t1, v.t2};
    for (size_t n = 1; n <= 3; ++n) {
      SCOPED_TRACE(testing::Message() << "kdf_test.go row " << row << ", KDF" << n);
      SymmetricKey t[3];
      SymmetricKey* outputs[] = {&t[0], &t[1], &t[2]};
      kdf(std::span<SymmetricKey* const>(outputs, n), chaining_key, input);
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(to_hex(t[i].span()), expected[i]) << "t" << i;
      for (size_t i = n; i < 3; ++i) EXPECT_TRUE(t[i].is_zero()) << "t" << i << " written";
    }
  }
}

}  // namespace
}  // namespace slirpvpn::crypto
