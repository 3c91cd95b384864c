// SPDX-License-Identifier: MIT
// Start-up allocation of the packet batches; nothing here runs per packet.
#include "net/packet_batch.h"

namespace slirpvpn::net {

DatagramBatch::DatagramBatch(size_t slots, size_t slot_capacity)
    : slots_(slots), slot_capacity_(slot_capacity) {
  SLIRPVPN_ASSERT(slots >= 1);
  SLIRPVPN_ASSERT(slot_capacity >= 1 && slot_capacity <= kMaxDatagramSize);
  bytes_ = std::make_unique<uint8_t[]>(slots * slot_capacity);
  datagrams_ = std::make_unique<Datagram[]>(slots);
  headers_ = std::make_unique<mmsghdr[]>(slots);
  iovecs_ = std::make_unique<iovec[]>(slots);
  names_ = std::make_unique<sockaddr_storage[]>(slots);
  static_assert(kControlSize % sizeof(uint64_t) == 0);
  control_ = std::make_unique<uint64_t[]>(slots * (kControlSize / sizeof(uint64_t)));
  for (size_t i = 0; i < slots; ++i) {
    datagrams_[i].data = bytes_.get() + i * slot_capacity;
    datagrams_[i].capacity = static_cast<uint32_t>(slot_capacity);
  }
}

PacketBatch::PacketBatch(size_t slots, size_t slot_capacity)
    : slots_(slots), slot_capacity_(slot_capacity) {
  SLIRPVPN_ASSERT(slots >= 1 && slot_capacity >= 1);
  bytes_ = std::make_unique<uint8_t[]>(slots * slot_capacity);
  lengths_ = std::make_unique<size_t[]>(slots);
}

}  // namespace slirpvpn::net
