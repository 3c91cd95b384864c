// SPDX-License-Identifier: MIT
// ICMPv4 echo framing with RFC 1071 checksums.
#include "icmp_packet.h"

#include <cstring>

#include "common/endian.h"

namespace slirpvpn::tools {
namespace {

uint16_t internet_checksum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += load_be16(&bytes[i]);
  if (bytes.size() % 2) sum += uint32_t(bytes.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

}  // namespace

size_t write_echo(const Echo& echo, std::span<uint8_t> out) {
  const size_t length = 20 + 8 + echo.payload.size();
  if (out.size() < length) return 0;
  uint8_t* ip = out.data();
  std::memset(ip, 0, 28);
  ip[0] = 0x45;
  store_be16(ip + 2, uint16_t(length));
  ip[8] = 64;  // TTL
  ip[9] = 1;   // ICMP
  std::memcpy(ip + 12, echo.source.data(), 4);
  std::memcpy(ip + 16, echo.destination.data(), 4);
  store_be16(ip + 10, internet_checksum({ip, 20}));
  uint8_t* icmp = ip + 20;
  icmp[0] = echo.is_request ? 8 : 0;
  store_be16(icmp + 4, echo.identifier);
  store_be16(icmp + 6, echo.sequence);
  if (!echo.payload.empty()) std::memcpy(icmp + 8, echo.payload.data(), echo.payload.size());
  store_be16(icmp + 2, internet_checksum({icmp, 8 + echo.payload.size()}));
  return length;
}

std::optional<Echo> parse_echo(std::span<const uint8_t> packet) {
  if (packet.size() < 28 || packet[0] >> 4 != 4 || packet[9] != 1) return std::nullopt;
  const size_t header = size_t(packet[0] & 15) * 4;
  if (header < 20 || packet.size() < header + 8) return std::nullopt;
  const uint8_t type = packet[header];
  if (type != 0 && type != 8) return std::nullopt;
  Echo echo;
  echo.is_request = type == 8;
  std::memcpy(echo.source.data(), &packet[12], 4);
  std::memcpy(echo.destination.data(), &packet[16], 4);
  echo.identifier = load_be16(&packet[header + 4]);
  echo.sequence = load_be16(&packet[header + 6]);
  echo.payload = packet.subspan(header + 8);
  return echo;
}

}  // namespace slirpvpn::tools
