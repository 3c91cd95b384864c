// SPDX-License-Identifier: MIT
// The word-at-a-time Internet checksum against RFC 1071's definition, sixteen bits at a time.
#include "net/internet_checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace slirpvpn::net {
namespace {

uint16_t reference_sum(const std::vector<uint8_t>& bytes, uint32_t sum) {
  uint64_t total = sum;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) total += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.size() % 2) total += uint32_t(bytes.back()) << 8;
  while (total >> 16) total = (total & 0xffff) + (total >> 16);
  return uint16_t(total);
}

TEST(InternetChecksum, MatchesTheDefinitionAtEveryLengthAndStartingSum) {
  std::mt19937 random(1071);
  for (std::size_t length = 0; length <= 300; ++length) {
    for (int round = 0; round < 20; ++round) {
      std::vector<uint8_t> bytes(length);
      for (auto& byte : bytes) byte = uint8_t(random());
      const uint32_t sum = round == 0 ? 0 : round == 1 ? 0x3fffc : random() & 0x3ffff;
      ASSERT_EQ(ones_complement_sum(bytes, sum), reference_sum(bytes, sum))
          << "length " << length << " round " << round;
    }
  }
}

TEST(InternetChecksum, ExtremesOfAFullSizedPacket) {
  for (uint8_t fill : {uint8_t(0x00), uint8_t(0xff), uint8_t(0x80), uint8_t(0x01)}) {
    for (std::size_t length : {std::size_t(65535), std::size_t(65536)}) {
      const std::vector<uint8_t> bytes(length, fill);
      EXPECT_EQ(ones_complement_sum(bytes, 0xffff), reference_sum(bytes, 0xffff))
          << "fill " << int(fill) << " length " << length;
      EXPECT_EQ(ones_complement_sum(bytes), reference_sum(bytes, 0));
    }
  }
}

// RFC 1071 §3's worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
TEST(InternetChecksum, Rfc1071Example) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ones_complement_sum(bytes), 0xddf2);
}

TEST(InternetChecksum, PseudoHeaderSumsAddressesProtocolAndLength) {
  std::vector<uint8_t> v4(20, 0);
  v4[12] = 198, v4[13] = 51, v4[14] = 100, v4[15] = 1;  // 198.51.100.1
  v4[16] = 203, v4[17] = 0, v4[18] = 113, v4[19] = 7;   // 203.0.113.7
  EXPECT_EQ(pseudo_header_sum(v4, true, 6, 1000),
            uint32_t((198 << 8 | 51) + (100 << 8 | 1) + (203 << 8) + (113 << 8 | 7) + 6 + 1000));
  std::vector<uint8_t> v6(40, 0);
  v6[8] = 0xfe, v6[9] = 0xc0, v6[39] = 0x02;
  EXPECT_EQ(pseudo_header_sum(v6, false, 17, 8), uint32_t(0xfec0 + 0x0002 + 17 + 8));
}

}  // namespace
}  // namespace slirpvpn::net
