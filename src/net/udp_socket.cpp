// SPDX-License-Identifier: MIT
// UdpSocket: recvmmsg/sendmmsg batches with UDP GSO/GRO and PKTINFO, detected at open.
//
// Theory of operation
//
// Receive: recv_batch points every slot's iovec, name and control buffer at the batch's own
// memory and makes one recvmmsg call. Control messages carry the GRO segment size (SOL_UDP
// UDP_GRO, an int) and the destination address (IP_PKTINFO on an IPv4 socket; IPV6_PKTINFO on an
// IPv6 one, which also reports IPv4 arrivals on a dual-stack socket as ::ffff:a.b.c.d).
// Truncated datagrams are dropped and the accepted ones are compacted to the front.
//
// Send: send_batch walks the slots, turning each into one message (with UDP_SEGMENT when the slot
// is coalesced and GSO is on) and flushing runs of messages with sendmmsg. sendmmsg stops at the
// first message the kernel refuses; the loop then decides by errno: EAGAIN ends the call with
// `would_block` (resume later), EINTR retries, EIO on a GSO message means the egress device cannot
// checksum-offload, so GSO is switched off for good and the slot is re-prepared as separate
// datagrams (wireguard-go does the same); an error on a message sent from a chosen source address
// clears that choice and retries (the address left the host: the kernel picks a new one), and any
// other errno drops that one datagram, counted, and goes on with the rest.
#include "net/udp_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace slirpvpn::net {
namespace {

int set_int_option(int fd, int level, int name, int value) noexcept {
  return ::setsockopt(fd, level, name, &value, sizeof value);
}

// Ask for `bytes`; the FORCE variant passes the sysctl cap but needs CAP_NET_ADMIN.
void raise_buffer(int fd, int force_name, int name, int bytes) noexcept {
  if (bytes <= 0) return;
  if (set_int_option(fd, SOL_SOCKET, force_name, bytes) == 0) return;
  (void)set_int_option(fd, SOL_SOCKET, name, bytes);
}

// The sockaddr the kernel needs for `peer` on a socket of `family`; 0 if it cannot reach it.
socklen_t peer_sockaddr(int family, const Endpoint& peer, sockaddr_storage& name) noexcept {
  if (family == AF_INET6) {
    return Endpoint{peer.address.to_v4_mapped(), peer.port}.to_sockaddr(name);
  }
  const Endpoint plain = peer.unmapped();
  if (!plain.address.is_v4()) return 0;
  return plain.to_sockaddr(name);
}

}  // namespace

Expected<UdpSocket> UdpSocket::open(const Endpoint& local, const UdpSocketOptions& options) {
  const int family = local.address.is_v4() ? AF_INET : AF_INET6;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("socket", "UDP " + local.to_string());
  UdpSocket socket(fd, family);
  if (family == AF_INET6 && local.address.is_unspecified() &&
      set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) != 0) {
    return fail_errno("setsockopt(IPV6_V6ONLY=0)", "dual-stack " + local.to_string());
  }
  if (options.reuse_port && set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) {
    return fail_errno("setsockopt(SO_REUSEPORT)", local.to_string());
  }
  raise_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receive_buffer_bytes);
  raise_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.send_buffer_bytes);

  sockaddr_storage name{};
  const socklen_t name_length = local.to_sockaddr(name);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&name), name_length) != 0) {
    return fail_errno("bind", "UDP " + local.to_string());
  }
  if (auto configured = socket.configure(options); !configured) {
    return tl::unexpected(std::move(configured.error()));
  }
  return socket;
}

Expected<UdpSocket> UdpSocket::open(uint16_t port, const UdpSocketOptions& options) {
  auto dual = open(Endpoint{IpAddress::v6({}), port}, options);
  if (dual ||
      (dual.error().error_number != EAFNOSUPPORT && dual.error().error_number != EADDRNOTAVAIL)) {
    return dual;
  }
  // No IPv6 on this host (ipv6.disable=1): IPv4 only.
  return open(Endpoint{IpAddress::v4({}), port}, options);
}

Expected<void> UdpSocket::configure(const UdpSocketOptions& options) {
  auto bound = local_endpoint();
  if (!bound) return tl::unexpected(std::move(bound.error()));
  local_port_ = bound->port;

  // A getsockopt that knows UDP_SEGMENT is how wireguard-go and quic-go detect GSO support.
  if (options.gso) {
    int value = 0;
    socklen_t size = sizeof value;
    gso_ = ::getsockopt(fd_, SOL_UDP, UDP_SEGMENT, &value, &size) == 0;
  }
  if (options.gro) gro_ = set_int_option(fd_, SOL_UDP, UDP_GRO, 1) == 0;
  if (options.pktinfo) {
    pktinfo_ = family_ == AF_INET ? set_int_option(fd_, IPPROTO_IP, IP_PKTINFO, 1) == 0
                                  : set_int_option(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0;
  }
  return {};
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      family_(other.family_),
      local_port_(other.local_port_),
      gso_(other.gso_),
      gro_(other.gro_),
      pktinfo_(other.pktinfo_),
      stats_(other.stats_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    family_ = other.family_;
    local_port_ = other.local_port_;
    gso_ = other.gso_;
    gro_ = other.gro_;
    pktinfo_ = other.pktinfo_;
    stats_ = other.stats_;
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<Endpoint> UdpSocket::local_endpoint() const {
  sockaddr_storage name{};
  socklen_t size = sizeof name;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&name), &size) != 0) {
    return fail_errno("getsockname", "UDP socket");
  }
  auto endpoint = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&name));
  if (!endpoint) return fail("getsockname", "unexpected address family", EAFNOSUPPORT);
  return *endpoint;
}

Expected<void> UdpSocket::set_mark(uint32_t mark) {
  if (::setsockopt(fd_, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    const int error = errno;
    std::string context = "fwmark " + std::to_string(mark);
    if (error == EPERM) {
      context += " needs CAP_NET_ADMIN: run as root or `setcap cap_net_admin+ep` the binary";
    }
    return fail("setsockopt(SO_MARK)", std::move(context), error);
  }
  return {};
}

Expected<size_t> UdpSocket::recv_batch(DatagramBatch& batch) noexcept {
  // A coalesced buffer larger than the slot would be cut: our configuration bug, not the peer's.
  SLIRPVPN_ASSERT(!gro_ || batch.slot_capacity_ >= kMaxDatagramSize);
  const size_t slots = batch.slots_;
  uint8_t* control_base = reinterpret_cast<uint8_t*>(batch.control_.get());
  for (size_t i = 0; i < slots; ++i) {
    Datagram& datagram = batch.datagrams_[i];
    batch.iovecs_[i] = iovec{datagram.data, datagram.capacity};
    msghdr& header = batch.headers_[i].msg_hdr;
    header.msg_name = &batch.names_[i];
    header.msg_namelen = sizeof(sockaddr_storage);
    header.msg_iov = &batch.iovecs_[i];
    header.msg_iovlen = 1;
    header.msg_control = control_base + i * DatagramBatch::kControlSize;
    header.msg_controllen = DatagramBatch::kControlSize;
    header.msg_flags = 0;
    batch.headers_[i].msg_len = 0;
  }

  int received;
  do {
    received = ::recvmmsg(fd_, batch.headers_.get(), static_cast<unsigned>(slots), 0, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return fail_errno("recvmmsg", "UDP port " + std::to_string(local_port_));
  }

  size_t kept = 0;
  for (size_t i = 0; i < static_cast<size_t>(received); ++i) {
    Datagram& datagram = batch.datagrams_[i];
    msghdr& header = batch.headers_[i].msg_hdr;
    datagram.reset();
    auto peer = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(header.msg_name));
    if ((header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || !peer) {
      ++stats_.received_truncated;
      continue;
    }
    datagram.peer = *peer;
    datagram.length = batch.headers_[i].msg_len;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg != nullptr;
         cmsg = CMSG_NXTHDR(&header, cmsg)) {
      if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO) {
        int segment_size = 0;
        std::memcpy(&segment_size, CMSG_DATA(cmsg), sizeof segment_size);
        if (segment_size > 0 && static_cast<uint32_t>(segment_size) < datagram.length) {
          datagram.segment_size = static_cast<uint16_t>(segment_size);
        }
      } else if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(cmsg), sizeof info);
        std::array<uint8_t, 4> bytes;
        std::memcpy(bytes.data(), &info.ipi_addr, 4);
        datagram.local = IpAddress::v4(bytes);
        datagram.ifindex = static_cast<uint32_t>(info.ipi_ifindex);
      } else if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(cmsg), sizeof info);
        std::array<uint8_t, 16> bytes;
        std::memcpy(bytes.data(), &info.ipi6_addr, 16);
        datagram.local = IpAddress::v6(bytes);
        datagram.ifindex = info.ipi6_ifindex;
      }
    }
    // Swapping slots swaps buffer pointers only; the next call re-points the iovecs.
    if (kept != i) std::swap(batch.datagrams_[kept], datagram);
    ++kept;
  }
  return kept;
}

bool UdpSocket::prepare_send(Datagram& datagram, msghdr& header, sockaddr_storage& name, iovec& iov,
                             uint8_t* control, const uint8_t* bytes, size_t length,
                             uint16_t gso_size) noexcept {
  const socklen_t name_length = peer_sockaddr(family_, datagram.peer, name);
  if (name_length == 0) return false;
  iov = iovec{const_cast<uint8_t*>(bytes), length};
  header = msghdr{};
  header.msg_name = &name;
  header.msg_namelen = name_length;
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = DatagramBatch::kControlSize;

  size_t used = 0;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
  if (datagram.local) {
    if (family_ == AF_INET && datagram.local->unmapped().is_v4()) {
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, datagram.local->unmapped().bytes().data(), 4);
      cmsg->cmsg_level = IPPROTO_IP;
      cmsg->cmsg_type = IP_PKTINFO;
      cmsg->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(cmsg), &info, sizeof info);
      used += CMSG_SPACE(sizeof info);
      cmsg = CMSG_NXTHDR(&header, cmsg);
    } else if (family_ == AF_INET6) {
      // An IPv4 source on a dual-stack socket goes as ::ffff:a.b.c.d (ip_cmsg_send accepts it).
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, datagram.local->to_v4_mapped().bytes().data(), 16);
      cmsg->cmsg_level = IPPROTO_IPV6;
      cmsg->cmsg_type = IPV6_PKTINFO;
      cmsg->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(cmsg), &info, sizeof info);
      used += CMSG_SPACE(sizeof info);
      cmsg = CMSG_NXTHDR(&header, cmsg);
    }
  }
  if (gso_size != 0) {
    cmsg->cmsg_level = SOL_UDP;
    cmsg->cmsg_type = UDP_SEGMENT;
    cmsg->cmsg_len = CMSG_LEN(sizeof gso_size);
    std::memcpy(CMSG_DATA(cmsg), &gso_size, sizeof gso_size);
    used += CMSG_SPACE(sizeof gso_size);
  }
  header.msg_controllen = used;
  if (used == 0) header.msg_control = nullptr;
  return true;
}

int UdpSocket::send_prepared(mmsghdr* headers, size_t count) noexcept {
  int sent;
  do {
    sent = ::sendmmsg(fd_, headers, static_cast<unsigned>(count), MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  return sent < 0 ? -errno : sent;
}

bool UdpSocket::send_segments_one_by_one(Datagram& datagram, SendOutcome& outcome) noexcept {
  std::array<mmsghdr, kMaxGsoSegments> headers;
  std::array<iovec, kMaxGsoSegments> iovecs;
  alignas(cmsghdr) std::array<uint8_t, DatagramBatch::kControlSize> control;
  sockaddr_storage name;
  const size_t count = datagram.segment_count();
  SLIRPVPN_ASSERT(count <= kMaxGsoSegments);

  while (datagram.segments_sent_ < count) {
    size_t prepared = 0;
    for (size_t k = datagram.segments_sent_; k < count; ++k, ++prepared) {
      const auto segment = datagram.segment(k);
      headers[prepared].msg_len = 0;
      // Every message shares one name and one control buffer: sendmmsg only reads them.
      if (!prepare_send(datagram, headers[prepared].msg_hdr, name, iovecs[prepared], control.data(),
                        segment.data(), segment.size(), 0)) {
        ++stats_.send_dropped;
        stats_.send_last_error = EAFNOSUPPORT;
        ++outcome.dropped;
        datagram.segments_sent_ = 0;
        return true;
      }
    }
    const int sent = send_prepared(headers.data(), prepared);
    if (sent >= 0) {
      datagram.segments_sent_ = static_cast<uint16_t>(datagram.segments_sent_ + sent);
      continue;
    }
    if (-sent == EAGAIN || -sent == EWOULDBLOCK) return false;
    if (datagram.local) {
      datagram.local.reset();
      continue;
    }
    // The rest go to the same refused destination: the whole slot is dropped.
    ++stats_.send_dropped;
    stats_.send_last_error = -sent;
    ++outcome.dropped;
    break;
  }
  datagram.segments_sent_ = 0;
  return true;
}

SendOutcome UdpSocket::send_batch(DatagramBatch& batch, size_t begin, size_t end) noexcept {
  SLIRPVPN_ASSERT(begin <= end && end <= batch.slots_);
  SendOutcome outcome;
  uint8_t* control_base = reinterpret_cast<uint8_t*>(batch.control_.get());
  size_t next = begin;  // first slot not yet consumed
  while (next < end) {
    Datagram& first = batch.datagrams_[next];
    SLIRPVPN_ASSERT(first.length <= first.capacity);
    SLIRPVPN_ASSERT(first.segment_count() <= kMaxGsoSegments);
    if (first.segment_count() > 1 && !gso_) {
      if (!send_segments_one_by_one(first, outcome)) {
        outcome.would_block = true;
        break;
      }
      ++next;
      continue;
    }

    // A run of slots that each go as one message (headers indexed by slot).
    size_t run_end = next;
    while (run_end < end) {
      Datagram& datagram = batch.datagrams_[run_end];
      const bool coalesced = datagram.segment_count() > 1;
      if (coalesced && !gso_) break;
      SLIRPVPN_ASSERT(datagram.segment_count() <= kMaxGsoSegments);
      if (!prepare_send(datagram, batch.headers_[run_end].msg_hdr, batch.names_[run_end],
                        batch.iovecs_[run_end],
                        control_base + run_end * DatagramBatch::kControlSize, datagram.data,
                        datagram.length, coalesced ? datagram.segment_size : 0)) {
        break;
      }
      ++run_end;
    }
    if (run_end == next) {  // an unreachable family: drop this one
      ++stats_.send_dropped;
      stats_.send_last_error = EAFNOSUPPORT;
      ++outcome.dropped;
      ++next;
      continue;
    }

    const int sent = send_prepared(&batch.headers_[next], run_end - next);
    if (sent >= 0) {
      SLIRPVPN_ASSERT(sent > 0);  // sendmmsg sends at least one message or fails
      next += static_cast<size_t>(sent);
      continue;
    }
    const int error = -sent;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      outcome.would_block = true;
      break;
    }
    Datagram& refused = batch.datagrams_[next];
    if (error == EIO && gso_ && refused.segment_count() > 1) {
      // The device cannot finish the checksums of a GSO send: no GSO from now on.
      gso_ = false;
      ++stats_.gso_disabled;
      continue;
    }
    if (refused.local) {
      refused.local.reset();
      continue;
    }
    ++stats_.send_dropped;
    stats_.send_last_error = error;
    ++outcome.dropped;
    ++next;
  }
  outcome.consumed = next - begin;
  return outcome;
}

}  // namespace slirpvpn::net
