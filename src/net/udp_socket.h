// SPDX-License-Identifier: MIT
// Non-blocking UDP socket with batched receive/send (recvmmsg/sendmmsg), UDP GSO/GRO and PKTINFO.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "net/ip_address.h"
#include "net/packet_batch.h"

namespace slirpvpn::net {

// What open() should try. Every feature is best-effort: a kernel or privilege that lacks it
// leaves it off (see UdpSocket::gso_enabled() etc.) and the socket still works.
struct UdpSocketOptions {
  // Send several equal-size datagrams in one buffer (UDP_SEGMENT cmsg, Linux >= 4.18).
  bool gso = true;
  // Receive coalesced datagrams (UDP_GRO, Linux >= 5.0). Needs DatagramBatch slots of
  // kMaxDatagramSize bytes for recv_batch (asserted), so turn it off for small batches.
  bool gro = true;
  // Learn the local address of each received datagram (so a reply can leave from it).
  bool pktinfo = true;
  // Socket buffer sizes to ask for; raised past net.core.{r,w}mem_max with *BUFFORCE when the
  // process has CAP_NET_ADMIN, else capped by the kernel silently. 0 keeps the default.
  int receive_buffer_bytes = 8 << 20;
  int send_buffer_bytes = 8 << 20;
  // SO_REUSEPORT, for several sockets (threads or processes) sharing one port.
  bool reuse_port = false;
};

// Counters of what the socket dropped itself, by reason (peer input and sends it could not make).
struct UdpSocketStats {
  uint64_t received_truncated = 0;  // larger than the slot: dropped
  uint64_t send_dropped = 0;        // refused by the kernel for that destination (see last_error)
  int send_last_error = 0;          // errno of the last refused send
  uint64_t gso_disabled = 0;        // kernel GSO failed at run time (EIO) and was turned off
};

// Outcome of send_batch. Slots [begin, begin + consumed) are done: sent, or dropped because the
// kernel refused that destination (counted in stats). When `would_block` is set the socket buffer
// is full: wait for EPOLLOUT and call again from begin + consumed.
struct SendOutcome {
  size_t consumed = 0;
  size_t dropped = 0;
  bool would_block = false;
};

// A bound, non-blocking UDP socket. Move-only; closes its descriptor.
//
// Thread-safety: recv_batch and send_batch may run on different threads at the same time (the
// kernel serialises them); each batch must be owned by one thread. Stats are updated by the
// sending thread (send_*) and the receiving thread (received_*) without locks: read them from
// those threads or accept torn values.
class UdpSocket {
 public:
  // Binds `local`. Binding [::] makes a dual-stack socket (IPV6_V6ONLY=0): IPv4 peers then
  // appear as ::ffff:a.b.c.d (Endpoint::unmapped() undoes that).
  static Expected<UdpSocket> open(const Endpoint& local, const UdpSocketOptions& options = {});
  // Binds [::]:port dual-stack, or 0.0.0.0:port when the host has no IPv6. Port 0 = any.
  static Expected<UdpSocket> open(uint16_t port, const UdpSocketOptions& options = {});

  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  int fd() const noexcept { return fd_; }
  int family() const noexcept { return family_; }  // AF_INET or AF_INET6
  uint16_t local_port() const noexcept { return local_port_; }
  Expected<Endpoint> local_endpoint() const;
  bool gso_enabled() const noexcept { return gso_; }
  bool gro_enabled() const noexcept { return gro_; }
  bool pktinfo_enabled() const noexcept { return pktinfo_; }
  const UdpSocketStats& stats() const noexcept { return stats_; }

  // SO_MARK: routing mark on every packet sent (policy routing, wg-quick's fwmark). Needs
  // CAP_NET_ADMIN.
  Expected<void> set_mark(uint32_t mark);

  // Receives up to batch.slots() datagrams (GRO buffers count as one slot each) into slots
  // [0, n) and returns n; 0 means nothing is waiting (EAGAIN), not an error. Datagrams larger
  // than a slot are dropped and counted. EINTR is retried.
  Expected<size_t> recv_batch(DatagramBatch& batch) noexcept;

  // Sends slots [begin, end) of `batch` (see Datagram for GSO and source-address choice).
  // A peer whose family the socket cannot reach (IPv6 peer on an IPv4 socket) is a refused send.
  SendOutcome send_batch(DatagramBatch& batch, size_t begin, size_t end) noexcept;

 private:
  UdpSocket(int fd, int family) noexcept : fd_(fd), family_(family) {}
  Expected<void> configure(const UdpSocketOptions& options);
  // sendmmsg of prepared headers [0, count): returns how many went, or -errno.
  int send_prepared(mmsghdr* headers, size_t count) noexcept;
  // One slot as separate datagrams, for when GSO is off; returns false when it would block.
  bool send_segments_one_by_one(Datagram& datagram, SendOutcome& outcome) noexcept;
  // Fills msghdr for one datagram (name, iovec, pktinfo and GSO cmsgs); false if unsendable.
  bool prepare_send(Datagram& datagram, msghdr& header, sockaddr_storage& name, iovec& iov,
                    uint8_t* control, const uint8_t* bytes, size_t length,
                    uint16_t gso_size) noexcept;

  int fd_ = -1;
  int family_ = AF_UNSPEC;
  uint16_t local_port_ = 0;
  bool gso_ = false;
  bool gro_ = false;
  bool pktinfo_ = false;
  UdpSocketStats stats_;
};

}  // namespace slirpvpn::net
