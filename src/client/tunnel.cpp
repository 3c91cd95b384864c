// SPDX-License-Identifier: MIT
// The client's batched data path (see tunnel.h).
#include "client/tunnel.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/endian.h"
#include "net/peer_address.h"
#include "net/tun_offload.h"

namespace slirpvpn::client {

const char* tunnel_drop_name(TunnelDrop drop) noexcept {
  switch (drop) {
    case TunnelDrop::kDestinationNotAllowed:
      return "destination_not_allowed";
    case TunnelDrop::kMalformedTunPacket:
      return "malformed_tun_packet";
    case TunnelDrop::kInnerSourceNotAllowed:
      return "inner_source_not_allowed";
    case TunnelDrop::kTunWriteFull:
      return "tun_write_full";
    case TunnelDrop::kTunWriteError:
      return "tun_write_error";
    case TunnelDrop::kUdpSendBlocked:
      return "udp_send_blocked";
    case TunnelDrop::kNoEndpoint:
      return "no_endpoint";
    case TunnelDrop::kCount:
      break;
  }
  return "unknown";
}

namespace {
// A datagram from an MTU-sized packet: header, padding to 16, tag.
size_t datagram_capacity(uint32_t mtu) {
  return size_t(mtu) + wireguard::kTransportHeaderSize + wireguard::kPaddingMultiple + 16;
}

constexpr size_t kMaxIpPacket = 65535;
// Super-packets per read batch: each is up to 64 KiB, so a few are plenty.
constexpr size_t kOffloadReads = 8;
// The least TCP payload the kernel puts in one segment of a super-packet we can be handed: the
// TUN's MTU is at least 1280, less IPv6 and TCP headers with options.
constexpr size_t kMinSegmentPayload = 1280 - 40 - 60;
}  // namespace

Tunnel::Tunnel(net::EventLoop& loop, net::TunDevice& tun, net::UdpSocket socket,
               const TunnelConfig& config)
    : loop_(loop),
      tun_(tun),
      socket_(std::move(socket)),
      device_(config.private_key, random_, *this, [] { return std::chrono::system_clock::now(); }),
      allowed_ips_(config.allowed_ips),
      // With offloads one read may be a 64 KiB super-packet: fewer, larger slots.
      tun_in_(tun.offload() ? kOffloadReads : kBatch,
              tun.offload() ? net::kVirtioNetHeaderSize + kMaxIpPacket : config.mtu),
      split_(tun.offload() ? kMaxIpPacket / kMinSegmentPayload + 1 : 1, config.mtu),
      // With UDP GSO a slot carries a run of equal-size datagrams to the peer.
      udp_out_(kBatch,
               socket_.gso_enabled() ? net::kMaxDatagramSize : datagram_capacity(config.mtu)),
      // GRO hands up coalesced buffers of up to 64 KiB: the slots must hold that much.
      udp_in_(kBatch, net::kMaxDatagramSize),
      coalesce_buffer_(tun.offload() ? kMaxIpPacket : 0),
      tun_coalescer_(coalesce_buffer_, kMaxIpPacket, /*uniform=*/true),
      control_out_(1, wireguard::Device::kMaxDatagram > net::kMaxDatagramSize
                          ? net::kMaxDatagramSize
                          : wireguard::Device::kMaxDatagram) {
  peer_ = &device_.add_peer(config.peer);
}

Tunnel::~Tunnel() {
  loop_.cancel(timer_);
  loop_.remove(tun_.fd());
  loop_.remove(socket_.fd());
}

Expected<void> Tunnel::start() {
  if (auto added = loop_.add(tun_.fd(), EPOLLIN, this); !added) return added;
  if (auto added = loop_.add(socket_.fd(), EPOLLIN, this); !added) return added;
  device_.initiate_handshake(*peer_, net::Clock::now());
  rearm_timer();
  return {};
}

Expected<void> Tunnel::replace_socket(net::UdpSocket socket) {
  loop_.remove(socket_.fd());
  socket_ = std::move(socket);
  return loop_.add(socket_.fd(), EPOLLIN, this);
}

void Tunnel::set_endpoint(const net::Endpoint& endpoint) noexcept {
  peer_->set_endpoint(net::to_peer_address(endpoint));
}

void Tunnel::set_persistent_keepalive(std::chrono::seconds interval) noexcept {
  device_.set_persistent_keepalive(*peer_, interval, net::Clock::now());
}

void Tunnel::on_io(int fd, uint32_t /*revents*/) noexcept {
  if (fd == tun_.fd()) {
    on_tun_readable();
  } else if (fd == socket_.fd()) {
    on_udp_readable();
  }
}

void Tunnel::on_timer(net::TimePoint now) noexcept {
  timer_ = net::kNoTimer;
  armed_for_ = net::TimePoint::max();
  device_.on_timer(*peer_, now);
  rearm_timer();
}

void Tunnel::rearm_timer() noexcept {
  const auto when = device_.next_expiry(*peer_);
  if (when == armed_for_ && loop_.pending(timer_)) return;
  armed_for_ = when;
  if (when == net::TimePoint::max()) {
    loop_.cancel(timer_);
    timer_ = net::kNoTimer;
    return;
  }
  if (!loop_.reschedule(timer_, when)) timer_ = loop_.schedule(when, this);
}

void Tunnel::on_tun_readable() noexcept {
  // A few rounds per wake-up, so a busy TUN cannot starve the socket.
  for (int round = 0; round < 4; ++round) {
    const auto read = tun_.read_batch(tun_in_, tun_in_.slots());
    if (!read || *read == 0) break;
    counters_.tun_packets_read += *read;
    const auto now = net::Clock::now();
    out_count_ = 0;
    for (size_t i = 0; i < *read; ++i) {
      if (!tun_.offload()) {
        queue_for_peer(tun_in_.packet(i), now);
        continue;
      }
      const auto split = net::split_offloaded_packet(tun_in_.packet(i), split_, 0);
      if (split.drop != net::OffloadDrop::kNone) {
        drop(TunnelDrop::kMalformedTunPacket);
        continue;
      }
      for (size_t k = 0; k < split.count; ++k) queue_for_peer(split_.packet(k), now);
    }
    send_batch(out_count_);
    out_count_ = 0;
    if (*read < tun_in_.slots()) break;
  }
  rearm_timer();
}

void Tunnel::queue_for_peer(std::span<const uint8_t> packet, net::TimePoint now) noexcept {
  const auto addresses = inner_addresses(packet);
  if (!addresses) {
    drop(TunnelDrop::kMalformedTunPacket);
    return;
  }
  if (!allowed_ips_.contains(addresses->destination)) {
    drop(TunnelDrop::kDestinationNotAllowed);
    return;
  }
  if (peer_->endpoint().empty()) {
    drop(TunnelDrop::kNoEndpoint);
    return;
  }
  const net::Endpoint to = net::to_endpoint(peer_->endpoint());
  const size_t datagram = wireguard::transport_datagram_size(packet.size());
  net::Datagram* slot = nullptr;
  if (out_count_ > 0 && socket_.gso_enabled() &&
      net::can_join_gso(udp_out_[out_count_ - 1], to, datagram)) {
    slot = &udp_out_[out_count_ - 1];
  }
  const bool appending = slot != nullptr;
  if (!appending) {
    if (out_count_ == udp_out_.slots()) {
      send_batch(out_count_);
      out_count_ = 0;
    }
    slot = &udp_out_[out_count_];
    slot->reset();
    slot->peer = to;
  }
  const auto result =
      device_.encapsulate(*peer_, packet, slot->buffer().subspan(slot->length), now);
  if (result.length == 0) return;  // staged for the handshake, or counted by the device
  if (appending && slot->segment_size == 0) slot->segment_size = uint16_t(slot->length);
  slot->length += uint32_t(result.length);
  if (!appending) ++out_count_;
}

void Tunnel::send_batch(size_t count) noexcept {
  size_t begin = 0;
  while (begin < count) {
    const auto outcome = socket_.send_batch(udp_out_, begin, count);
    counters_.udp_datagrams_sent += outcome.consumed - outcome.dropped;
    begin += outcome.consumed;
    if (outcome.would_block) {
      counters_.drops[size_t(TunnelDrop::kUdpSendBlocked)] += count - begin;
      return;
    }
    if (outcome.consumed == 0) return;
  }
}

void Tunnel::on_udp_readable() noexcept {
  for (int round = 0; round < 4; ++round) {
    const auto received = socket_.recv_batch(udp_in_);
    if (!received || *received == 0) break;
    const auto now = net::Clock::now();
    for (size_t i = 0; i < *received; ++i) {
      auto& slot = udp_in_[i];
      const auto from = net::to_peer_address(slot.peer);
      const size_t segments = slot.segment_count();
      const size_t step = slot.segment_size == 0 ? slot.length : slot.segment_size;
      for (size_t k = 0; k < segments; ++k) {
        const size_t offset = k * step;
        const size_t length = std::min<size_t>(step, slot.length - offset);
        ++counters_.udp_datagrams_received;
        // Decrypts in place; deliver_packet() sees the plaintext.
        (void)device_.receive(std::span<uint8_t>(slot.data + offset, length), from, now);
      }
    }
    if (*received < udp_in_.slots()) break;
  }
  flush_tun_coalesced();
  rearm_timer();
}

void Tunnel::send_datagram(const wireguard::PeerAddress& to,
                           std::span<const uint8_t> datagram) noexcept {
  auto& slot = control_out_[0];
  slot.reset();
  if (datagram.size() > slot.capacity || to.empty()) {
    drop(TunnelDrop::kNoEndpoint);
    return;
  }
  std::copy(datagram.begin(), datagram.end(), slot.data);
  slot.length = uint32_t(datagram.size());
  slot.peer = net::to_endpoint(to);
  const auto outcome = socket_.send_batch(control_out_, 0, 1);
  if (outcome.would_block) {
    drop(TunnelDrop::kUdpSendBlocked);
  } else if (outcome.consumed > outcome.dropped) {
    ++counters_.udp_datagrams_sent;
  }
}

void Tunnel::deliver_packet(wireguard::Peer& /*peer*/, std::span<uint8_t> packet) noexcept {
  const auto addresses = inner_addresses(packet);
  if (!addresses || !allowed_ips_.contains(addresses->source)) {
    drop(TunnelDrop::kInnerSourceNotAllowed);
    return;
  }
  if (tun_.offload()) {
    // WireGuard pads plaintext to 16 bytes: merge the packet as long as its IP header says.
    const size_t ip_length =
        (packet[0] >> 4) == 4 ? size_t(load_be16(&packet[2])) : size_t(load_be16(&packet[4])) + 40;
    const auto trimmed = std::span<const uint8_t>(packet).first(std::min(ip_length, packet.size()));
    if (net::TcpCoalescer::eligible(trimmed)) {
      switch (tun_coalescer_.add(trimmed)) {
        case net::TcpCoalescer::Added::kMerged:
          return;
        case net::TcpCoalescer::Added::kMergedEnd:
          flush_tun_coalesced();
          return;
        case net::TcpCoalescer::Added::kNotMerged:
          flush_tun_coalesced();
          if (tun_coalescer_.start(trimmed)) return;
          break;
      }
    } else {
      flush_tun_coalesced();  // keeps the order of the flow
    }
  }
  write_to_tun(packet);
}

void Tunnel::flush_tun_coalesced() noexcept {
  if (!tun_coalescer_.pending()) return;
  const size_t segments = tun_coalescer_.pending_segments();
  const size_t segment_payload = tun_coalescer_.first_payload();
  const auto merged = tun_coalescer_.finish();
  if (segments == 1) {
    write_to_tun(merged);
    return;
  }
  std::array<uint8_t, net::kVirtioNetHeaderSize> header{};
  net::prepare_gso_write(std::span<uint8_t>(coalesce_buffer_.data(), merged.size()),
                         segment_payload, header);
  const auto written = tun_.write(header, merged);
  if (!written) {
    drop(TunnelDrop::kTunWriteError);
  } else if (!*written) {
    drop(TunnelDrop::kTunWriteFull);
  } else {
    counters_.tun_packets_written += segments;
  }
}

void Tunnel::write_to_tun(std::span<const uint8_t> packet) noexcept {
  const auto written = tun_.write(packet);
  if (!written) {
    drop(TunnelDrop::kTunWriteError);
  } else if (!*written) {
    drop(TunnelDrop::kTunWriteFull);
  } else {
    ++counters_.tun_packets_written;
  }
}

void Tunnel::on_peer_event(wireguard::Peer& /*peer*/, wireguard::PeerEvent event) noexcept {
  if (event == wireguard::PeerEvent::kHandshakeComplete) {
    const bool first = !handshake_seen_;
    handshake_seen_ = true;
    if (on_handshake) on_handshake(first);
  } else if (event == wireguard::PeerEvent::kSessionExpired) {
    spdlog::debug("session expired");
  }
}

void Tunnel::on_timers_changed(wireguard::Peer& /*peer*/) noexcept {
  rearm_timer();
}

std::string Tunnel::counters_text() const {
  const auto& stats = peer_->stats();
  std::string text;
  text += "rx_bytes " + std::to_string(stats.rx_bytes) + "\n";
  text += "tx_bytes " + std::to_string(stats.tx_bytes) + "\n";
  text += "rx_packets " + std::to_string(stats.rx_packets) + "\n";
  text += "tx_packets " + std::to_string(stats.tx_packets) + "\n";
  text += "handshakes " + std::to_string(stats.handshakes_completed) + "\n";
  text += "tun_packets_read " + std::to_string(counters_.tun_packets_read) + "\n";
  text += "tun_packets_written " + std::to_string(counters_.tun_packets_written) + "\n";
  text += "udp_datagrams_sent " + std::to_string(counters_.udp_datagrams_sent) + "\n";
  text += "udp_datagrams_received " + std::to_string(counters_.udp_datagrams_received) + "\n";
  for (size_t i = 0; i < size_t(TunnelDrop::kCount); ++i) {
    text += std::string("drop ") + tunnel_drop_name(TunnelDrop(i)) + " " +
            std::to_string(counters_.drops[i]) + "\n";
  }
  const auto& drops = device_.drops();
  for (size_t i = 1; i < size_t(wireguard::DropReason::kCount); ++i) {
    text += std::string("drop ") + wireguard::drop_reason_name(wireguard::DropReason(i)) + " " +
            std::to_string(drops.counts[i]) + "\n";
  }
  const auto& udp = socket_.stats();
  text += "drop udp_received_truncated " + std::to_string(udp.received_truncated) + "\n";
  text += "drop udp_send_refused " + std::to_string(udp.send_dropped) + "\n";
  return text;
}

}  // namespace slirpvpn::client
