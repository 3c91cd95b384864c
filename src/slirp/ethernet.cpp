// SPDX-License-Identifier: MIT
// Ethernet/ARP/NDP parsing of slirp's frames and the guest's replies (RFC 826, RFC 4861).
#include "slirp/ethernet.h"

#include <algorithm>
#include <cstring>

#include "common/assert.h"
#include "common/endian.h"
#include "net/ip_address.h"
#include "slirp/packet.h"

namespace slirpvpn::slirp {
namespace {

constexpr uint16_t kArpHardwareEthernet = 1;
constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;
constexpr std::size_t kArpSize = 28;

constexpr uint8_t kIcmpv6RouterSolicitation = 133;
constexpr uint8_t kIcmpv6RouterAdvertisement = 134;
constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
constexpr uint8_t kIcmpv6NeighborAdvertisement = 136;
constexpr uint8_t kIcmpv6Redirect = 137;
constexpr std::size_t kNdpNeighborMessageSize = 24;  // type..target (RFC 4861 §4.3, §4.4)
constexpr uint8_t kNdpOptionTargetLinkLayer = 2;
// RFC 4861 §7.1.1/§7.1.2: NDP messages must arrive with hop limit 255 (not forwarded).
constexpr uint8_t kNdpHopLimit = 255;

constexpr MacAddress kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// ff02::1 and its multicast MAC 33:33:00:00:00:01 (RFC 2464 §7).
constexpr std::array<uint8_t, 16> kAllNodes{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr MacAddress kAllNodesMac{0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

constexpr uint32_t kNaFlagSolicited = 0x40000000;
constexpr uint32_t kNaFlagOverride = 0x20000000;

ParsedFrame dropped(FrameDrop reason) {
  ParsedFrame frame;
  frame.drop = reason;
  return frame;
}

ParsedFrame parse_arp(std::span<const uint8_t> frame, const GuestAddresses& guest) {
  std::span<const uint8_t> arp = frame.subspan(kEthernetHeaderSize);
  if (arp.size() < kArpSize || load_be16(&arp[0]) != kArpHardwareEthernet ||
      load_be16(&arp[2]) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4) {
    return dropped(FrameDrop::kArpMalformed);
  }
  if (load_be16(&arp[6]) != kArpRequest) return dropped(FrameDrop::kArpNotRequest);
  if (!std::equal(guest.ipv4.begin(), guest.ipv4.end(), arp.begin() + 24)) {
    return dropped(FrameDrop::kArpNotForGuest);
  }
  ParsedFrame parsed;
  parsed.kind = FrameKind::kArpRequest;
  std::copy_n(arp.begin() + 8, 6, parsed.requester_mac.begin());
  std::copy_n(arp.begin() + 14, 4, parsed.requester_ipv4.begin());
  return parsed;
}

ParsedFrame parse_ipv6(std::span<const uint8_t> frame, const GuestAddresses& guest) {
  std::span<const uint8_t> ip = frame.subspan(kEthernetHeaderSize);
  ParsedFrame parsed;
  parsed.kind = FrameKind::kIpv6;
  parsed.ip = ip;
  // Only ICMPv6 directly after the fixed header can be NDP (RFC 4861 messages carry no
  // extension headers from slirp); everything else is passed on for the session to check.
  if (ip.size() < kIpv6HeaderSize || (ip[0] >> 4) != 6 || ip[6] != kProtocolIcmpv6) {
    return parsed;
  }
  std::size_t payload_length = load_be16(&ip[4]);
  if (payload_length < 4 || kIpv6HeaderSize + payload_length > ip.size()) return parsed;
  std::span<const uint8_t> icmp = ip.subspan(kIpv6HeaderSize, payload_length);
  switch (icmp[0]) {
    case kIcmpv6RouterAdvertisement:
      return dropped(FrameDrop::kRouterAdvertisement);
    case kIcmpv6RouterSolicitation:
    case kIcmpv6NeighborAdvertisement:
    case kIcmpv6Redirect:
      return dropped(FrameDrop::kOtherNdp);
    case kIcmpv6NeighborSolicitation:
      break;
    default:
      return parsed;
  }
  if (icmp.size() < kNdpNeighborMessageSize || ip[7] != kNdpHopLimit || icmp[1] != 0) {
    return dropped(FrameDrop::kNdpMalformed);
  }
  std::span<const uint8_t> source = ip.subspan(8, 16);
  // An unspecified source is duplicate address detection: the answer would go to ff02::1,
  // and slirp never runs DAD, so it is malformed here.
  if (std::all_of(source.begin(), source.end(), [](uint8_t b) { return b == 0; })) {
    return dropped(FrameDrop::kNdpMalformed);
  }
  if (!std::equal(guest.ipv6.begin(), guest.ipv6.end(), icmp.begin() + 8)) {
    return dropped(FrameDrop::kNdpNotForGuest);
  }
  ParsedFrame solicitation;
  solicitation.kind = FrameKind::kNeighborSolicitation;
  std::copy_n(frame.begin() + 6, 6, solicitation.requester_mac.begin());
  std::copy(source.begin(), source.end(), solicitation.requester_ipv6.begin());
  return solicitation;
}

std::size_t write_arp(std::span<uint8_t> out, const MacAddress& ethernet_destination,
                      uint16_t operation, const MacAddress& sender_mac,
                      const std::array<uint8_t, 4>& sender_ip, const MacAddress& target_mac,
                      const std::array<uint8_t, 4>& target_ip) {
  SLIRPVPN_ASSERT(out.size() >= kArpFrameSize);
  write_ethernet_header(out, ethernet_destination, sender_mac, kEtherTypeArp);
  std::span<uint8_t> arp = out.subspan(kEthernetHeaderSize, kArpSize);
  store_be16(&arp[0], kArpHardwareEthernet);
  store_be16(&arp[2], kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  store_be16(&arp[6], operation);
  std::copy(sender_mac.begin(), sender_mac.end(), arp.begin() + 8);
  std::copy(sender_ip.begin(), sender_ip.end(), arp.begin() + 14);
  std::copy(target_mac.begin(), target_mac.end(), arp.begin() + 18);
  std::copy(target_ip.begin(), target_ip.end(), arp.begin() + 24);
  return kArpFrameSize;
}

std::size_t write_neighbor_advertisement(std::span<uint8_t> out, const MacAddress& destination_mac,
                                         const std::array<uint8_t, 16>& destination, uint32_t flags,
                                         const GuestAddresses& guest) {
  SLIRPVPN_ASSERT(out.size() >= kNeighborAdvertisementFrameSize);
  write_ethernet_header(out, destination_mac, guest.mac, kEtherTypeIpv6);
  std::span<uint8_t> ip =
      out.subspan(kEthernetHeaderSize, kNeighborAdvertisementFrameSize - kEthernetHeaderSize);
  constexpr std::size_t kPayload = kNdpNeighborMessageSize + 8;
  store_be32(&ip[0], 0x60000000u);
  store_be16(&ip[4], kPayload);
  ip[6] = kProtocolIcmpv6;
  ip[7] = kNdpHopLimit;
  std::copy(guest.ipv6.begin(), guest.ipv6.end(), ip.begin() + 8);
  std::copy(destination.begin(), destination.end(), ip.begin() + 24);
  std::span<uint8_t> icmp = ip.subspan(kIpv6HeaderSize, kPayload);
  icmp[0] = kIcmpv6NeighborAdvertisement;
  icmp[1] = 0;
  store_be16(&icmp[2], 0);
  store_be32(&icmp[4], flags);
  std::copy(guest.ipv6.begin(), guest.ipv6.end(), icmp.begin() + 8);
  icmp[24] = kNdpOptionTargetLinkLayer;
  icmp[25] = 1;  // in units of 8 bytes
  std::copy(guest.mac.begin(), guest.mac.end(), icmp.begin() + 26);
  store_be16(&icmp[2], transport_checksum(net::IpAddress::v6(guest.ipv6),
                                          net::IpAddress::v6(destination), kProtocolIcmpv6, icmp));
  return kNeighborAdvertisementFrameSize;
}

}  // namespace

const char* to_string(FrameDrop drop) noexcept {
  switch (drop) {
    case FrameDrop::kNone:
      return "none";
    case FrameDrop::kTruncated:
      return "truncated";
    case FrameDrop::kUnknownEtherType:
      return "unknown_ether_type";
    case FrameDrop::kArpMalformed:
      return "arp_malformed";
    case FrameDrop::kArpNotRequest:
      return "arp_not_request";
    case FrameDrop::kArpNotForGuest:
      return "arp_not_for_guest";
    case FrameDrop::kNdpMalformed:
      return "ndp_malformed";
    case FrameDrop::kNdpNotForGuest:
      return "ndp_not_for_guest";
    case FrameDrop::kRouterAdvertisement:
      return "router_advertisement";
    case FrameDrop::kOtherNdp:
      return "other_ndp";
    case FrameDrop::kCount:
      break;
  }
  return "unknown";
}

ParsedFrame parse_frame(std::span<const uint8_t> frame, const GuestAddresses& guest) noexcept {
  if (frame.size() < kEthernetHeaderSize) return dropped(FrameDrop::kTruncated);
  switch (load_be16(&frame[12])) {
    case kEtherTypeIpv4: {
      ParsedFrame parsed;
      parsed.kind = FrameKind::kIpv4;
      parsed.ip = frame.subspan(kEthernetHeaderSize);
      return parsed;
    }
    case kEtherTypeIpv6:
      return parse_ipv6(frame, guest);
    case kEtherTypeArp:
      return parse_arp(frame, guest);
    default:
      return dropped(FrameDrop::kUnknownEtherType);
  }
}

void write_ethernet_header(std::span<uint8_t> out, const MacAddress& destination,
                           const MacAddress& source, uint16_t ether_type) noexcept {
  SLIRPVPN_ASSERT(out.size() >= kEthernetHeaderSize);
  std::copy(destination.begin(), destination.end(), out.begin());
  std::copy(source.begin(), source.end(), out.begin() + 6);
  store_be16(&out[12], ether_type);
}

std::size_t build_arp_reply(const ParsedFrame& request, const GuestAddresses& guest,
                            std::span<uint8_t> out) noexcept {
  SLIRPVPN_ASSERT(request.kind == FrameKind::kArpRequest);
  return write_arp(out, request.requester_mac, kArpReply, guest.mac, guest.ipv4,
                   request.requester_mac, request.requester_ipv4);
}

std::size_t build_gratuitous_arp(const GuestAddresses& guest, std::span<uint8_t> out) noexcept {
  return write_arp(out, kBroadcastMac, kArpRequest, guest.mac, guest.ipv4, MacAddress{},
                   guest.ipv4);
}

std::size_t build_neighbor_advertisement(const ParsedFrame& solicitation,
                                         const GuestAddresses& guest,
                                         std::span<uint8_t> out) noexcept {
  SLIRPVPN_ASSERT(solicitation.kind == FrameKind::kNeighborSolicitation);
  return write_neighbor_advertisement(out, solicitation.requester_mac, solicitation.requester_ipv6,
                                      kNaFlagSolicited | kNaFlagOverride, guest);
}

std::size_t build_unsolicited_neighbor_advertisement(const GuestAddresses& guest,
                                                     std::span<uint8_t> out) noexcept {
  return write_neighbor_advertisement(out, kAllNodesMac, kAllNodes, kNaFlagOverride, guest);
}

}  // namespace slirpvpn::slirp
