// SPDX-License-Identifier: MIT
// The client's data path: TUN packets ⇄ WireGuard ⇄ UDP datagrams, in batches, on one event
// loop.
//
// Theory of operation
//   TUN → UDP (on_tun_readable): read up to kBatch packets into a PacketBatch, encapsulate each
//   straight into a slot of the outgoing DatagramBatch, send the batch with one sendmmsg.
//   A packet whose destination is outside AllowedIPs is dropped (the routes should not have
//   sent it). With no session yet the device stages the packet and starts a handshake.
//   UDP → TUN (on_udp_readable): recvmmsg into a DatagramBatch (GRO on: a slot may hold
//   several datagrams), decrypt each in place (Device::receive), and deliver_packet() writes
//   the packet to the TUN if its source is inside AllowedIPs.
//   Timers: one event-loop timer per peer, re-armed at Device::next_expiry(peer) after every
//   batch and every expiry; it drives handshake retries, keepalives and rekeying, which is how
//   the client finds its way back after a server restart.
//
//   Buffers are allocated once by the constructor; the per-packet path allocates nothing. The
//   two directions use separate batches and counters so they can move to two threads; the
//   Device is shared between them and is not thread-safe, which is what stops that today.
//
//   Left out on purpose (later issues): waiting for EPOLLOUT when the socket buffer is full
//   (the rest of the batch is dropped and counted: UDP is lossy anyway); TUN offloads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "client/allowed_ips.h"
#include "net/event_loop.h"
#include "net/packet_batch.h"
#include "net/system_random.h"
#include "net/tcp_coalescer.h"
#include "net/tun_device.h"
#include "net/udp_socket.h"
#include "wireguard/device.h"

namespace slirpvpn::client {

// What the data path dropped itself (the device counts protocol drops).
enum class TunnelDrop : uint8_t {
  kDestinationNotAllowed,  // a TUN packet to an address outside AllowedIPs
  kMalformedTunPacket,     // a TUN read that is not an IPv4/IPv6 packet
  kInnerSourceNotAllowed,  // a decrypted packet whose source is outside AllowedIPs
  kTunWriteFull,           // the TUN queue was full
  kTunWriteError,          // the kernel refused a packet
  kUdpSendBlocked,         // the socket buffer was full
  kNoEndpoint,             // nothing to send to (endpoint unknown)
  kCount
};
const char* tunnel_drop_name(TunnelDrop drop) noexcept;

struct TunnelCounters {
  uint64_t tun_packets_read = 0;
  uint64_t tun_packets_written = 0;
  uint64_t udp_datagrams_sent = 0;
  uint64_t udp_datagrams_received = 0;
  std::array<uint64_t, size_t(TunnelDrop::kCount)> drops{};
};

struct TunnelConfig {
  crypto::PrivateKey private_key;
  wireguard::PeerConfig peer;
  std::vector<net::IpPrefix> allowed_ips;
  uint32_t mtu = 1420;
};

class Tunnel final : public wireguard::DeviceOutput,
                     public net::IoHandler,
                     public net::TimerHandler {
 public:
  // Packets per batch: enough to amortise the syscalls, small enough for the cache.
  static constexpr size_t kBatch = 64;

  // `loop`, `tun` must outlive the tunnel; the socket is owned (see replace_socket).
  Tunnel(net::EventLoop& loop, net::TunDevice& tun, net::UdpSocket socket,
         const TunnelConfig& config);
  ~Tunnel() override;
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // Registers the TUN and the socket with the loop and starts the first handshake.
  Expected<void> start();
  // Swaps in a new socket (after the host's addresses or routes changed): the old one is
  // unregistered and closed.
  Expected<void> replace_socket(net::UdpSocket socket);
  // A new endpoint (re-resolved name).
  void set_endpoint(const net::Endpoint& endpoint) noexcept;
  void set_persistent_keepalive(std::chrono::seconds interval) noexcept;

  wireguard::Peer& peer() noexcept { return *peer_; }
  const wireguard::Device& device() const noexcept { return device_; }
  const TunnelCounters& counters() const noexcept { return counters_; }
  const net::UdpSocket& socket() const noexcept { return socket_; }
  // Counters in one line per kind, for SIGUSR1.
  std::string counters_text() const;

  // Callback on every completed handshake (first = true for the first one).
  std::function<void(bool first)> on_handshake;

  // DeviceOutput
  void send_datagram(const wireguard::PeerAddress& to,
                     std::span<const uint8_t> datagram) noexcept override;
  void deliver_packet(wireguard::Peer& peer, std::span<uint8_t> packet) noexcept override;
  void on_peer_event(wireguard::Peer& peer, wireguard::PeerEvent event) noexcept override;
  void on_timers_changed(wireguard::Peer& peer) noexcept override;
  // IoHandler
  void on_io(int fd, uint32_t revents) noexcept override;
  // TimerHandler
  void on_timer(net::TimePoint now) noexcept override;

 private:
  void on_tun_readable() noexcept;
  void on_udp_readable() noexcept;
  // Encrypts one packet read from the TUN into udp_out_ (joining the previous slot as a GSO
  // segment when it can), sending the batch first when it is full.
  void queue_for_peer(std::span<const uint8_t> packet, net::TimePoint now) noexcept;
  void send_batch(size_t count) noexcept;
  // Writes one packet to the TUN, counting the outcome.
  void write_to_tun(std::span<const uint8_t> packet) noexcept;
  // Writes the TCP segments merged from this receive batch as one offloaded super-packet.
  void flush_tun_coalesced() noexcept;
  void rearm_timer() noexcept;
  void drop(TunnelDrop reason) noexcept { ++counters_.drops[size_t(reason)]; }

  net::EventLoop& loop_;
  net::TunDevice& tun_;
  net::UdpSocket socket_;
  net::SystemRandom random_;
  wireguard::Device device_;
  wireguard::Peer* peer_ = nullptr;
  AllowedIps allowed_ips_;
  net::PacketBatch tun_in_;  // raw reads: plain packets, or virtio header + super-packet
  net::PacketBatch split_;   // one super-packet cut into MTU-size packets (offload only)
  net::DatagramBatch udp_out_;
  size_t out_count_ = 0;  // slots of udp_out_ filled
  net::DatagramBatch udp_in_;
  // Decrypted TCP segments of one flow, merged for one TUN write (offload only).
  std::vector<uint8_t> coalesce_buffer_;
  net::TcpCoalescer tun_coalescer_;
  net::DatagramBatch control_out_;  // handshakes, keepalives, staged packets
  net::TimerId timer_ = net::kNoTimer;
  net::TimePoint armed_for_ = net::TimePoint::max();
  bool handshake_seen_ = false;
  TunnelCounters counters_;
};

}  // namespace slirpvpn::client
