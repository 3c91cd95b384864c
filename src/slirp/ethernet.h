// SPDX-License-Identifier: MIT
// Ethernet framing between the tunnel's IP packets and libslirp, and the guest's ARP/NDP side.
//
// libslirp speaks Ethernet and resolves the guest's address (ARP for IPv4, neighbour
// solicitation for IPv6) before it sends to it. The tunnel has no link layer, so the adapter
// plays the guest: it answers those queries for the client address with a fixed MAC and seeds
// slirp's tables at start-up. Frames from slirp are parsed here with bounds checks; anything
// else is dropped with a reason. Nothing here allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace slirpvpn::slirp {

using MacAddress = std::array<uint8_t, 6>;

// Locally administered unicast MACs. The guest's is QEMU's default NIC address; the
// gateway's is what slirp itself uses for 10.0.2.2 (52:55 + the IPv4 address).
inline constexpr MacAddress kGuestMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr MacAddress kGatewayMac{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

inline constexpr std::size_t kEthernetHeaderSize = 14;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

// Ethernet + ARP (28 bytes).
inline constexpr std::size_t kArpFrameSize = kEthernetHeaderSize + 28;
// Ethernet + IPv6 + NA (24 bytes) + target link-layer option (8 bytes).
inline constexpr std::size_t kNeighborAdvertisementFrameSize = kEthernetHeaderSize + 40 + 24 + 8;

// The guest (client) side of the virtual link.
struct GuestAddresses {
  std::array<uint8_t, 4> ipv4{10, 0, 2, 15};
  std::array<uint8_t, 16> ipv6{0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15};
  MacAddress mac = kGuestMac;
};

enum class FrameKind : uint8_t {
  kDropped,
  kIpv4,                  // `ip` holds the IPv4 packet
  kIpv6,                  // `ip` holds the IPv6 packet
  kArpRequest,            // slirp asks who has the guest's IPv4 address
  kNeighborSolicitation,  // slirp asks who has the guest's IPv6 address
};

// Why a frame from slirp was not passed on (counted by the session).
enum class FrameDrop : uint8_t {
  kNone,
  kTruncated,            // shorter than the Ethernet header
  kUnknownEtherType,     // not IPv4, IPv6 or ARP (VLAN tags included)
  kArpMalformed,         // not Ethernet/IPv4 ARP or too short
  kArpNotRequest,        // a reply or other opcode: slirp never needs an answer for it
  kArpNotForGuest,       // asks for another address
  kNdpMalformed,         // NS too short, wrong hop limit or code, IPv6 header inconsistent
  kNdpNotForGuest,       // NS for another target
  kRouterAdvertisement,  // slirp's periodic RA: the tunnel peer has no use for it
  kOtherNdp,             // NA, redirect, RS from slirp
  kCount,
};
const char* to_string(FrameDrop drop) noexcept;

struct ParsedFrame {
  FrameKind kind = FrameKind::kDropped;
  FrameDrop drop = FrameDrop::kNone;
  std::span<const uint8_t> ip;  // kIpv4/kIpv6 only; points into the parsed frame
  // The asker, for kArpRequest / kNeighborSolicitation: the reply goes back to it.
  MacAddress requester_mac{};
  std::array<uint8_t, 4> requester_ipv4{};
  std::array<uint8_t, 16> requester_ipv6{};
};

// Classifies one frame slirp sent towards the guest. Never reads outside `frame`. The IP
// payload is not validated beyond what NDP needs (slirp builds it; the session checks more).
ParsedFrame parse_frame(std::span<const uint8_t> frame, const GuestAddresses& guest) noexcept;

// Writes the 14-byte header; `out` must hold kEthernetHeaderSize (asserted).
void write_ethernet_header(std::span<uint8_t> out, const MacAddress& destination,
                           const MacAddress& source, uint16_t ether_type) noexcept;

// Builders return the frame size written to `out`, which must hold the size they name
// (asserted: a short buffer is our bug).
// ARP reply "guest IPv4 is at guest MAC" for a kArpRequest. kArpFrameSize.
std::size_t build_arp_reply(const ParsedFrame& request, const GuestAddresses& guest,
                            std::span<uint8_t> out) noexcept;
// Gratuitous ARP request (sender IP = target IP = guest), broadcast. slirp adds such a
// sender to its ARP table (src/arp_table.c via arp_input). kArpFrameSize.
std::size_t build_gratuitous_arp(const GuestAddresses& guest, std::span<uint8_t> out) noexcept;
// Solicited NA (S and O set) for a kNeighborSolicitation, to its source. Checksummed.
// kNeighborAdvertisementFrameSize.
std::size_t build_neighbor_advertisement(const ParsedFrame& solicitation,
                                         const GuestAddresses& guest,
                                         std::span<uint8_t> out) noexcept;
// Unsolicited NA (O set, S clear, as RFC 4861 §4.4 requires for a multicast destination) to
// ff02::1: slirp's ndp_input adds the sender to its table. kNeighborAdvertisementFrameSize.
std::size_t build_unsolicited_neighbor_advertisement(const GuestAddresses& guest,
                                                     std::span<uint8_t> out) noexcept;

}  // namespace slirpvpn::slirp
