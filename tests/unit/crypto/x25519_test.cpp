// SPDX-License-Identifier: MIT
// Known-answer tests for crypto::x25519 and derive_public_key against RFC 7748.
#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "test_hex.h"

namespace slirpvpn::crypto {
namespace {

using test::from_hex;
using test::to_hex;

PrivateKey scalar(std::string_view hex) {
  const auto bytes = from_hex(hex);
  EXPECT_EQ(bytes.size(), kKeyLen);
  return PrivateKey::from_bytes(std::span<const uint8_t, kKeyLen>(bytes.data(), kKeyLen));
}

PublicKey point(std::string_view hex) {
  const auto bytes = from_hex(hex);
  EXPECT_EQ(bytes.size(), kKeyLen);
  PublicKey key;
  std::memcpy(key.bytes.data(), bytes.data(), kKeyLen);
  return key;
}

class X25519Test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(initialize()); }
};

// RFC 7748 §5.2, the two single scalar multiplications. The second input u-coordinate has its
// top bit set (…a493); §5 requires implementations to mask it, so it is used as printed.
struct ScalarMultRow {
  const char* scalar;
  const char* u;
  const char* output;
};
constexpr ScalarMultRow kRfc7748ScalarMult[] = {
    /* 0 */ {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
             "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
             "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
    /* 1 */
    {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
};

TEST_F(X25519Test, Rfc7748ScalarMultiplication) {
  for (size_t row = 0; row < std::size(kRfc7748ScalarMult); ++row) {
    SCOPED_TRACE(testing::Message() << "RFC 7748 §5.2 row " << row);
    const auto& v = kRfc7748ScalarMult[row];
    SymmetricKey shared;
    ASSERT_TRUE(x25519(shared, scalar(v.scalar), point(v.u)));
    EXPECT_EQ(to_hex(shared.span()), v.output);
  }
}

// RFC 7748 §5.2, iterated: k = u = 9; each round k becomes X25519(k, u) and u the old k.
// (The 1,000,000-iteration value is left out: it takes about a minute.)
constexpr const char* kIteratedStart =
    "0900000000000000000000000000000000000000000000000000000000000000";
constexpr const char* kAfterOneIteration =
    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079";
constexpr const char* kAfterThousandIterations =
    "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";

TEST_F(X25519Test, Rfc7748Iterated) {
  auto k = from_hex(kIteratedStart);
  auto u = k;
  for (int i = 1; i <= 1000; ++i) {
    SymmetricKey result;
    ASSERT_TRUE(x25519(result, scalar(to_hex(k)), point(to_hex(u))));
    u = k;
    k.assign(result.data(), result.data() + kKeyLen);
    if (i == 1) {
      EXPECT_EQ(to_hex(k), kAfterOneIteration);
    }
  }
  EXPECT_EQ(to_hex(k), kAfterThousandIterations);
}

// RFC 7748 §6.1, Curve25519 Diffie-Hellman.
constexpr const char* kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr const char* kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr const char* kBobPrivate =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr const char* kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr const char* kSharedSecret =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

TEST_F(X25519Test, Rfc7748DiffieHellman) {
  const PrivateKey alice = scalar(kAlicePrivate);
  const PrivateKey bob = scalar(kBobPrivate);
  EXPECT_EQ(to_hex(derive_public_key(alice).bytes), kAlicePublic);
  EXPECT_EQ(to_hex(derive_public_key(bob).bytes), kBobPublic);

  SymmetricKey alice_view;
  SymmetricKey bob_view;
  ASSERT_TRUE(x25519(alice_view, alice, point(kBobPublic)));
  ASSERT_TRUE(x25519(bob_view, bob, point(kAlicePublic)));
  EXPECT_EQ(to_hex(alice_view.span()), kSharedSecret);
  EXPECT_EQ(to_hex(bob_view.span()), kSharedSecret);
}

// RFC 7748 §6.1: "check whether the computed value is the all-zero value and abort if so".
// u = 0 and u = 1 are points of small order, so every scalar maps them to zero.
TEST_F(X25519Test, LowOrderPointIsRefused) {
  const PrivateKey alice = scalar(kAlicePrivate);
  for (const char* u : {"0000000000000000000000000000000000000000000000000000000000000000",
                        "0100000000000000000000000000000000000000000000000000000000000000"}) {
    SCOPED_TRACE(u);
    SymmetricKey shared;
    EXPECT_FALSE(x25519(shared, alice, point(u)));
  }
}

}  // namespace
}  // namespace slirpvpn::crypto
