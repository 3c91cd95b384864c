// SPDX-License-Identifier: MIT
// A Linux TUN device (/dev/net/tun, IFF_TUN|IFF_NO_PI): non-blocking reads and writes of IP
// packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "net/packet_batch.h"
#include "net/tun_offload.h"

namespace slirpvpn::net {

struct TunOptions {
  // IFF_MULTI_QUEUE: several TunDevice objects attach to the same name, one queue each, so
  // several threads can read (the kernel spreads flows over the queues).
  bool multi_queue = false;
  // Offloads (IFF_VNET_HDR + TUNSETOFFLOAD TUN_F_CSUM|TSO4|TSO6): every read() then begins with a
  // struct virtio_net_hdr and may be a TCP super-packet up to 64 KiB with a partial checksum;
  // split_offloaded_packet() (tun_offload.h) turns it into plain packets. write() still takes a
  // plain IP packet (an empty header is prepended). Read buffers must hold
  // kVirtioNetHeaderSize + 65535 bytes. UDP segmentation (USO) is not requested.
  bool offload = false;
};

// One queue of a TUN device, created (or attached to, if it exists and is not in use) by open().
// The device is not persistent (TUNSETPERSIST 0): it disappears when the last queue closes.
// Move-only; closes its descriptor.
//
// Thread-safety: reads and writes may run concurrently from different threads on one object
// (each is one syscall); batches must each be owned by one thread.
class TunDevice {
 public:
  // `name` up to 15 characters; empty lets the kernel choose "tun%d". Creating a device needs
  // CAP_NET_ADMIN; the error says so.
  static Expected<TunDevice> open(std::string_view name, const TunOptions& options = {});

  TunDevice(TunDevice&& other) noexcept;
  TunDevice& operator=(TunDevice&& other) noexcept;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  ~TunDevice();

  int fd() const noexcept { return fd_; }
  // The name the kernel gave the device.
  const std::string& name() const noexcept { return name_; }
  bool offload() const noexcept { return vnet_header_; }

  // Reads one packet into `buffer` and returns its length; 0 means none is waiting (EAGAIN).
  // A packet larger than `buffer` is cut by the kernel: size buffers to the MTU, or as above
  // with offload.
  Expected<size_t> read(std::span<uint8_t> buffer) noexcept;
  // Writes one IP packet. Returns false when the device queue is full (EAGAIN: the packet was
  // not taken); an error when the kernel refuses the packet (EINVAL for a malformed one) or the
  // device is gone.
  Expected<bool> write(std::span<const uint8_t> packet) noexcept;
  // With offload only: writes `packet` after the virtio header `header` (prepare_gso_write).
  Expected<bool> write(std::span<const uint8_t, kVirtioNetHeaderSize> header,
                       std::span<const uint8_t> packet) noexcept;
  // Reads packets into slots [0, n) of `batch`, at most `max_packets` (<= batch.slots()),
  // stopping at the first EAGAIN; returns n (0: nothing waiting).
  // With offload each slot holds one raw read (virtio header included): split it afterwards.
  Expected<size_t> read_batch(PacketBatch& batch, size_t max_packets) noexcept;

 private:
  TunDevice(int fd, std::string name, bool vnet_header) noexcept
      : fd_(fd), name_(std::move(name)), vnet_header_(vnet_header) {}

  int fd_ = -1;
  std::string name_;
  bool vnet_header_ = false;
};

}  // namespace slirpvpn::net
