// SPDX-License-Identifier: MIT
// Merges consecutive in-order TCP segments of one flow into one larger segment (receive-side
// coalescing, as Linux GRO does): before they enter libslirp, whose cost is per segment, and
// before the client writes them to its TUN device as one offloaded super-packet.
//
// A merged segment is what the peer's TCP would have sent with a larger MSS: the same headers,
// the first segment's sequence number, the payloads back to back, PSH if the last one had it,
// and freshly computed length and checksums. Segments merge only when nothing but the payload
// and the sequence number differ (Linux's tcp_gro_receive rules): same addresses and ports,
// acknowledgement number, window, options, IPv4 TOS/TTL/flags or IPv6 class/flow/hop limit;
// plain ACK segments with data (the last may add PSH); no IP options, IPv6 extension headers
// or fragments; and a correct TCP checksum on each, so a corrupt segment is never hidden
// inside a merged one with a valid checksum. Anything else is handed on unchanged.
//
// Uniform mode (for a TUN write with GSO, which the kernel cuts at one segment size): every
// merged segment has the first one's payload size, except the last, which may be shorter.
//
// Use: for each packet, add(); when it answers kNotMerged, finish() what is pending (if any),
// hand that on, then hand on the packet itself, or start() a new run with it. finish() also
// at the end of every receive batch: nothing waits across batches.
//
// No allocation; the buffer is the caller's. One thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace slirpvpn::net {

class TcpCoalescer {
 public:
  // Merged packets are built in `buffer` and never exceed min(buffer.size(), max_packet) bytes.
  TcpCoalescer(std::span<uint8_t> buffer, std::size_t max_packet, bool uniform = false) noexcept;

  enum class Added : uint8_t {
    kMerged,     // appended to the pending segment
    kMergedEnd,  // appended, and it carried PSH: finish() now
    kNotMerged,  // not a continuation (or nothing pending): the caller decides
  };

  bool pending() const noexcept { return packet_length_ != 0; }
  // How many segments the pending one holds.
  std::size_t pending_segments() const noexcept { return segments_; }

  // True when `packet` (an IP packet whose headers the caller has checked, trimmed to its IP
  // length) may begin or join a merged segment.
  static bool eligible(std::span<const uint8_t> packet) noexcept;

  // Appends `packet` to the pending segment if it continues it.
  Added add(std::span<const uint8_t> packet) noexcept;
  // Begins a new pending segment with `packet`; eligible(packet) and !pending() (asserted).
  // False if its checksum is wrong: nothing is pending then, hand it on alone.
  bool start(std::span<const uint8_t> packet) noexcept;
  // The first segment's payload size: the GSO size of a uniform merged segment.
  std::size_t first_payload() const noexcept { return first_payload_; }
  // Completes the pending segment (lengths and checksums; untouched if it is a single segment)
  // and returns it; nothing is pending afterwards. The span lives until the next start().
  std::span<const uint8_t> finish() noexcept;

 private:
  // The payload's ones'-complement sum, or nothing when the segment's checksum is wrong.
  static bool payload_sum_if_valid(std::span<const uint8_t> packet, std::size_t l4_offset,
                                   std::size_t tcp_header, uint32_t& payload_sum) noexcept;

  std::span<uint8_t> buffer_;
  std::size_t max_packet_;
  bool uniform_;
  std::size_t packet_length_ = 0;  // bytes of the pending packet in buffer_
  std::size_t l4_offset_ = 0;
  std::size_t tcp_header_ = 0;
  uint32_t next_sequence_ = 0;
  uint32_t payload_sum_ = 0;  // folded to 16 bits, as if the payload started at an even offset
  std::size_t payload_length_ = 0;
  std::size_t segments_ = 0;
  std::size_t first_payload_ = 0;
  std::size_t last_payload_ = 0;
};

}  // namespace slirpvpn::net
