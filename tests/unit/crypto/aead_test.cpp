// SPDX-License-Identifier: MIT
// Known-answer tests for the ChaCha20-Poly1305 and XChaCha20-Poly1305 wrappers (RFC 8439,
// draft-irtf-cfrg-xchacha-03).
#include "crypto/aead.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <vector>

#include "crypto/x25519.h"
#include "test_hex.h"

namespace slirpvpn::crypto {
namespace {

using test::from_hex;
using test::to_hex;

SymmetricKey key_from_hex(std::string_view hex) {
  const auto bytes = from_hex(hex);
  EXPECT_EQ(bytes.size(), kKeyLen);
  return SymmetricKey(std::span<const uint8_t, kKeyLen>(bytes.data(), kKeyLen));
}

class AeadTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(initialize()); }
};

// "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future,
// sunscreen would be it." — the plaintext of both RFC 8439 §2.8.2 and the XChaCha draft A.3.1.
constexpr const char* kSunscreen =
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
    "637265656e20776f756c642062652069742e";

// RFC 8439 §2.8.2, Example and Test Vector for AEAD_CHACHA20_POLY1305.
// Nonce = 32-bit fixed-common part 07000000 ‖ IV 4041424344454647.
struct Rfc8439Encryption {
  const char* key = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
  const char* nonce = "070000004041424344454647";
  const char* aad = "50515253c0c1c2c3c4c5c6c7";
  const char* ciphertext =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69"
      "da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad67594"
      "5585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
  const char* tag = "1ae10b594f09e26a7e902ecbd0600691";
};

TEST_F(AeadTest, Rfc8439Section2_8_2Encrypt) {
  const Rfc8439Encryption v;
  const auto plaintext = from_hex(kSunscreen);
  const auto nonce = from_hex(v.nonce);
  const auto aad = from_hex(v.aad);
  std::vector<uint8_t> out(plaintext.size() + kAeadTagLen);
  aead_encrypt_ietf(out, plaintext, std::span<const uint8_t, 12>(nonce.data(), 12), aad,
                    key_from_hex(v.key));
  EXPECT_EQ(to_hex(out), std::string(v.ciphertext) + v.tag);

  std::vector<uint8_t> back(plaintext.size());
  ASSERT_TRUE(aead_decrypt_ietf(back, out, std::span<const uint8_t, 12>(nonce.data(), 12), aad,
                                key_from_hex(v.key)));
  EXPECT_EQ(back, plaintext);
}

// The header's contract: out may alias the plaintext exactly (in-place encryption).
TEST_F(AeadTest, Rfc8439Section2_8_2InPlace) {
  const Rfc8439Encryption v;
  const auto nonce = from_hex(v.nonce);
  const auto aad = from_hex(v.aad);
  auto buffer = from_hex(kSunscreen);
  const size_t length = buffer.size();
  buffer.resize(length + kAeadTagLen);
  aead_encrypt_ietf(buffer, std::span<const uint8_t>(buffer.data(), length),
                    std::span<const uint8_t, 12>(nonce.data(), 12), aad, key_from_hex(v.key));
  EXPECT_EQ(to_hex(buffer), std::string(v.ciphertext) + v.tag);

  ASSERT_TRUE(aead_decrypt_ietf(std::span<uint8_t>(buffer.data(), length), buffer,
                                std::span<const uint8_t, 12>(nonce.data(), 12), aad,
                                key_from_hex(v.key)));
  buffer.resize(length);
  EXPECT_EQ(to_hex(buffer), kSunscreen);
}

// RFC 8439 Appendix A.5, ChaCha20-Poly1305 AEAD Decryption.
struct Rfc8439Decryption {
  const char* key = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
  const char* nonce = "000000000102030405060708";
  const char* aad = "f33388860000000000004e91";
  const char* ciphertext =
      "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e"
      "382d26b0bdb7b73c321b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd"
      "60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c76"
      "7b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a"
      "0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a67276"
      "27097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b0270"
      "9b";
  const char* tag = "eead9d67890cbb22392336fea1851f38";
  // "Internet-Drafts are draft documents valid for a maximum of six months …"
  const char* plaintext =
      "496e7465726e65742d4472616674732061726520647261667420646f63756d656e74732076616c696420666f"
      "722061206d6178696d756d206f6620736978206d6f6e74687320616e64206d61792062652075706461746564"
      "2c207265706c616365642c206f72206f62736f6c65746564206279206f7468657220646f63756d656e747320"
      "617420616e792074696d652e20497420697320696e617070726f70726961746520746f2075736520496e7465"
      "726e65742d447261667473206173207265666572656e6365206d6174657269616c206f7220746f2063697465"
      "207468656d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67726573732e2fe280"
      "9d";
};

TEST_F(AeadTest, Rfc8439AppendixA5Decrypt) {
  const Rfc8439Decryption v;
  const auto sealed = from_hex(std::string(v.ciphertext) + v.tag);
  const auto nonce = from_hex(v.nonce);
  const auto aad = from_hex(v.aad);
  std::vector<uint8_t> out(sealed.size() - kAeadTagLen);
  ASSERT_TRUE(aead_decrypt_ietf(out, sealed, std::span<const uint8_t, 12>(nonce.data(), 12), aad,
                                key_from_hex(v.key)));
  EXPECT_EQ(to_hex(out), v.plaintext);
}

// A.5's nonce 00000000 ‖ 0102030405060708 has exactly WireGuard's layout (four zero bytes,
// then the counter little-endian), so the counter form must decrypt it with counter
// 0x0807060504030201.
TEST_F(AeadTest, Rfc8439AppendixA5ThroughCounterNonce) {
  const Rfc8439Decryption v;
  const auto sealed = from_hex(std::string(v.ciphertext) + v.tag);
  const auto aad = from_hex(v.aad);
  constexpr uint64_t kCounter = 0x0807060504030201;
  std::vector<uint8_t> out(sealed.size() - kAeadTagLen);
  ASSERT_TRUE(aead_decrypt(out, sealed, kCounter, aad, key_from_hex(v.key)));
  EXPECT_EQ(to_hex(out), v.plaintext);

  std::vector<uint8_t> resealed(sealed.size());
  aead_encrypt(resealed, out, kCounter, aad, key_from_hex(v.key));
  EXPECT_EQ(resealed, sealed);

  // Any other counter is another nonce, so the tag must not verify.
  EXPECT_FALSE(aead_decrypt(out, sealed, kCounter + 1, aad, key_from_hex(v.key)));
}

TEST_F(AeadTest, Rfc8439AppendixA5TamperingIsDetected) {
  const Rfc8439Decryption v;
  const auto pristine = from_hex(std::string(v.ciphertext) + v.tag);
  const auto nonce = from_hex(v.nonce);
  const auto aad = from_hex(v.aad);
  const auto key = key_from_hex(v.key);
  std::vector<uint8_t> out(pristine.size() - kAeadTagLen);
  const std::span<const uint8_t, 12> n(nonce.data(), 12);

  // A flipped bit in the first byte, in the last ciphertext byte and in the tag.
  for (size_t position : {size_t(0), pristine.size() - kAeadTagLen - 1, pristine.size() - 1}) {
    SCOPED_TRACE(position);
    auto sealed = pristine;
    sealed[position] ^= 0x01;
    EXPECT_FALSE(aead_decrypt_ietf(out, sealed, n, aad, key));
  }
  auto other_aad = aad;
  other_aad[0] ^= 0x80;
  EXPECT_FALSE(aead_decrypt_ietf(out, pristine, n, other_aad, key));
  EXPECT_FALSE(aead_decrypt_ietf(out, pristine, n, {}, key));
}

TEST_F(AeadTest, CiphertextShorterThanTagIsRejected) {
  const auto key = key_from_hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
  const std::vector<uint8_t> short_input(kAeadTagLen - 1, 0);
  std::span<uint8_t> nothing;
  EXPECT_FALSE(aead_decrypt(nothing, short_input, 0, {}, key));
  const std::array<uint8_t, kXNonceLen> nonce{};
  EXPECT_FALSE(xaead_decrypt(nothing, short_input, nonce, {}, key));
}

// An empty plaintext still carries a tag (WireGuard's keepalive and encrypted_nothing).
TEST_F(AeadTest, EmptyPlaintextRoundTrips) {
  const auto key = key_from_hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  std::array<uint8_t, kAeadTagLen> tag{};
  aead_encrypt(tag, {}, 7, {}, key);
  std::span<uint8_t> nothing;
  EXPECT_TRUE(aead_decrypt(nothing, tag, 7, {}, key));
  tag[3] ^= 0x10;
  EXPECT_FALSE(aead_decrypt(nothing, tag, 7, {}, key));
}

// Packets from kOpenSslSealFrom bytes on are sealed by OpenSSL, smaller ones by libsodium: every
// size across the switch, with and without associated data, in place and not, must give
// exactly libsodium's bytes (the RFC vectors above are all below the switch) and open again.
TEST_F(AeadTest, SealMatchesLibsodiumAtEverySize) {
  const auto key = key_from_hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const std::vector<uint8_t> aad = from_hex("50515253c0c1c2c3c4c5c6c7");
  std::vector<size_t> sizes;
  for (size_t size = 0; size <= 1600; size += 37) sizes.push_back(size);
  for (size_t size : {kOpenSslSealFrom - 1, kOpenSslSealFrom, kOpenSslSealFrom + 1, size_t(1420),
                      size_t(65535)}) {
    sizes.push_back(size);
  }
  for (size_t size : sizes) {
    for (bool with_aad : {false, true}) {
      SCOPED_TRACE(testing::Message() << "size " << size << (with_aad ? " with aad" : ""));
      std::vector<uint8_t> plaintext(size);
      for (size_t i = 0; i < size; ++i) plaintext[i] = uint8_t(i * 7 + size);
      const std::span<const uint8_t> associated = with_aad ? std::span(aad) : std::span<uint8_t>();
      const uint64_t counter = 0x0102030405060708ULL + size;
      std::array<uint8_t, 12> nonce{};
      for (size_t i = 0; i < 8; ++i) nonce[4 + i] = uint8_t(counter >> (8 * i));

      std::vector<uint8_t> expected(size + kAeadTagLen);
      crypto_aead_chacha20poly1305_ietf_encrypt(expected.data(), nullptr, plaintext.data(), size,
                                                associated.data(), associated.size(), nullptr,
                                                nonce.data(), key.data());
      std::vector<uint8_t> sealed(size + kAeadTagLen);
      aead_encrypt(sealed, plaintext, counter, associated, key);
      EXPECT_EQ(to_hex(sealed), to_hex(expected));

      std::vector<uint8_t> in_place = plaintext;
      in_place.resize(size + kAeadTagLen);
      aead_encrypt(in_place, std::span(in_place).first(size), counter, associated, key);
      EXPECT_EQ(to_hex(in_place), to_hex(expected));

      std::vector<uint8_t> opened(size);
      EXPECT_TRUE(aead_decrypt(opened, sealed, counter, associated, key));
      EXPECT_EQ(opened, plaintext);
    }
  }
}

// draft-irtf-cfrg-xchacha-03 Appendix A.3.1, AEAD_XCHACHA20_POLY1305.
struct XChaChaVector {
  const char* key = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
  const char* iv = "404142434445464748494a4b4c4d4e4f5051525354555657";
  const char* aad = "50515253c0c1c2c3c4c5c6c7";
  const char* ciphertext =
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
      "21f9664c97637da9768812f615c68b13b52e";
  const char* tag = "c0875924c1c7987947deafd8780acf49";
};

TEST_F(AeadTest, XChaChaDraftA31) {
  const XChaChaVector v;
  const auto plaintext = from_hex(kSunscreen);
  const auto iv = from_hex(v.iv);
  ASSERT_EQ(iv.size(), kXNonceLen);
  const std::span<const uint8_t, kXNonceLen> nonce(iv.data(), kXNonceLen);
  const auto aad = from_hex(v.aad);
  const auto key = key_from_hex(v.key);

  std::vector<uint8_t> sealed(plaintext.size() + kAeadTagLen);
  xaead_encrypt(sealed, plaintext, nonce, aad, key);
  EXPECT_EQ(to_hex(sealed), std::string(v.ciphertext) + v.tag);

  std::vector<uint8_t> opened(plaintext.size());
  ASSERT_TRUE(xaead_decrypt(opened, sealed, nonce, aad, key));
  EXPECT_EQ(opened, plaintext);

  sealed[10] ^= 0x04;
  EXPECT_FALSE(xaead_decrypt(opened, sealed, nonce, aad, key));
  sealed[10] ^= 0x04;
  auto other_nonce = iv;
  other_nonce[23] ^= 0x01;
  EXPECT_FALSE(xaead_decrypt(opened, sealed,
                             std::span<const uint8_t, kXNonceLen>(other_nonce.data(), kXNonceLen),
                             aad, key));
}

}  // namespace
}  // namespace slirpvpn::crypto
