// SPDX-License-Identifier: MIT
// Inner IP packet access for the slirp adapter: sanity checks, checksums, MSS clamp, RST/ICMP.
//
// All functions are bounds-checked on the spans they get, allocate nothing and never throw: they
// run for every packet between the tunnel and libslirp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ip_address.h"
#include "net/packet_batch.h"

namespace slirpvpn::slirp {

inline constexpr uint8_t kProtocolIcmp = 1;
inline constexpr uint8_t kProtocolTcp = 6;
inline constexpr uint8_t kProtocolUdp = 17;
inline constexpr uint8_t kProtocolIcmpv6 = 58;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpAck = 0x10;

inline constexpr std::size_t kIpv4HeaderSize = 20;
inline constexpr std::size_t kIpv6HeaderSize = 40;
inline constexpr std::size_t kTcpHeaderSize = 20;
inline constexpr std::size_t kUdpHeaderSize = 8;

// Why an inner packet failed the sanity check (peer input: counted, never fatal).
enum class IpDrop : uint8_t {
  kNone,
  kTooShort,            // shorter than the fixed IP header
  kBadVersion,          // neither 4 nor 6
  kBadHeaderLength,     // IHL < 5 or beyond the buffer
  kBadTotalLength,      // total/payload length beyond the buffer or below the header
  kBadHeaderChecksum,   // IPv4 header checksum
  kBadExtensionHeader,  // IPv6 extension chain truncated or too long; jumbograms
  kTruncatedTransport,  // first fragment too short for its TCP/UDP/ICMP header
};

// What the adapter needs to know about one inner packet. `packet` is trimmed to the length the
// IP header claims (WireGuard pads plaintext to 16 bytes, so the buffer may be longer).
struct IpInfo {
  std::span<const uint8_t> packet;
  uint8_t version = 0;
  uint8_t protocol = 0;             // final next header for IPv6
  std::size_t l4_offset = 0;        // transport header offset in `packet`
  bool non_first_fragment = false;  // no transport header in this packet
  bool has_ports = false;           // TCP or UDP header present
  net::IpAddress source;
  net::IpAddress destination;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint8_t icmp_type = 0;  // ICMP / ICMPv6, when present
  uint8_t icmp_code = 0;
};

// Checks version, header length, total length and (IPv4) header checksum, walks IPv6 extension
// headers (at most 8) and reads the transport fields. On kNone, `info` is filled.
IpDrop parse_ip(std::span<const uint8_t> packet, IpInfo& info) noexcept;

// ---- checksums (RFC 1071; incremental RFC 1624) ----
// Ones'-complement sum of `bytes` added to `sum` (odd length padded with a zero byte).
uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t sum = 0) noexcept;
// Folds a partial sum and complements it: the value to store in a checksum field.
uint16_t checksum_finish(uint32_t sum) noexcept;
// The checksum of a TCP/UDP/ICMPv6 segment `l4` (checksum field included as it is) with the
// IPv4/IPv6 pseudo header. 0 means a segment whose stored checksum is correct.
uint16_t transport_checksum(const net::IpAddress& source, const net::IpAddress& destination,
                            uint8_t protocol, std::span<const uint8_t> l4) noexcept;
// RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from `old_value`.
uint16_t checksum_adjust(uint16_t checksum, uint16_t old_value, uint16_t new_value) noexcept;

// ---- MSS clamp ----
// Largest MSS for a tunnel MTU: MTU − 40 (IPv4 + TCP headers) or MTU − 60 (IPv6 + TCP).
uint16_t max_mss_for_mtu(std::size_t mtu, uint8_t ip_version) noexcept;
// On a TCP segment with SYN whose MSS option exceeds `max_mss`, lowers it and fixes the TCP
// checksum in place. `packet` is the trimmed packet `info` was parsed from. True if changed.
bool clamp_mss(std::span<uint8_t> packet, const IpInfo& info, uint16_t max_mss) noexcept;
// On a TCP segment with SYN whose MSS option is at least `at_least` (the tunnel's MSS: the peer
// can take full-size tunnel packets) and below `raised`, sets it to `raised` and fixes the TCP
// checksum in place. The adapter uses it to let libslirp send segments larger than the tunnel
// MTU, which it then cuts back to `at_least` itself. True if changed.
bool raise_mss(std::span<uint8_t> packet, const IpInfo& info, uint16_t at_least,
               uint16_t raised) noexcept;

// ---- cutting packets back to the tunnel MTU ----
// Splits the IPv4 packet `info` (parsed from `packet`, no IP options) into fragments of at most
// `mtu` bytes in slots [0, n) of `out` (RFC 791 §3.2: offsets in 8-byte units, MF on all but the
// last, header checksum recomputed) and returns n. 0 when it may not or cannot be fragmented:
// DF set, IP options present, `mtu` below 28, or more fragments than `out` has slots.
std::size_t fragment_ipv4(const IpInfo& info, std::size_t mtu, net::PacketBatch& out) noexcept;

// ---- refusals ----
// Size an `out` buffer must have for any reply below.
inline constexpr std::size_t kTcpRstMaxSize = kIpv6HeaderSize + kTcpHeaderSize;
inline constexpr std::size_t kIcmpErrorMaxSize = 1280;  // IPv6 minimum MTU (RFC 4443 §2.4 c)

// RST answering the TCP segment `info` (RFC 9293 §3.10.7.1: seq = SEG.ACK if ACK was set, else
// seq 0 and ACK = SEG.SEQ + SEG.LEN), from its destination to its source. Returns its size,
// 0 when `info` is no TCP segment or carries RST itself.
std::size_t build_tcp_rst(const IpInfo& info, std::span<uint8_t> out) noexcept;

// ICMP "administratively prohibited" (type 3 code 13; ICMPv6 type 1 code 1) from `from` to the
// source of `info`, quoting as much of the packet as fits in 576 (IPv4, RFC 1812 §4.3.2.3) or
// 1280 bytes (IPv6). Returns its size; 0 when `info` is itself an ICMP error (never answered,
// RFC 1122 §3.2.2) or `from` is of the other family.
std::size_t build_icmp_prohibited(const IpInfo& info, const net::IpAddress& from,
                                  std::span<uint8_t> out) noexcept;

// True for ICMP/ICMPv6 error messages (which must never trigger an error in return).
bool is_icmp_error(const IpInfo& info) noexcept;

}  // namespace slirpvpn::slirp
