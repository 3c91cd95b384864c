// SPDX-License-Identifier: MIT
// TUN offloads (IFF_VNET_HDR): complete partial checksums and segment TCP super-packets (TSO).
//
// With TunOptions::offload the kernel hands a TUN reader packets prefixed by a struct
// virtio_net_hdr (kVirtioNetHeaderSize bytes): a TCP "super-packet" up to 64 KiB with one set of
// headers (gso_type TCPV4/TCPV6, gso_size = MSS) and/or a checksum left partial (NEEDS_CSUM: the
// field at csum_start + csum_offset holds only the pseudo-header sum). Fewer, larger reads are the
// point: one read and one header parse per 64 KiB instead of per 1.4 KiB. split_offloaded_packet()
// turns one such read into ordinary IP packets with complete checksums, as the wire needs them.
// Left out on purpose: UDP segmentation (USO, TUN_F_USO4/6 is not requested), IPv6 extension
// headers before TCP (dropped as malformed: the kernel does not GSO them on a TUN), and the
// reverse direction for anything but merged TCP (prepare_gso_write).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/packet_batch.h"

namespace slirpvpn::net {

// sizeof(struct virtio_net_hdr): what TUNSETVNETHDRSZ is left at.
inline constexpr size_t kVirtioNetHeaderSize = 10;
// struct virtio_net_hdr values (virtio spec 1.2 §5.1.6; <linux/virtio_net.h> does not compile as
// C++: a member is named `class`).
inline constexpr uint8_t kVirtioNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kVirtioGsoNone = 0;
inline constexpr uint8_t kVirtioGsoTcpV4 = 1;
inline constexpr uint8_t kVirtioGsoTcpV6 = 4;
inline constexpr uint8_t kVirtioGsoUdpL4 = 5;
inline constexpr uint8_t kVirtioGsoEcn = 0x80;

enum class OffloadDrop : uint8_t {
  kNone,
  kMalformed,    // header or packet inconsistent (short, bad offsets, unknown gso_type)
  kUnsupported,  // a gso_type we did not ask for (UDP, ECN-only...)
  kNoRoom,       // more segments than free slots, or a segment larger than a slot
};

struct SplitOutcome {
  size_t count = 0;  // packets written to slots [first_slot, first_slot + count)
  OffloadDrop drop = OffloadDrop::kNone;
};

// Splits `read` (virtio_net_hdr + IP packet, as read from a TUN opened with offload) into plain IP
// packets in `out` from `first_slot` on. A packet with neither GSO nor a partial checksum is copied
// unchanged. On any drop, count is 0 and nothing in `out` is meant to be used. No allocation.
SplitOutcome split_offloaded_packet(std::span<const uint8_t> read, PacketBatch& out,
                                    size_t first_slot) noexcept;

// Turns `packet`, TCP segments merged into one (net::TcpCoalescer in uniform mode: plain IPv4
// or IPv6 + TCP, complete checksums, every segment `segment_payload` bytes but the last), into
// a super-packet for a TUN write with offloads: fills `header` (NEEDS_CSUM, TCPV4/TCPV6,
// gso_size) and replaces the TCP checksum with the pseudo-header sum the kernel completes, as a
// local TCP sender's GSO packet carries it. The kernel then takes it in one write.
void prepare_gso_write(std::span<uint8_t> packet, size_t segment_payload,
                       std::span<uint8_t, kVirtioNetHeaderSize> header) noexcept;

}  // namespace slirpvpn::net
