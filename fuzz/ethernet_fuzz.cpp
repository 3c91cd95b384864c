// SPDX-License-Identifier: MIT
// libFuzzer target: frames from libslirp (Ethernet/ARP/NDP) and the inner IP checks behind them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "slirp/ethernet.h"
#include "slirp/packet.h"

using namespace slirpvpn::slirp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const GuestAddresses guest{};
  std::span<const uint8_t> frame(data, size);
  ParsedFrame parsed = parse_frame(frame, guest);
  std::array<uint8_t, kNeighborAdvertisementFrameSize> reply{};
  switch (parsed.kind) {
    case FrameKind::kArpRequest:
      build_arp_reply(parsed, guest, reply);
      break;
    case FrameKind::kNeighborSolicitation:
      build_neighbor_advertisement(parsed, guest, reply);
      break;
    case FrameKind::kIpv4:
    case FrameKind::kIpv6: {
      // The same path the session takes for a packet in either direction.
      std::vector<uint8_t> copy(parsed.ip.begin(), parsed.ip.end());
      IpInfo info;
      if (parse_ip(copy, info) != IpDrop::kNone) break;
      std::span<uint8_t> packet(copy.data(), info.packet.size());
      clamp_mss(packet, info, max_mss_for_mtu(1420, info.version));
      IpInfo again;
      if (parse_ip(packet, again) != IpDrop::kNone) __builtin_trap();  // clamp broke it
      std::array<uint8_t, kIcmpErrorMaxSize> out{};
      build_tcp_rst(again, out);
      const auto from = again.version == 4 ? *slirpvpn::net::IpAddress::parse("10.0.2.2")
                                           : *slirpvpn::net::IpAddress::parse("fec0::2");
      build_icmp_prohibited(again, from, out);
      break;
    }
    case FrameKind::kDropped:
      if (parsed.drop == FrameDrop::kNone) __builtin_trap();  // a drop always has a reason
      break;
  }
  return 0;
}
