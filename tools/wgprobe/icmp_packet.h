// SPDX-License-Identifier: MIT
// ICMPv4 echo packets for the probe: building requests and replies, recognising echoes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace slirpvpn::tools {

struct Echo {
  bool is_request = false;
  std::array<uint8_t, 4> source{};
  std::array<uint8_t, 4> destination{};
  uint16_t identifier = 0;
  uint16_t sequence = 0;
  std::span<const uint8_t> payload;
};

// Writes an IPv4 ICMP echo (request or reply) into `out`; returns its length.
size_t write_echo(const Echo& echo, std::span<uint8_t> out);
// Parses an IPv4 ICMP echo request or reply; nullopt for anything else.
std::optional<Echo> parse_echo(std::span<const uint8_t> packet);

}  // namespace slirpvpn::tools
