// SPDX-License-Identifier: MIT
// The one's-complement sum is taken over native 32-bit words in four independent accumulators
// and byte-swapped once at the end: the sum is byte-order independent up to that swap
// (RFC 1071 §2(B)), and 2^16 = 1 modulo 0xffff lets 32-bit words stand for pairs of 16-bit ones.
#include "net/internet_checksum.h"

#include <bit>
#include <cstring>

#include "common/endian.h"

namespace slirpvpn::net {
namespace {

uint64_t fold_to_16(uint64_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

}  // namespace

uint16_t ones_complement_sum(std::span<const uint8_t> bytes, uint32_t sum) noexcept {
  const uint8_t* p = bytes.data();
  std::size_t left = bytes.size();
  // 64-bit sums of 32-bit words: no overflow below 16 GiB of input.
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (; left >= 16; p += 16, left -= 16) {
    uint32_t words[4];
    std::memcpy(words, p, sizeof words);
    a0 += words[0];
    a1 += words[1];
    a2 += words[2];
    a3 += words[3];
  }
  uint64_t native = a0 + a1 + a2 + a3;
  for (; left >= 2; p += 2, left -= 2) {
    uint16_t half;
    std::memcpy(&half, p, sizeof half);
    native += half;
  }
  uint64_t folded = fold_to_16(native);
  if constexpr (std::endian::native == std::endian::little) {
    folded = ((folded & 0xff) << 8) | (folded >> 8);
  }
  uint64_t total = folded + sum;
  if (left) total += uint32_t(*p) << 8;
  return static_cast<uint16_t>(fold_to_16(total));
}

uint32_t pseudo_header_sum(std::span<const uint8_t> ip, bool v4, uint8_t protocol,
                           std::size_t length) noexcept {
  uint32_t sum = protocol + static_cast<uint32_t>(length);
  const std::size_t from = v4 ? 12 : 8;
  const std::size_t to = v4 ? 20 : 40;
  for (std::size_t i = from; i < to; i += 2) sum += load_be16(&ip[i]);
  return sum;
}

}  // namespace slirpvpn::net
