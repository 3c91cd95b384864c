// SPDX-License-Identifier: MIT
// libslirp 4.7 instance per peer: callbacks, epoll/timer synchronisation, filtering, framing.
#include "slirp/slirp_session.h"

#include <slirp/libslirp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/assert.h"
#include "net/tun_offload.h"

namespace slirpvpn::slirp {
namespace {

using namespace std::chrono_literals;

// slirp_pollfds_fill caps its timeout at 1000 ms and lowers it to 499 ms (TIMEOUT_SLOW) or
// 2 ms (TIMEOUT_FAST) when it has TCP/fragment/UDP-expiry work (src/slirp.c,
// slirp_update_timeout). Asking with this value, an answer of 1000 means "nothing timed".
constexpr uint32_t kIdleTimeoutMs = 1000;

// libslirp's own limits for if_mtu/if_mru (src/slirp.c: 68..65521).
constexpr std::size_t kMinMtu = 68;
constexpr std::size_t kMaxMtu = 65521;
constexpr std::size_t kMaxIpPacket = 65535;

// Refusal replies: a burst, then a steady rate, per peer (a refused flow retries a few times
// per second; this keeps a scanning client from making us a reflector).
constexpr double kRefusalBurst = 50;
constexpr double kRefusalPerSecond = 100;

// New-flow token bucket: a burst of this many seconds' worth of the rate (a browser opening a
// page with many hosts at once).
constexpr double kFlowBurstSeconds = 2;
// RateLimit: a burst of 2 ms at the rate may leave back to back after an idle spell (the loop
// wakes at millisecond steps); past it packets wait up to 50 ms, enough to pace a TCP window,
// short enough not to hide the rate from the sender. The queue's slots hold 50 ms of packets
// of kRateQueueMeanPacket bytes (full-size ones are bounded by the time first).
constexpr double kRateBurstSeconds = 0.002;
constexpr double kRateQueueSeconds = 0.05;
constexpr double kRateQueueMeanPacket = 1000;
constexpr std::size_t kRateQueueMaxPackets = 4096;
// A peer at a limit refuses flows continually: one log line per reason per this interval.
constexpr auto kRefusalLogInterval = std::chrono::seconds(10);

uint32_t to_epoll(int slirp_events) {
  uint32_t events = 0;
  if (slirp_events & SLIRP_POLL_IN) events |= EPOLLIN;
  if (slirp_events & SLIRP_POLL_OUT) events |= EPOLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) events |= EPOLLPRI;
  return events;  // EPOLLERR and EPOLLHUP are always reported
}

int to_slirp(uint32_t revents) {
  int events = 0;
  if (revents & EPOLLIN) events |= SLIRP_POLL_IN;
  if (revents & EPOLLOUT) events |= SLIRP_POLL_OUT;
  if (revents & EPOLLPRI) events |= SLIRP_POLL_PRI;
  if (revents & EPOLLERR) events |= SLIRP_POLL_ERR;
  if (revents & EPOLLHUP) events |= SLIRP_POLL_HUP;
  return events;
}

in_addr to_in_addr(const net::IpAddress& address) {
  in_addr out{};
  std::memcpy(&out, address.bytes().data(), 4);
  return out;
}

in6_addr to_in6_addr(const net::IpAddress& address) {
  in6_addr out{};
  std::memcpy(&out, address.bytes().data(), 16);
  return out;
}

// Slots for the pieces of one 64 KiB packet cut to `mtu`: the smallest TCP payload per segment
// is the MTU less an IPv6 header and a TCP header with 40 bytes of options.
std::size_t cut_slots(std::size_t mtu) {
  const std::size_t least = mtu > 100 + 8 ? mtu - 100 : 8;
  return kMaxIpPacket / least + 1;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(net::Clock::now().time_since_epoch())
      .count();
}

}  // namespace

// slirp's timers, in slirp's millisecond time base (clock_get_ns / 1e6).
struct SlirpSession::SlirpTimer {
  SlirpTimerId id;
  void* cb_opaque;
  int64_t expire_ms = -1;  // -1: not armed
};

// The C callbacks; each one forwards to the session given as opaque.
struct SlirpCallbacks {
  static SlirpSession* self(void* opaque) { return static_cast<SlirpSession*>(opaque); }

  static ssize_t send_packet(const void* buffer, size_t length, void* opaque) {
    self(opaque)->on_frame(std::span(static_cast<const uint8_t*>(buffer), length));
    // Always "sent": a short count only makes slirp log; a drop is recovered by TCP.
    return ssize_t(length);
  }
  static void guest_error(const char*, void* opaque) { ++self(opaque)->counters_.guest_errors; }
  static int64_t clock_get_ns(void*) { return now_ns(); }
  static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<SlirpSession::SlirpTimer>();
    timer->id = id;
    timer->cb_opaque = cb_opaque;
    void* handle = timer.get();
    self(opaque)->slirp_timers_.push_back(std::move(timer));
    return handle;
  }
  static void timer_free(void* timer, void* opaque) {
    auto& timers = self(opaque)->slirp_timers_;
    std::erase_if(timers, [timer](const auto& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void* opaque) {
    static_cast<SlirpSession::SlirpTimer*>(timer)->expire_ms = expire_ms;
    // Re-armed by the fill that follows every slirp call; outside one, do it now.
    if (!self(opaque)->in_slirp_) self(opaque)->request_service();
  }
  static void register_poll_fd(int fd, void* opaque) { self(opaque)->on_register_fd(fd); }
  static void unregister_poll_fd(int fd, void* opaque) { self(opaque)->on_unregister_fd(fd); }
  static void notify(void* opaque) { self(opaque)->request_service(); }
  static int add_poll(int fd, int events, void* opaque) {
    return self(opaque)->on_add_poll(fd, events);
  }
  static int get_revents(int index, void* opaque) { return self(opaque)->on_get_revents(index); }

  static const SlirpCb kTable;
};

const SlirpCb SlirpCallbacks::kTable = {
    .send_packet = &SlirpCallbacks::send_packet,
    .guest_error = &SlirpCallbacks::guest_error,
    .clock_get_ns = &SlirpCallbacks::clock_get_ns,
    .timer_new = nullptr,
    .timer_free = &SlirpCallbacks::timer_free,
    .timer_mod = &SlirpCallbacks::timer_mod,
    .register_poll_fd = &SlirpCallbacks::register_poll_fd,
    .unregister_poll_fd = &SlirpCallbacks::unregister_poll_fd,
    .notify = &SlirpCallbacks::notify,
    .init_completed = nullptr,
    .timer_new_opaque = &SlirpCallbacks::timer_new_opaque,
};

SessionCounters& operator+=(SessionCounters& total, const SessionCounters& other) noexcept {
  const auto add_array = [](auto& to, const auto& from) {
    for (std::size_t i = 0; i < to.size(); ++i) to[i] += from[i];
  };
  total.packets_in += other.packets_in;
  total.packets_out += other.packets_out;
  add_array(total.ip_drops, other.ip_drops);
  add_array(total.frame_drops, other.frame_drops);
  add_array(total.refused, other.refused);
  total.ipv6_disabled += other.ipv6_disabled;
  total.echo_refused += other.echo_refused;
  total.rst_sent += other.rst_sent;
  total.icmp_prohibited_sent += other.icmp_prohibited_sent;
  total.refusals_rate_limited += other.refusals_rate_limited;
  total.mss_clamped_in += other.mss_clamped_in;
  total.mss_clamped_out += other.mss_clamped_out;
  total.coalesced_in += other.coalesced_in;
  total.mss_raised_in += other.mss_raised_in;
  total.segmented_out += other.segmented_out;
  total.fragmented_out += other.fragmented_out;
  total.oversize_dropped += other.oversize_dropped;
  total.out_malformed += other.out_malformed;
  total.neighbor_replies += other.neighbor_replies;
  total.reply_queue_full += other.reply_queue_full;
  total.guest_errors += other.guest_errors;
  total.polls += other.polls;
  add_array(total.flows_refused, other.flows_refused);
  total.flows_opened += other.flows_opened;
  total.flow_not_opened += other.flow_not_opened;
  total.rate_delayed_in += other.rate_delayed_in;
  total.rate_delayed_out += other.rate_delayed_out;
  total.rate_limited_in += other.rate_limited_in;
  total.rate_limited_out += other.rate_limited_out;
  return total;
}

const char* flow_refusal_name(FlowRefusal reason) noexcept {
  switch (reason) {
    case FlowRefusal::kFdReserve:
      return "fd_reserve";
    case FlowRefusal::kHostSockets:
      return "host_sockets";
    case FlowRefusal::kTcpFlows:
      return "tcp_flows";
    case FlowRefusal::kUdpFlows:
      return "udp_flows";
    case FlowRefusal::kNewFlowRate:
      return "new_flow_rate";
    case FlowRefusal::kCount:
      break;
  }
  return "?";
}

std::size_t SlirpSession::FlowKeyHash::operator()(const FlowKey& key) const noexcept {
  // FNV-1a over the key's fields: cheap, and the keys come from one peer's own flows.
  uint64_t hash = 1469598103934665603ull;
  const auto mix = [&hash](uint8_t byte) {
    hash ^= byte;
    hash *= 1099511628211ull;
  };
  for (uint8_t byte : key.source) mix(byte);
  for (uint8_t byte : key.destination) mix(byte);
  mix(uint8_t(key.source_port >> 8));
  mix(uint8_t(key.source_port));
  mix(uint8_t(key.destination_port >> 8));
  mix(uint8_t(key.destination_port));
  mix(key.protocol);
  return std::size_t(hash);
}

bool ping_sockets_available() noexcept {
  static const bool available = [] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) return false;
    close(fd);
    return true;
  }();
  return available;
}

SlirpSession::SlirpSession(const SessionConfig& config, net::EventLoop& loop, PacketSink& sink)
    : config_([&] {
        SessionConfig effective = config;
        if (effective.slirp_mtu == 0) effective.slirp_mtu = effective.mtu;
        return effective;
      }()),
      loop_(loop),
      sink_(sink),
      policy_([&] {
        EgressPolicyConfig egress = config.egress;
        egress.virtual_services.insert(egress.virtual_services.end(),
                                       {config.gateway, config.dns, config.gateway6, config.dns6});
        return egress;
      }()),
      frame_buffer_(kEthernetHeaderSize + kMaxIpPacket),
      coalescer_(std::span(frame_buffer_).subspan(kEthernetHeaderSize), kMaxIpPacket),
      cut_batch_(cut_slots(config.mtu), config.mtu),
      refusal_tokens_(kRefusalBurst) {
  std::copy_n(config.client.bytes().begin(), 4, guest_.ipv4.begin());
  std::copy_n(config.client6.bytes().begin(), 16, guest_.ipv6.begin());
  max_mss_v4_ = max_mss_for_mtu(config.mtu, 4);
  max_mss_v6_ = max_mss_for_mtu(config.mtu, 6);
  slirp_mss_v4_ = max_mss_for_mtu(config_.slirp_mtu, 4);
  slirp_mss_v6_ = max_mss_for_mtu(config_.slirp_mtu, 6);
  switch (config.icmp_echo) {
    case IcmpEchoMode::kDetect:
      echo_via_slirp_ = ping_sockets_available();
      break;
    case IcmpEchoMode::kSlirp:
      echo_via_slirp_ = true;
      break;
    case IcmpEchoMode::kRefuse:
      echo_via_slirp_ = false;
      break;
  }
  out_buffer_.resize(net::kVirtioNetHeaderSize + kMaxIpPacket);
  refusal_buffer_.resize(kIcmpErrorMaxSize);
  wanted_.reserve(64);
  registered_.reserve(64);
  refusal_refill_ = loop.now();
  flow_tokens_ = kFlowBurstSeconds * config.limits.max_new_flows_per_second;
  flow_refill_ = loop.now();
  reset_shapers();
  host_socket_fds_.reserve(64);
  flow_keys_.reserve(64);
}

Expected<std::unique_ptr<SlirpSession>> SlirpSession::create(const SessionConfig& config,
                                                             net::EventLoop& loop,
                                                             PacketSink& sink) {
  if (config.mtu < kMinMtu || config.mtu > kMaxMtu) {
    return fail("slirp session", "MTU " + std::to_string(config.mtu) + " outside 68..65521");
  }
  if (config.slirp_mtu != 0 && (config.slirp_mtu < config.mtu || config.slirp_mtu > kMaxMtu)) {
    return fail("slirp session", "slirp link MTU " + std::to_string(config.slirp_mtu) +
                                     " outside " + std::to_string(config.mtu) + "..65521");
  }
  if (!config.network.is_v4() || !config.gateway.is_v4() || !config.dns.is_v4() ||
      !config.client.is_v4() || config.network_length > 32) {
    return fail("slirp session", "IPv4 network, gateway, DNS and client must be IPv4");
  }
  if (!config.prefix6.is_v6() || !config.gateway6.is_v6() || !config.dns6.is_v6() ||
      !config.client6.is_v6() || config.prefix6_length > 128) {
    return fail("slirp session", "IPv6 prefix, gateway, DNS and client must be IPv6");
  }
  std::unique_ptr<SlirpSession> session(new SlirpSession(config, loop, sink));

  SlirpConfig slirp_config{};
  slirp_config.version = 4;
  slirp_config.restricted = 0;
  slirp_config.in_enabled = true;
  slirp_config.vnetwork = to_in_addr(config.network);
  uint32_t mask = config.network_length == 0 ? 0 : ~uint32_t(0) << (32 - config.network_length);
  slirp_config.vnetmask.s_addr = htonl(mask);
  slirp_config.vhost = to_in_addr(config.gateway);
  slirp_config.in6_enabled = config.ipv6_enabled;
  slirp_config.vprefix_addr6 = to_in6_addr(config.prefix6);
  slirp_config.vprefix_len = config.prefix6_length;
  slirp_config.vhost6 = to_in6_addr(config.gateway6);
  slirp_config.vdhcp_start = to_in_addr(config.client);
  slirp_config.vnameserver = to_in_addr(config.dns);
  slirp_config.vnameserver6 = to_in6_addr(config.dns6);
  slirp_config.if_mtu = session->config_.slirp_mtu;
  slirp_config.if_mru = session->config_.slirp_mtu;
  slirp_config.disable_host_loopback = config.disable_host_loopback;
  slirp_config.enable_emu = false;
  slirp_config.disable_dns = false;
  slirp_config.disable_dhcp = true;

  session->in_slirp_ = true;
  session->slirp_ = slirp_new(&slirp_config, &SlirpCallbacks::kTable, session.get());
  session->in_slirp_ = false;
  if (session->slirp_ == nullptr) return fail("slirp_new", "libslirp refused the configuration");
  // slirp reads its clock only in slirp_pollfds_poll (curtime, src/slirp.c). Until then it is
  // 0, and a UDP socket opened by the first packet would get an expiry "240 s after boot",
  // which the next fill sees as long past and closes the socket. One empty poll sets it.
  session->in_slirp_ = true;
  slirp_pollfds_poll(session->slirp_, 0, &SlirpCallbacks::get_revents, session.get());
  session->in_slirp_ = false;

  for (const PortForward& forward : config.port_forwards) {
    if (!forward.host_address.is_v4()) {
      return fail("slirp_add_hostfwd", "port forwards take an IPv4 host address");
    }
    if (slirp_add_hostfwd(session->slirp_, forward.udp ? 1 : 0, to_in_addr(forward.host_address),
                          forward.host_port, to_in_addr(config.client), forward.guest_port) < 0) {
      return fail("slirp_add_hostfwd",
                  std::string(forward.udp ? "udp " : "tcp ") + forward.host_address.to_string() +
                      ":" + std::to_string(forward.host_port),
                  errno);
    }
  }

  // Seed slirp's neighbour tables so its first packet to the client needs no resolution.
  std::array<uint8_t, kNeighborAdvertisementFrameSize> seed{};
  std::size_t size = build_gratuitous_arp(session->guest_, seed);
  session->slirp_input_frame(std::span(seed.data(), size));
  if (config.ipv6_enabled) {
    size = build_unsolicited_neighbor_advertisement(session->guest_, seed);
    session->slirp_input_frame(std::span(seed.data(), size));
  }
  session->fill_and_sync(net::Clock::now());
  return session;
}

SlirpSession::~SlirpSession() {
  if (slirp_ != nullptr) {
    in_slirp_ = true;
    slirp_cleanup(slirp_);  // closes its sockets, calling unregister_poll_fd for most
  }
  if (config_.fd_budget != nullptr) config_.fd_budget->slirp_sockets -= host_socket_fds_.size();
  for (const auto& [fd, registration] : registered_) {
    if (loop_.handler_of(fd) == this) loop_.remove(fd);
  }
  loop_.cancel(timer_);
}

// ---- from the tunnel -------------------------------------------------------------------------

bool SlirpSession::is_virtual_service(const net::IpAddress& address) const noexcept {
  return address == config_.gateway || address == config_.dns || address == config_.gateway6 ||
         address == config_.dns6;
}

void SlirpSession::input_ip_packet(std::span<const uint8_t> packet) noexcept {
  SLIRPVPN_ASSERT(!in_slirp_);  // a sink must not feed packets back from deliver_ip
  if (pass_shaper(shape_in_, packet, counters_.rate_delayed_in, counters_.rate_limited_in)) {
    accept_ip_packet(packet);
  }
}

void SlirpSession::accept_ip_packet(std::span<const uint8_t> packet) noexcept {
  IpInfo info;
  IpDrop drop = parse_ip(packet, info);
  if (drop != IpDrop::kNone) {
    ++counters_.ip_drops[std::size_t(drop)];
    return;
  }
  if (info.version == 6 && !config_.ipv6_enabled) {
    ++counters_.ipv6_disabled;
    return;
  }
  std::optional<uint16_t> port;
  if (info.has_ports) port = info.destination_port;
  EgressVerdict verdict = policy_.check(info.destination, info.protocol, port);
  if (verdict != EgressVerdict::kAllow) {
    ++counters_.refused[std::size_t(verdict)];
    refuse(info);
    return;
  }
  // Echo requests slirp cannot carry: IPv4 without a ping socket (slirp would fall back to raw
  // sockets or UDP port 7), IPv6 to anything but slirp's own addresses (slirp logs g_critical).
  if (!info.non_first_fragment && !is_virtual_service(info.destination) &&
      ((info.version == 4 && info.protocol == kProtocolIcmp && info.icmp_type == 8 &&
        !echo_via_slirp_) ||
       (info.version == 6 && info.protocol == kProtocolIcmpv6 && info.icmp_type == 128))) {
    ++counters_.echo_refused;
    refuse(info);
    return;
  }
  PendingFlow pending;
  if (!admit_flow(info, pending)) return;

  ++counters_.packets_in;
  if (net::TcpCoalescer::eligible(info.packet)) {
    switch (coalescer_.add(info.packet)) {
      case net::TcpCoalescer::Added::kMerged:
        ++counters_.coalesced_in;
        return;
      case net::TcpCoalescer::Added::kMergedEnd:
        ++counters_.coalesced_in;
        flush_input();
        return;
      case net::TcpCoalescer::Added::kNotMerged:
        flush_input();
        if (coalescer_.start(info.packet)) return;
        break;  // a wrong checksum: slirp gets it alone, and drops it
    }
  } else {
    flush_input();  // keeps the flow's order
  }

  std::span<uint8_t> frame(frame_buffer_.data(), kEthernetHeaderSize + info.packet.size());
  std::memcpy(frame.data() + kEthernetHeaderSize, info.packet.data(), info.packet.size());
  const std::span<uint8_t> inner = frame.subspan(kEthernetHeaderSize);
  const uint16_t tunnel_mss = info.version == 4 ? max_mss_v4_ : max_mss_v6_;
  if (clamp_mss(inner, info, tunnel_mss)) ++counters_.mss_clamped_in;
  // A peer that takes full tunnel-size segments gets slirp's large ones, cut up on the way out.
  if (raise_mss(inner, info, tunnel_mss, info.version == 4 ? slirp_mss_v4_ : slirp_mss_v6_)) {
    ++counters_.mss_raised_in;
  }
  write_ethernet_header(frame, kGatewayMac, guest_.mac,
                        info.version == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
  pending_flow_ = pending;
  slirp_input_frame(frame);
  // (Without host loopback slirp refuses the gateway itself, opening nothing: not counted.)
  const bool gateway = info.destination == config_.gateway || info.destination == config_.gateway6;
  if (pending_flow_.active && !pending_flow_.opened &&
      !(gateway && config_.disable_host_loopback)) {
    ++counters_.flow_not_opened;  // socket()/connect() failed (e.g. EMFILE): slirp answered
  }
  pending_flow_.active = false;
  // slirp may have opened a socket or queued a delayed ACK: poll it after this loop pass.
  request_service();
}

void SlirpSession::flush_input() noexcept {
  if (!coalescer_.pending()) return;
  SLIRPVPN_ASSERT(!in_slirp_);
  const std::span<const uint8_t> packet = coalescer_.finish();
  std::span<uint8_t> frame(frame_buffer_.data(), kEthernetHeaderSize + packet.size());
  write_ethernet_header(frame, kGatewayMac, guest_.mac,
                        (packet[0] >> 4) == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
  slirp_input_frame(frame);
  request_service();
}

void SlirpSession::slirp_input_frame(std::span<const uint8_t> frame) noexcept {
  in_slirp_ = true;
  slirp_input(slirp_, frame.data(), int(frame.size()));
  in_slirp_ = false;
  flush_replies();
}

bool SlirpSession::take_refusal_token() noexcept {
  net::TimePoint now = loop_.now();
  if (now > refusal_refill_) {
    double seconds = std::chrono::duration<double>(now - refusal_refill_).count();
    refusal_tokens_ = std::min(kRefusalBurst, refusal_tokens_ + seconds * kRefusalPerSecond);
    refusal_refill_ = now;
  }
  if (refusal_tokens_ < 1) return false;
  refusal_tokens_ -= 1;
  return true;
}

void SlirpSession::refuse(const IpInfo& info) noexcept {
  if (info.protocol == kProtocolTcp && !info.non_first_fragment) {
    if (info.tcp_flags & kTcpRst) return;
    // A SYN is answered at once so the client's connect() fails fast; other segments (a
    // flow already refused) go through the rate limit.
    bool syn = (info.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
    if (!syn && !take_refusal_token()) {
      ++counters_.refusals_rate_limited;
      return;
    }
    std::size_t size = build_tcp_rst(info, refusal_buffer_);
    if (size > 0) {
      ++counters_.rst_sent;
      deliver(std::span(refusal_buffer_.data(), size));
    }
    return;
  }
  if (is_icmp_error(info) || info.non_first_fragment) return;
  if (!take_refusal_token()) {
    ++counters_.refusals_rate_limited;
    return;
  }
  const net::IpAddress& from = info.version == 4 ? config_.gateway : config_.gateway6;
  std::size_t size = build_icmp_prohibited(info, from, refusal_buffer_);
  if (size > 0) {
    ++counters_.icmp_prohibited_sent;
    deliver(std::span(refusal_buffer_.data(), size));
  }
}

bool SlirpSession::admit_flow(const IpInfo& info, PendingFlow& pending) noexcept {
  pending = PendingFlow{};
  if (info.non_first_fragment) return true;
  FlowKey key;
  bool keyed = true;
  FlowKind kind = FlowKind::kDatagram;
  if (info.protocol == kProtocolTcp && info.has_ports) {
    if ((info.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) != kTcpSyn) return true;
    kind = FlowKind::kTcp;
    std::copy(info.destination.bytes().begin(), info.destination.bytes().end(),
              key.destination.begin());
    key.destination_port = info.destination_port;
  } else if (info.protocol == kProtocolUdp && info.has_ports) {
    // slirp finds a UDP socket by the peer's source address and port alone (udp_input).
    // A UDP ForwardPort's replies go out through its listening socket: not a new flow.
    for (const PortForward& forward : config_.port_forwards) {
      if (forward.udp && forward.guest_port == info.source_port) return true;
    }
  } else if (info.version == 4 && info.protocol == kProtocolIcmp && info.icmp_type == 8 &&
             !is_virtual_service(info.destination)) {
    keyed = false;  // icmp_input opens a socket per echo request
  } else {
    return true;
  }
  if (keyed) {
    std::copy(info.source.bytes().begin(), info.source.bytes().end(), key.source.begin());
    key.source_port = info.source_port;
    key.protocol = info.protocol;
    if (flow_keys_.contains(key)) return true;  // slirp has its socket: not a new flow
  }

  const FlowLimits& limits = config_.limits;
  FlowRefusal reason = FlowRefusal::kCount;
  if (config_.fd_budget != nullptr && config_.fd_budget->exhausted()) {
    reason = FlowRefusal::kFdReserve;
  } else if (limits.max_host_sockets != 0 && host_sockets_.total() >= limits.max_host_sockets) {
    reason = FlowRefusal::kHostSockets;
  } else if (kind == FlowKind::kTcp && limits.max_tcp_flows != 0 &&
             host_sockets_.tcp >= limits.max_tcp_flows) {
    reason = FlowRefusal::kTcpFlows;
  } else if (kind == FlowKind::kDatagram && limits.max_udp_flows != 0 &&
             host_sockets_.udp >= limits.max_udp_flows) {
    reason = FlowRefusal::kUdpFlows;
  } else if (!take_flow_token()) {
    reason = FlowRefusal::kNewFlowRate;
  }
  if (reason != FlowRefusal::kCount) {
    ++counters_.flows_refused[std::size_t(reason)];
    note_refusal(reason);
    refuse(info);
    return false;
  }
  pending.active = true;
  pending.keyed = keyed;
  pending.kind = kind;
  pending.key = key;
  return true;
}

void SlirpSession::set_limits(const FlowLimits& limits) noexcept {
  const bool rate_changed =
      limits.rate_limit_bits_per_second != config_.limits.rate_limit_bits_per_second;
  config_.limits = limits;
  flow_tokens_ = std::min(flow_tokens_, kFlowBurstSeconds * limits.max_new_flows_per_second);
  if (rate_changed) reset_shapers();
}

void SlirpSession::reset_shapers() noexcept {
  // What waits under the old rate leaves now rather than being lost.
  shape_in_.release(net::TimePoint::max(),
                    [&](std::span<const uint8_t> packet) { accept_ip_packet(packet); });
  flush_input();
  shape_out_.release(net::TimePoint::max(),
                     [&](std::span<const uint8_t> packet) { sink_.deliver_ip(packet); });
  const uint64_t bytes_per_second = config_.limits.rate_limit_bits_per_second / 8;
  if (bytes_per_second == 0) {
    shape_in_ = net::Shaper();
    shape_out_ = net::Shaper();
    return;
  }
  // A packet may carry up to 15 bytes of WireGuard padding past the IP packet; a larger one (a
  // peer that ignores its MTU) passes only when the rate lets it leave at once.
  const std::size_t slot_bytes = config_.mtu + 16;
  const uint64_t burst =
      std::max<uint64_t>(2 * slot_bytes, uint64_t(double(bytes_per_second) * kRateBurstSeconds));
  const std::size_t capacity = std::clamp<std::size_t>(
      std::size_t(double(bytes_per_second) * kRateQueueSeconds / kRateQueueMeanPacket), 16,
      kRateQueueMaxPackets);
  const auto max_wait =
      std::chrono::duration_cast<net::Nanos>(std::chrono::duration<double>(kRateQueueSeconds));
  shape_in_ = net::Shaper(bytes_per_second, burst, max_wait, capacity, slot_bytes);
  shape_out_ = net::Shaper(bytes_per_second, burst, max_wait, capacity, slot_bytes);
}

bool SlirpSession::pass_shaper(net::Shaper& shaper, std::span<const uint8_t> packet,
                               uint64_t& delayed, uint64_t& dropped) noexcept {
  switch (shaper.offer(packet, loop_.now())) {
    case net::Shaper::Verdict::kSend:
      return true;
    case net::Shaper::Verdict::kQueued:
      ++delayed;
      arm_for_shapers();
      return false;
    case net::Shaper::Verdict::kDropped:
      ++dropped;
      return false;
  }
  return false;
}

void SlirpSession::arm_for_shapers() noexcept {
  const net::TimePoint when = std::min(shape_in_.next_release(), shape_out_.next_release());
  if (when == net::TimePoint::max()) return;
  if (timer_ != net::kNoTimer && loop_.pending(timer_) && timer_when_ <= when) return;
  arm(when);
}

bool SlirpSession::take_flow_token() noexcept {
  const double rate = config_.limits.max_new_flows_per_second;
  if (rate == 0) return true;
  const net::TimePoint now = loop_.now();
  if (now > flow_refill_) {
    const double seconds = std::chrono::duration<double>(now - flow_refill_).count();
    flow_tokens_ = std::min(kFlowBurstSeconds * rate, flow_tokens_ + seconds * rate);
    flow_refill_ = now;
  }
  if (flow_tokens_ < 1) return false;
  flow_tokens_ -= 1;
  return true;
}

void SlirpSession::note_refusal(FlowRefusal reason) noexcept {
  const std::size_t index = std::size_t(reason);
  ++unlogged_refusals_[index];
  const net::TimePoint now = loop_.now();
  if (refusal_logged_once_[index] && now - refusal_logged_at_[index] < kRefusalLogInterval) return;
  const uint64_t count = unlogged_refusals_[index];
  const double seconds =
      refusal_logged_once_[index]
          ? std::chrono::duration<double>(now - refusal_logged_at_[index]).count()
          : 0.0;
  // At most once per interval per reason: not per packet.
  spdlog::warn(
      "slirp: peer {}: refused {} new flow(s){}: limit {} (tcp={} udp={} host_sockets={})",
      config_.log_name.empty() ? "?" : config_.log_name, count,
      refusal_logged_once_[index] ? fmt::format(" in the last {:.0f} s", seconds) : std::string(),
      flow_refusal_name(reason), host_sockets_.tcp, host_sockets_.udp, host_sockets_.total());
  unlogged_refusals_[index] = 0;
  refusal_logged_at_[index] = now;
  refusal_logged_once_[index] = true;
}

void SlirpSession::deliver(std::span<const uint8_t> packet) noexcept {
  if (pass_shaper(shape_out_, packet, counters_.rate_delayed_out, counters_.rate_limited_out)) {
    sink_.deliver_ip(packet);
  }
}

// ---- from slirp ------------------------------------------------------------------------------

void SlirpSession::on_frame(std::span<const uint8_t> frame) noexcept {
  ParsedFrame parsed = parse_frame(frame, guest_);
  switch (parsed.kind) {
    case FrameKind::kIpv4:
    case FrameKind::kIpv6: {
      std::span<uint8_t> copy(out_buffer_.data() + net::kVirtioNetHeaderSize, parsed.ip.size());
      std::memcpy(copy.data(), parsed.ip.data(), parsed.ip.size());
      IpInfo info;
      if (parse_ip(copy, info) != IpDrop::kNone) {
        ++counters_.out_malformed;
        return;
      }
      std::span<uint8_t> packet = copy.first(info.packet.size());
      if (clamp_mss(packet, info, info.version == 4 ? max_mss_v4_ : max_mss_v6_)) {
        ++counters_.mss_clamped_out;
      }
      ++counters_.packets_out;
      if (packet.size() > config_.mtu) {
        deliver_oversized(info);
        return;
      }
      deliver(packet);
      return;
    }
    case FrameKind::kArpRequest:
    case FrameKind::kNeighborSolicitation: {
      if (reply_count_ == kReplyQueueSize) {
        ++counters_.reply_queue_full;
        return;
      }
      std::span<uint8_t> slot(replies_[reply_count_]);
      std::size_t size = parsed.kind == FrameKind::kArpRequest
                             ? build_arp_reply(parsed, guest_, slot)
                             : build_neighbor_advertisement(parsed, guest_, slot);
      reply_sizes_[reply_count_++] = uint8_t(size);
      // Fed to slirp_input once slirp returns (flush_replies): never from inside send_packet.
      return;
    }
    case FrameKind::kDropped:
      ++counters_.frame_drops[std::size_t(parsed.drop)];
      return;
  }
}

void SlirpSession::deliver_oversized(const IpInfo& info) noexcept {
  std::size_t count = 0;
  if (info.protocol == kProtocolTcp && !info.non_first_fragment && info.has_ports) {
    // Described as the kernel would hand a TSO super-packet to a TUN reader, so one segmenter
    // serves both: segments carry the same headers, consecutive sequence numbers and complete
    // checksums; FIN and PSH stay on the last one.
    const std::size_t tcp_header = std::size_t(info.packet[info.l4_offset + 12] >> 4) * 4;
    if (info.l4_offset + tcp_header >= config_.mtu) {
      ++counters_.oversize_dropped;
      return;
    }
    uint8_t* header = out_buffer_.data();
    std::memset(header, 0, net::kVirtioNetHeaderSize);
    header[1] = info.version == 4 ? net::kVirtioGsoTcpV4 : net::kVirtioGsoTcpV6;
    const uint16_t segment_payload = uint16_t(config_.mtu - info.l4_offset - tcp_header);
    std::memcpy(header + 4, &segment_payload, sizeof segment_payload);  // host byte order
    const auto outcome = net::split_offloaded_packet(
        std::span<const uint8_t>(out_buffer_.data(),
                                 net::kVirtioNetHeaderSize + info.packet.size()),
        cut_batch_, 0);
    count = outcome.count;
    if (count > 0) ++counters_.segmented_out;
  } else if (info.version == 4) {
    count = fragment_ipv4(info, config_.mtu, cut_batch_);
    if (count > 0) ++counters_.fragmented_out;
  }
  if (count == 0) {
    ++counters_.oversize_dropped;
    return;
  }
  for (std::size_t k = 0; k < count; ++k) deliver(cut_batch_.packet(k));
}

void SlirpSession::flush_replies() noexcept {
  if (reply_count_ == 0) return;
  // Copy out first: feeding a reply may make slirp send (and queue) again.
  std::array<std::array<uint8_t, kReplyFrameSize>, kReplyQueueSize> pending = replies_;
  std::array<uint8_t, kReplyQueueSize> sizes = reply_sizes_;
  std::size_t count = reply_count_;
  reply_count_ = 0;
  in_slirp_ = true;
  for (std::size_t i = 0; i < count; ++i) {
    slirp_input(slirp_, pending[i].data(), sizes[i]);
    ++counters_.neighbor_replies;
  }
  in_slirp_ = false;
  // The packets that waited for this resolution leave on slirp's next if_start, which runs in
  // slirp_pollfds_poll: poll soon.
  request_service();
}

// ---- event-loop integration ------------------------------------------------------------------

void SlirpSession::request_service() noexcept {
  if (service_requested_) return;
  service_requested_ = true;
  arm(loop_.now());
}

void SlirpSession::arm(net::TimePoint when) noexcept {
  if (timer_ != net::kNoTimer && loop_.pending(timer_)) {
    if (timer_when_ != when) loop_.reschedule(timer_, when);
  } else {
    timer_ = loop_.schedule(when, this);
  }
  timer_when_ = when;
}

void SlirpSession::on_io(int fd, uint32_t revents) noexcept {
  auto it = registered_.find(fd);
  if (it == registered_.end()) return;
  it->second.revents |= revents;
  request_service();
}

void SlirpSession::on_timer(net::TimePoint now) noexcept {
  timer_ = net::kNoTimer;
  service(now);
}

void SlirpSession::service(net::TimePoint now) noexcept {
  shape_in_.release(now, [&](std::span<const uint8_t> packet) { accept_ip_packet(packet); });
  flush_input();
  service_requested_ = false;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  in_slirp_ = true;
  // By index: a handler may free or create timers.
  for (std::size_t i = 0; i < slirp_timers_.size(); ++i) {
    SlirpTimer& timer = *slirp_timers_[i];
    if (timer.expire_ms >= 0 && timer.expire_ms <= now_ms) {
      timer.expire_ms = -1;
      slirp_handle_timer(slirp_, timer.id, timer.cb_opaque);
    }
  }
  ++counters_.polls;
  slirp_pollfds_poll(slirp_, 0, &SlirpCallbacks::get_revents, this);
  in_slirp_ = false;
  for (auto& [fd, registration] : registered_) registration.revents = 0;
  flush_replies();
  shape_out_.release(now, [&](std::span<const uint8_t> packet) { sink_.deliver_ip(packet); });
  fill_and_sync(now);
}

int SlirpSession::on_add_poll(int fd, int events) noexcept {
  wanted_.push_back(PollRequest{fd, events});
  return int(wanted_.size() - 1);
}

int SlirpSession::on_get_revents(int index) noexcept {
  if (index < 0 || std::size_t(index) >= wanted_.size()) return 0;
  auto it = registered_.find(wanted_[std::size_t(index)].fd);
  if (it == registered_.end()) return 0;
  return to_slirp(it->second.revents);
}

void SlirpSession::on_register_fd(int fd) noexcept {
  if (fd < 0) return;      // udp_attach announces -1 when socket() failed
  forget_host_socket(fd);  // a number slirp closed without telling us, now reused
  HostSocket socket;
  if (pending_flow_.active && !pending_flow_.opened) {
    socket.kind = pending_flow_.kind;
    socket.keyed = pending_flow_.keyed;
    socket.key = pending_flow_.key;
    pending_flow_.opened = true;
  }
  // Else a connection accepted on a port-forward listener (in slirp_pollfds_poll): TCP.
  // One allocation per host socket slirp opens (slirp allocates its own socket too), never
  // per packet.
  host_socket_fds_.emplace(fd, socket);
  if (socket.keyed) flow_keys_[socket.key] = fd;
  (socket.kind == FlowKind::kTcp ? host_sockets_.tcp : host_sockets_.udp) += 1;
  ++counters_.flows_opened;
  if (config_.fd_budget != nullptr) ++config_.fd_budget->slirp_sockets;
}

void SlirpSession::forget_host_socket(int fd) noexcept {
  auto it = host_socket_fds_.find(fd);
  if (it == host_socket_fds_.end()) return;
  if (it->second.keyed) {
    auto key = flow_keys_.find(it->second.key);
    if (key != flow_keys_.end() && key->second == fd) flow_keys_.erase(key);
  }
  (it->second.kind == FlowKind::kTcp ? host_sockets_.tcp : host_sockets_.udp) -= 1;
  if (config_.fd_budget != nullptr) --config_.fd_budget->slirp_sockets;
  host_socket_fds_.erase(it);
}

void SlirpSession::on_unregister_fd(int fd) noexcept {
  forget_host_socket(fd);
  auto it = registered_.find(fd);
  if (it == registered_.end()) return;
  if (loop_.handler_of(fd) == this) loop_.remove(fd);
  registered_.erase(it);
}

void SlirpSession::fill_and_sync(net::TimePoint now) noexcept {
  wanted_.clear();
  uint32_t timeout_ms = kIdleTimeoutMs;
  in_slirp_ = true;
  slirp_pollfds_fill(slirp_, &timeout_ms, &SlirpCallbacks::add_poll, this);
  in_slirp_ = false;
  slirp_timed_work_ = timeout_ms < kIdleTimeoutMs;

  ++round_;
  for (const PollRequest& request : wanted_) {
    const uint32_t events = to_epoll(request.events);
    auto it = registered_.find(request.fd);
    bool ours = it != registered_.end() && loop_.handler_of(request.fd) == this;
    if (ours && it->second.events == events) {
      it->second.round = round_;
      continue;
    }
    if (ours && loop_.modify(request.fd, events)) {
      it->second.events = events;
      it->second.round = round_;
      continue;
    }
    // New, or slirp closed and reopened the number behind our back (modify saw ENOENT).
    if (loop_.handler_of(request.fd) == this) loop_.remove(request.fd);
    if (!loop_.add(request.fd, events, this)) {
      // Not watchable (cannot happen for sockets); slirp will be polled by its timeout.
      if (it != registered_.end()) registered_.erase(it);
      continue;
    }
    registered_[request.fd] = Registered{events, 0, round_};
  }
  for (auto it = registered_.begin(); it != registered_.end();) {
    if (it->second.round != round_) {
      if (loop_.handler_of(it->first) == this) loop_.remove(it->first);
      it = registered_.erase(it);
    } else {
      ++it;
    }
  }

  net::TimePoint deadline = net::TimePoint::max();
  if (timeout_ms < kIdleTimeoutMs) deadline = now + std::chrono::milliseconds(timeout_ms);
  for (const auto& timer : slirp_timers_) {
    if (timer->expire_ms >= 0) {
      deadline = std::min(deadline, net::TimePoint(std::chrono::milliseconds(timer->expire_ms)));
    }
  }
  if (service_requested_) deadline = std::min(deadline, loop_.now());
  deadline = std::min({deadline, shape_in_.next_release(), shape_out_.next_release()});
  if (deadline == net::TimePoint::max()) {
    loop_.cancel(timer_);
    timer_ = net::kNoTimer;
  } else {
    arm(deadline);
  }
}

SlirpSession::FlowCount SlirpSession::flow_count() const {
  FlowCount count;
  char* info = slirp_connection_info(slirp_);
  if (info == nullptr) return count;
  // One line per socket: "  TCP[ESTABLISHED] ...", "  UDP[236 sec] ...", "  TCP[HOST_FORWARD]".
  for (std::string_view text(info); !text.empty();) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.find("HOST_FORWARD") != std::string_view::npos) continue;
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) continue;
    if (line.substr(start).starts_with("TCP[")) ++count.tcp;
    if (line.substr(start).starts_with("UDP[")) ++count.udp;
  }
  std::free(info);  // g_string_free(.., FALSE): glib allocates with malloc (GLib >= 2.46)
  return count;
}

}  // namespace slirpvpn::slirp
