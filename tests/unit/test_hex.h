// SPDX-License-Identifier: MIT
// Hex helpers for known-answer tables in the unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slirpvpn::test {

inline std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> bytes;
  auto nibble = [](char c) -> uint8_t {
    if (c >= '0' && c <= '9') return uint8_t(c - '0');
    if (c >= 'a' && c <= 'f') return uint8_t(c - 'a' + 10);
    return uint8_t(c - 'A' + 10);
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    while (i < hex.size() && (hex[i] == ' ' || hex[i] == '\n')) ++i;
    if (i + 1 >= hex.size()) break;
    bytes.push_back(uint8_t(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return bytes;
}

inline std::string to_hex(const uint8_t* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < size; ++i) {
    text += digits[data[i] >> 4];
    text += digits[data[i] & 15];
  }
  return text;
}

template <typename Bytes>
std::string to_hex(const Bytes& bytes) {
  return to_hex(bytes.data(), bytes.size());
}

}  // namespace slirpvpn::test
