// SPDX-License-Identifier: MIT
// Drives the Noise core with the published cacophony vector for
// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s.
#include "wireguard/noise.h"

#include <gtest/gtest.h>

#include "crypto/aead.h"
#include "test_hex.h"

namespace slirpvpn::wireguard {
namespace {

using test::from_hex;
using test::to_hex;

// The cacophony test vector set (as carried in mcginty/snow tests/vectors/cacophony.txt),
// entry "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".
struct CacophonyVector {
  const char* prologue = "4a6f686e2047616c74";  // "John Galt"
  const char* psk = "54686973206973206d7920417573747269616e20706572737065637469766521";
  const char* init_static = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
  const char* init_ephemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
  const char* resp_static = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
  const char* resp_ephemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
  const char* remote_static = "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62";
  const char* handshake_hash = "f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5";
  struct Message {
    const char* payload;
    const char* ciphertext;
  };
  Message messages[6] = {
      {"4c756477696720766f6e204d69736573",
       "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad5752"
       "7207feb56253c9c94a9e496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441"
       "eba616548e832985464cf17e51ee93109008399a21f7e13f"},
      {"4d757272617920526f746862617264",
       "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572"
       "dab0322217755c0632f365717edbf34d33e87a"},
      {"462e20412e20486179656b", "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7"},
      {"4361726c204d656e676572", "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef"},
      {"4a65616e2d426170746973746520536179",
       "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d"},
      {"457567656e2042f6686d20766f6e2042617765726b",
       "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292"},
  };
};

crypto::PrivateKey private_key(const char* hex) {
  const auto bytes = from_hex(hex);
  return crypto::PrivateKey::from_bytes(std::span<const uint8_t, 32>(bytes.data(), 32));
}

crypto::SymmetricKey symmetric_key(const char* hex) {
  const auto bytes = from_hex(hex);
  return crypto::SymmetricKey(std::span<const uint8_t, 32>(bytes.data(), 32));
}

class NoiseVectorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::initialize()); }
  CacophonyVector vector;
};

TEST_F(NoiseVectorTest, HandshakeAndTransportMatchPublishedBytes) {
  const auto prologue = from_hex(vector.prologue);
  const auto initiator = StaticIdentity::from_private(private_key(vector.init_static));
  const auto responder = StaticIdentity::from_private(private_key(vector.resp_static));
  ASSERT_EQ(to_hex(responder.public_key.bytes), vector.remote_static);
  const auto psk = symmetric_key(vector.psk);
  const auto init_ephemeral = private_key(vector.init_ephemeral);
  const auto resp_ephemeral = private_key(vector.resp_ephemeral);

  crypto::SymmetricKey static_static;
  ASSERT_TRUE(crypto::x25519(static_static, initiator.private_key, responder.public_key));

  // -> e, es, s, ss, {payload}
  SymmetricState init_state =
      initial_state(as_bytes(kConstruction), prologue, responder.public_key);
  const auto payload1 = from_hex(vector.messages[0].payload);
  std::vector<uint8_t> message1(32 + 48 + payload1.size() + 16);
  ASSERT_TRUE(write_message1(init_state, init_ephemeral, initiator.public_key, responder.public_key,
                             static_static, payload1, std::span<uint8_t, 32>(message1.data(), 32),
                             std::span<uint8_t, 48>(message1.data() + 32, 48),
                             std::span<uint8_t>(message1).subspan(80)));
  EXPECT_EQ(to_hex(message1), vector.messages[0].ciphertext);

  SymmetricState resp_state =
      initial_state(as_bytes(kConstruction), prologue, responder.public_key);
  crypto::PublicKey learned_static;
  ASSERT_TRUE(
      read_message1_static(resp_state, responder, std::span<const uint8_t, 32>(message1.data(), 32),
                           std::span<const uint8_t, 48>(message1.data() + 32, 48), learned_static));
  EXPECT_EQ(learned_static, initiator.public_key);
  std::vector<uint8_t> received1(payload1.size());
  ASSERT_TRUE(read_message1_payload(resp_state, static_static,
                                    std::span<const uint8_t>(message1).subspan(80), received1));
  EXPECT_EQ(received1, payload1);

  // <- e, ee, se, psk, {payload}
  const auto payload2 = from_hex(vector.messages[1].payload);
  std::vector<uint8_t> message2(32 + payload2.size() + 16);
  ASSERT_TRUE(write_message2(resp_state, resp_ephemeral, crypto::PublicKey{[&] {
                               std::array<uint8_t, 32> e{};
                               std::copy(message1.begin(), message1.begin() + 32, e.begin());
                               return e;
                             }()},
                             learned_static, psk, payload2,
                             std::span<uint8_t, 32>(message2.data(), 32),
                             std::span<uint8_t>(message2).subspan(32)));
  EXPECT_EQ(to_hex(message2), vector.messages[1].ciphertext);

  std::vector<uint8_t> received2(payload2.size());
  ASSERT_TRUE(read_message2(init_state, init_ephemeral, initiator.private_key,
                            std::span<const uint8_t, 32>(message2.data(), 32), psk,
                            std::span<const uint8_t>(message2).subspan(32), received2));
  EXPECT_EQ(received2, payload2);
  EXPECT_EQ(to_hex(init_state.hash.span()), vector.handshake_hash);
  EXPECT_EQ(to_hex(resp_state.hash.span()), vector.handshake_hash);

  // Transport: messages alternate, starting with the initiator; each direction counts from 0.
  crypto::SymmetricKey i2r, r2i, i2r_resp, r2i_resp;
  split(init_state, i2r, r2i);
  split(resp_state, i2r_resp, r2i_resp);
  EXPECT_EQ(to_hex(i2r.span()), to_hex(i2r_resp.span()));
  EXPECT_EQ(to_hex(r2i.span()), to_hex(r2i_resp.span()));
  uint64_t counters[2] = {0, 0};
  for (int i = 2; i < 6; ++i) {
    const bool from_initiator = i % 2 == 0;
    const auto payload = from_hex(vector.messages[i].payload);
    std::vector<uint8_t> ciphertext(payload.size() + 16);
    const auto& key = from_initiator ? i2r : r2i;
    crypto::aead_encrypt(ciphertext, payload, counters[from_initiator ? 0 : 1]++, {}, key);
    EXPECT_EQ(to_hex(ciphertext), vector.messages[i].ciphertext) << "message " << i;
  }
}

TEST_F(NoiseVectorTest, TamperedMessageFailsToAuthenticate) {
  const auto prologue = from_hex(vector.prologue);
  const auto responder = StaticIdentity::from_private(private_key(vector.resp_static));
  auto message1 = from_hex(vector.messages[0].ciphertext);
  message1[40] ^= 1;  // inside the encrypted static key
  SymmetricState state = initial_state(as_bytes(kConstruction), prologue, responder.public_key);
  crypto::PublicKey learned;
  EXPECT_FALSE(
      read_message1_static(state, responder, std::span<const uint8_t, 32>(message1.data(), 32),
                           std::span<const uint8_t, 48>(message1.data() + 32, 48), learned));
}

TEST_F(NoiseVectorTest, LowOrderEphemeralIsRefused) {
  const auto responder = StaticIdentity::from_private(private_key(vector.resp_static));
  std::vector<uint8_t> message1(32 + 48, 0);  // the all-zero point is of low order
  SymmetricState state =
      initial_state(as_bytes(kConstruction), as_bytes(kIdentifier), responder.public_key);
  crypto::PublicKey learned;
  EXPECT_FALSE(
      read_message1_static(state, responder, std::span<const uint8_t, 32>(message1.data(), 32),
                           std::span<const uint8_t, 48>(message1.data() + 32, 48), learned));
}

}  // namespace
}  // namespace slirpvpn::wireguard
