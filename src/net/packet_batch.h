// SPDX-License-Identifier: MIT
// Fixed-capacity batches of packet buffers, allocated once at start-up, for batched UDP and TUN
// I/O.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "common/assert.h"
#include "net/ip_address.h"

namespace slirpvpn::net {

// The largest UDP payload (and the largest GRO-coalesced buffer the kernel hands up): 64 KiB - 1.
inline constexpr size_t kMaxDatagramSize = 65535;
// UDP GSO: the kernel refuses more than UDP_MAX_SEGMENTS segments in one send; 64 is the value
// of every kernel since 4.18 (6.x raised it to 128, we keep to the portable bound).
inline constexpr size_t kMaxGsoSegments = 64;
// UDP GSO: the whole buffer goes down the stack as one UDP datagram first, so it must fit one
// IPv4 packet (65535 - 20 - 8); larger sends fail with EMSGSIZE.
inline constexpr size_t kMaxGsoBytes = 65507;

// One slot of a DatagramBatch. The byte buffer belongs to the batch; a slot only points at it.
//
// Receive: `length` bytes arrived from `peer`. When `segment_size` is non-zero the kernel
// coalesced several datagrams of that size (the last one may be shorter) from the same peer
// into this buffer (UDP GRO): use segment_count()/segment(). `local` is the address the
// datagram was sent to (IP_PKTINFO/IPV6_PKTINFO), `ifindex` the interface it came in on.
//
// Send: put `length` bytes into buffer(), set `peer`; set `segment_size` to send the buffer as
// several datagrams of that size to the same peer in one go (UDP GSO; the last may be shorter);
// leave it 0 for one datagram. `local`, when set, chooses the source address (answer from the
// address the request came to); leave it unset to let routing choose.
struct Datagram {
  uint8_t* data = nullptr;  // `capacity` bytes owned by the batch
  uint32_t capacity = 0;
  uint32_t length = 0;
  uint16_t segment_size = 0;
  uint32_t ifindex = 0;
  Endpoint peer;
  std::optional<IpAddress> local;

  std::span<uint8_t> buffer() noexcept { return {data, capacity}; }
  std::span<const uint8_t> payload() const noexcept { return {data, length}; }

  // 1 for a plain datagram, ceil(length / segment_size) for a coalesced one (0 when empty).
  size_t segment_count() const noexcept {
    if (segment_size == 0 || length <= segment_size) return length == 0 ? 0 : 1;
    return (length + segment_size - 1u) / segment_size;
  }
  // The k-th datagram of this slot; k < segment_count() (asserted).
  std::span<const uint8_t> segment(size_t k) const noexcept {
    SLIRPVPN_ASSERT(k < segment_count());
    if (segment_size == 0) return payload();
    const size_t offset = k * segment_size;
    const size_t size = length - offset < segment_size ? length - offset : segment_size;
    return {data + offset, size};
  }

  // Zeroes the metadata for reuse; the bytes are left as they are.
  void reset() noexcept {
    length = 0;
    segment_size = 0;
    ifindex = 0;
    peer = Endpoint{};
    local.reset();
  }

 private:
  friend class UdpSocket;
  // Without kernel GSO a coalesced slot goes out one datagram per message; a send interrupted
  // by a full socket buffer resumes at this segment.
  uint16_t segments_sent_ = 0;
};

// True when a datagram of `length` bytes to `to` may join `slot` (holding at least one) as one
// more GSO segment: same peer, not larger than the slot's segments, the slot's last segment
// full size, fewer than kMaxGsoSegments, and room left (within kMaxGsoBytes). Afterwards: set
// segment_size to the old length if it was 0, then add `length` to `length`.
inline bool can_join_gso(const Datagram& slot, const Endpoint& to, size_t length) noexcept {
  const size_t segment = slot.segment_size != 0 ? slot.segment_size : slot.length;
  return segment != 0 && slot.peer == to && length <= segment && slot.length % segment == 0 &&
         slot.length / segment < kMaxGsoSegments && slot.length + length <= slot.capacity &&
         slot.length + length <= kMaxGsoBytes;
}

// A fixed number of Datagram slots of a fixed capacity each, with the sockaddr, iovec, mmsghdr
// and control-message space that recvmmsg/sendmmsg need, all allocated by the constructor and
// never again. Move-only.
//
// Capacity: to receive with UDP GRO the slots must hold kMaxDatagramSize bytes (a coalesced
// buffer up to 64 KiB); with GRO off, the path MTU is enough. To send with GSO a slot holds up to
// kMaxGsoSegments segments.
//
// Thread-safety: none; one thread owns a batch at a time (hand it over with a queue).
class DatagramBatch {
 public:
  // `slots` >= 1 and `slot_capacity` in 1..kMaxDatagramSize (asserted).
  DatagramBatch(size_t slots, size_t slot_capacity);
  DatagramBatch(DatagramBatch&&) noexcept = default;
  DatagramBatch& operator=(DatagramBatch&&) noexcept = default;

  size_t slots() const noexcept { return slots_; }
  size_t slot_capacity() const noexcept { return slot_capacity_; }

  Datagram& operator[](size_t i) noexcept {
    SLIRPVPN_ASSERT(i < slots_);
    return datagrams_[i];
  }
  const Datagram& operator[](size_t i) const noexcept {
    SLIRPVPN_ASSERT(i < slots_);
    return datagrams_[i];
  }
  std::span<Datagram> datagrams() noexcept { return {datagrams_.get(), slots_}; }

  // Space for one IP_PKTINFO/IPV6_PKTINFO plus one UDP GRO/GSO control message and slack.
  static constexpr size_t kControlSize = 128;

 private:
  friend class UdpSocket;

  size_t slots_ = 0;
  size_t slot_capacity_ = 0;
  std::unique_ptr<uint8_t[]> bytes_;
  std::unique_ptr<Datagram[]> datagrams_;
  std::unique_ptr<mmsghdr[]> headers_;
  std::unique_ptr<iovec[]> iovecs_;
  std::unique_ptr<sockaddr_storage[]> names_;
  // kControlSize bytes per slot, aligned for cmsghdr.
  std::unique_ptr<uint64_t[]> control_;
};

// A fixed number of plain IP packet buffers (TUN reads and writes): no peer, no control data.
// Allocated once; move-only; one thread at a time.
class PacketBatch {
 public:
  // `slots` >= 1, `slot_capacity` >= 1 (asserted).
  PacketBatch(size_t slots, size_t slot_capacity);
  PacketBatch(PacketBatch&&) noexcept = default;
  PacketBatch& operator=(PacketBatch&&) noexcept = default;

  size_t slots() const noexcept { return slots_; }
  size_t slot_capacity() const noexcept { return slot_capacity_; }

  // The whole buffer of slot i (capacity bytes).
  std::span<uint8_t> buffer(size_t i) noexcept {
    SLIRPVPN_ASSERT(i < slots_);
    return {bytes_.get() + i * slot_capacity_, slot_capacity_};
  }
  // The packet in slot i: its first length(i) bytes.
  std::span<const uint8_t> packet(size_t i) const noexcept {
    SLIRPVPN_ASSERT(i < slots_);
    return {bytes_.get() + i * slot_capacity_, lengths_[i]};
  }
  size_t length(size_t i) const noexcept {
    SLIRPVPN_ASSERT(i < slots_);
    return lengths_[i];
  }
  void set_length(size_t i, size_t length) noexcept {
    SLIRPVPN_ASSERT(i < slots_ && length <= slot_capacity_);
    lengths_[i] = length;
  }

 private:
  size_t slots_ = 0;
  size_t slot_capacity_ = 0;
  std::unique_ptr<uint8_t[]> bytes_;
  std::unique_ptr<size_t[]> lengths_;
};

}  // namespace slirpvpn::net
