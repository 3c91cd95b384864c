// SPDX-License-Identifier: MIT
// One libslirp instance for one peer, driven by the EventLoop, with policy, MSS clamp, ARP/NDP.
//
// Theory of operation
// -------------------
// Packets from the tunnel enter through input_ip_packet(): IP sanity check, egress policy
// (refusals answered at once with a TCP RST or an ICMP "administratively prohibited",
// rate-limited), ICMP echo the instance cannot carry answered the same way, MSS clamp, then an
// Ethernet header and slirp_input(). Frames slirp sends go through the send_packet callback:
// IP packets lose their Ethernet header, get the MSS clamp and go to PacketSink::deliver_ip;
// slirp's ARP requests and neighbour solicitations for the client are answered by queueing the
// reply and feeding it back AFTER slirp returns (slirp is not re-entrant).
//
// Polling: the instance never runs on a wake-up that does not concern it. After every time
// slirp ran (input, fd readiness, timer), the session
//   - makes epoll hold exactly the fds slirp_pollfds_fill asked for (add/modify/remove, the
//     session as handler; unregister_poll_fd removes an fd before slirp closes it; an fd that
//     slirp closed without telling is detected by the kernel's ENOENT and re-added);
//   - arms ONE EventLoop timer at the earliest of slirp's poll timeout (2 ms while TCP has a
//     delayed ACK pending, 499 ms while TCP/fragments/expiring UDP exist; an idle instance, for
//     which slirp answers its 1000 ms cap, gets no periodic wake-up) and its own timers (the
//     IPv6 router-advertisement timer).
// fd readiness only records the revents and moves the timer to "now"; the timer then runs
// slirp_pollfds_poll once for all of the instance's ready fds of that loop pass.
//
// Flow limits (issue 8): every flow slirp carries is a host socket of this process, so a peer
// that opens flows as fast as it can must hit a per-peer ceiling, and all peers together must
// leave the process a reserve of fds for handshakes, the UAPI and reloads. What is counted is
// exactly what costs: slirp announces every host socket it creates for a flow through its
// register_poll_fd callback (tcp_fconnect, tcp_connect's accept, udp_attach, icmp_send) and
// every one it closes through unregister_poll_fd (tcp_close, udp_detach, icmp_detach; port-
// forward listeners are not announced and not counted). The callback runs inside the
// slirp_input of the packet that opened the flow, so the session knows the socket's kind and
// its key in slirp's own lookup: TCP by the 4-tuple (tcp_input), UDP by the peer's source
// address and port only (udp_input: one host socket per guest port, whatever the destination);
// an ICMP echo request always opens a socket of its own. A packet that would make slirp open a
// socket -- a SYN without ACK or a UDP datagram whose key has no socket yet, or an echo request
// slirp carries -- is a new flow, admitted only when
//   - the process-wide FdBudget keeps its reserve (other fds + all sessions' host sockets),
//   - the session's host sockets, and its TCP or datagram (UDP + ICMP echo) flows, are below
//     their limits, and
//   - the new-flow token bucket has a token (rate per second, burst of two seconds' worth);
// otherwise it is refused like an egress-policy refusal (TCP RST at once, ICMP prohibited
// rate-limited), counted by reason, and logged at most once per 10 s per reason with the count
// since the last line. Packets of admitted flows are never affected. The bytes slirp buffers
// are not visible through its API: they are bounded through these limits, at most the host
// sockets times slirp's per-socket send + receive buffers. slirp may still fail to open a
// socket (EMFILE from socket()/accept()): it then answers the peer itself (RST / ICMP
// unreachable, or drops), and the session counts the flow as flow_not_opened.
//
// Rate limit (FlowLimits::rate_limit_bits_per_second): each direction passes a net::Shaper
// first, before any other check on the way in and after everything on the way out. What is
// over the rate waits in the shaper (up to 50 ms) and leaves from service(): the session's one
// timer is armed for the earlier shaper's next release as well; released input re-enters at
// accept_ip_packet(). Pacing instead of dropping is what keeps slirp's TCP at the rate.
//
// Limits: one thread (libslirp keeps process-wide state); deliver_ip may be called from inside
// input_ip_packet and from the event loop. IPv4 port forwards only (slirp_add_hostfwd).
// Left out on purpose: DHCP (disabled), TFTP, emulation (enable_emu off), guestfwd/exec.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/ip_address.h"
#include "net/packet_batch.h"
#include "net/shaper.h"
#include "net/tcp_coalescer.h"
#include "slirp/egress_policy.h"
#include "slirp/ethernet.h"
#include "slirp/packet.h"

struct Slirp;

namespace slirpvpn::slirp {

// Where a session's outgoing IP packets (towards the peer) go. The span is valid only during
// the call. Called on the loop thread, possibly from inside input_ip_packet.
class PacketSink {
 public:
  virtual void deliver_ip(std::span<const uint8_t> packet) noexcept = 0;

 protected:
  ~PacketSink() = default;
};

struct PortForward {
  bool udp = false;
  net::IpAddress host_address = net::IpAddress::v4({0, 0, 0, 0});  // IPv4; 0.0.0.0 = any
  uint16_t host_port = 0;
  uint16_t guest_port = 0;
};

// How ICMP echo requests to outside addresses are carried. libslirp 4.7 uses a ping socket,
// else a raw socket, else UDP to port 7 of the target (src/ip_icmp.c); we never allow the
// last two: without a working ping socket the adapter answers "prohibited" itself.
enum class IcmpEchoMode : uint8_t {
  kDetect,  // probe socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) once per process
  kSlirp,   // let slirp send them (the caller knows ping sockets work)
  kRefuse,  // always answer "prohibited"
};

// A peer's flow limits; 0 means unlimited. The defaults are far above what a browser with many
// tabs opens (a few hundred TCP connections, a DNS socket per query for 10 s) and keep one peer
// to a few thousand fds.
struct FlowLimits {
  uint32_t max_tcp_flows = 1024;
  uint32_t max_udp_flows = 512;  // UDP flows plus ICMP echo sockets
  uint32_t max_host_sockets = 1536;
  uint32_t max_new_flows_per_second = 200;  // burst: two seconds' worth
  // Each direction's rate in bits per second of whole inner IP packets (0: none). Packets over
  // it wait up to 50 ms in the session's net::Shaper, and only then are dropped.
  uint64_t rate_limit_bits_per_second = 0;
};

// The process's fd budget, shared by all sessions on the loop thread. The server sets `limit`
// (RLIMIT_NOFILE) and `other_fds` (fds that are not slirp host sockets, counted on the control
// path); sessions keep `slirp_sockets` exact. New flows stop at limit - reserve.
struct FdBudget {
  std::size_t limit = 0;  // 0: no budget
  std::size_t reserve = 64;
  std::size_t other_fds = 0;
  std::size_t slirp_sockets = 0;
  bool exhausted() const noexcept {
    return limit != 0 && other_fds + slirp_sockets + reserve >= limit;
  }
};

// Why a new flow was refused, in the order the checks run.
enum class FlowRefusal : uint8_t {
  kFdReserve,
  kHostSockets,
  kTcpFlows,
  kUdpFlows,
  kNewFlowRate,
  kCount,
};

struct SessionConfig {
  net::IpAddress network = net::IpAddress::v4({10, 0, 2, 0});
  uint8_t network_length = 24;
  net::IpAddress gateway = net::IpAddress::v4({10, 0, 2, 2});
  net::IpAddress dns = net::IpAddress::v4({10, 0, 2, 3});
  net::IpAddress client = net::IpAddress::v4({10, 0, 2, 15});

  bool ipv6_enabled = true;
  net::IpAddress prefix6 = net::IpAddress::v6({0xfe, 0xc0});
  uint8_t prefix6_length = 64;
  net::IpAddress gateway6 =
      net::IpAddress::v6({0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
  net::IpAddress dns6 = net::IpAddress::v6({0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3});
  net::IpAddress client6 =
      net::IpAddress::v6({0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15});

  // The peer's tunnel MTU: no packet towards the peer is larger, and TCP MSS options are clamped
  // to it. 1420 as WireGuard.
  std::size_t mtu = 1420;
  // The MTU of the virtual link between the adapter and libslirp (its if_mtu/if_mru), in
  // mtu..65521; 0 means `mtu`. slirp's cost is per segment, so above `mtu` the adapter lets the
  // peer's TCP flows use segments this large inside the server (raising the MSS the peer's SYN
  // offers slirp) and cuts slirp's output back to `mtu`: TCP is segmented, other IPv4
  // fragmented, other IPv6 larger than `mtu` dropped and counted. The price: slirp's TCP then
  // counts its congestion window and retransmits in these large segments, which costs on slow
  // or lossy paths. (Segments from the peer are merged up to 64 KiB whatever this is.)
  std::size_t slirp_mtu = 0;
  // Without it, the gateway address reaches the server's 127.0.0.1.
  bool disable_host_loopback = true;
  std::vector<PortForward> port_forwards;
  // The session adds gateway/DNS (v4 and v6) to `virtual_services` itself.
  EgressPolicyConfig egress;
  IcmpEchoMode icmp_echo = IcmpEchoMode::kDetect;
  FlowLimits limits;
  // Owned by the caller, outlives the session; nullptr: no process-wide budget.
  FdBudget* fd_budget = nullptr;
  // Names the peer in the session's log lines.
  std::string log_name;
};

// Drop and refusal counters, by reason. Read by the server on the loop thread.
struct SessionCounters {
  uint64_t packets_in = 0;             // accepted into slirp
  uint64_t packets_out = 0;            // delivered to the sink from slirp
  std::array<uint64_t, 8> ip_drops{};  // indexed by IpDrop (inner packets)
  std::array<uint64_t, size_t(FrameDrop::kCount)> frame_drops{};  // frames from slirp
  std::array<uint64_t, 4> refused{};  // indexed by EgressVerdict (0 unused)
  uint64_t ipv6_disabled = 0;         // IPv6 packet while IPv6 is off
  uint64_t echo_refused = 0;          // ICMP(v6) echo slirp cannot carry, answered by us
  uint64_t rst_sent = 0;
  uint64_t icmp_prohibited_sent = 0;
  uint64_t refusals_rate_limited = 0;  // refused silently: over the reply rate
  uint64_t mss_clamped_in = 0;
  uint64_t mss_clamped_out = 0;
  uint64_t coalesced_in = 0;      // TCP segments merged into the one before them
  uint64_t mss_raised_in = 0;     // peer's SYN MSS raised to slirp's link MSS
  uint64_t segmented_out = 0;     // slirp TCP segments larger than the tunnel MTU, cut up
  uint64_t fragmented_out = 0;    // slirp IPv4 packets larger than the tunnel MTU, fragmented
  uint64_t oversize_dropped = 0;  // larger than the tunnel MTU and not cuttable (IPv6, DF)
  uint64_t out_malformed = 0;     // slirp emitted an IP packet we could not parse
  uint64_t neighbor_replies = 0;  // ARP replies + NAs fed back to slirp
  uint64_t reply_queue_full = 0;
  uint64_t guest_errors = 0;  // slirp's guest_error callback
  uint64_t polls = 0;         // slirp_pollfds_poll calls (tests: no idle polling)
  std::array<uint64_t, std::size_t(FlowRefusal::kCount)> flows_refused{};
  uint64_t flows_opened = 0;      // host sockets slirp opened for flows
  uint64_t flow_not_opened = 0;   // admitted new flow for which slirp opened no socket
  uint64_t rate_delayed_in = 0;   // from the peer: waited for its RateLimit
  uint64_t rate_delayed_out = 0;  // to the peer
  uint64_t rate_limited_in = 0;   // dropped: over RateLimit with the shaper's queue full
  uint64_t rate_limited_out = 0;
};

// Adds every counter of `other` to `total` (the server's totals over its sessions).
SessionCounters& operator+=(SessionCounters& total, const SessionCounters& other) noexcept;

// Calls visit(name, value) for each reason the session refused or dropped a packet, under the
// names the SIGUSR1 stats and `slirpvpn show` print.
template <typename Visit>
void for_each_drop(const SessionCounters& counters, Visit&& visit) {
  visit("refused_reserved", counters.refused[std::size_t(EgressVerdict::kDenyReserved)]);
  visit("refused_server_address", counters.refused[std::size_t(EgressVerdict::kDenyServerAddress)]);
  visit("refused_operator", counters.refused[std::size_t(EgressVerdict::kDenyOperator)]);
  uint64_t malformed = 0;
  for (auto count : counters.ip_drops) malformed += count;
  visit("malformed_ip", malformed);
  visit("echo_refused", counters.echo_refused);
  visit("ipv6_disabled", counters.ipv6_disabled);
  visit("refusals_rate_limited", counters.refusals_rate_limited);
  visit("reply_queue_full", counters.reply_queue_full);
  visit("oversize", counters.oversize_dropped);
  visit("limit_fd_reserve", counters.flows_refused[std::size_t(FlowRefusal::kFdReserve)]);
  visit("limit_host_sockets", counters.flows_refused[std::size_t(FlowRefusal::kHostSockets)]);
  visit("limit_tcp_flows", counters.flows_refused[std::size_t(FlowRefusal::kTcpFlows)]);
  visit("limit_udp_flows", counters.flows_refused[std::size_t(FlowRefusal::kUdpFlows)]);
  visit("limit_new_flow_rate", counters.flows_refused[std::size_t(FlowRefusal::kNewFlowRate)]);
  visit("flow_not_opened", counters.flow_not_opened);
  visit("rate_limited_in", counters.rate_limited_in);
  visit("rate_limited_out", counters.rate_limited_out);
}

// The name of a refusal reason in logs ("tcp_flows", ...).
const char* flow_refusal_name(FlowRefusal reason) noexcept;

// Whether this process may open unprivileged ICMP echo sockets (net.ipv4.ping_group_range).
bool ping_sockets_available() noexcept;

class SlirpSession final : private net::IoHandler, private net::TimerHandler {
 public:
  // Creates the instance, installs port forwards, seeds slirp's ARP/NDP tables with the client
  // and registers with `loop`. `loop` and `sink` must outlive the session.
  static Expected<std::unique_ptr<SlirpSession>> create(const SessionConfig& config,
                                                        net::EventLoop& loop, PacketSink& sink);
  ~SlirpSession();
  SlirpSession(const SlirpSession&) = delete;
  SlirpSession& operator=(const SlirpSession&) = delete;

  // One decrypted packet from the peer (any length; trailing padding beyond the IP length is
  // ignored). Checked, filtered and handed to slirp, or dropped/refused and counted.
  // Consecutive TCP segments of one flow are held back and merged (net::TcpCoalescer): call
  // flush_input() once the batch of packets at hand is through.
  void input_ip_packet(std::span<const uint8_t> packet) noexcept;
  // Hands slirp the merged segment input_ip_packet may be holding. Cheap when there is none.
  void flush_input() noexcept;
  bool input_pending() const noexcept { return coalescer_.pending(); }

  const SessionCounters& counters() const noexcept { return counters_; }
  // fds currently registered in the loop for this instance (tests, `show`).
  std::size_t registered_fd_count() const noexcept { return registered_.size(); }
  // Flows slirp holds host sockets for (port-forward listeners not counted), from
  // slirp_connection_info(): control path only (`slirpvpn show`), it allocates.
  struct FlowCount {
    std::size_t tcp = 0;
    std::size_t udp = 0;
  };
  FlowCount flow_count() const;
  // Host sockets slirp holds for this peer's flows, by kind, kept exact from slirp's
  // register/unregister callbacks (cheap; used by the flow limits).
  struct HostSockets {
    std::size_t tcp = 0;
    std::size_t udp = 0;  // UDP and ICMP echo
    std::size_t total() const noexcept { return tcp + udp; }
  };
  HostSockets host_sockets() const noexcept { return host_sockets_; }
  // New limits for new flows (a reload); flows already open stay open.
  void set_limits(const FlowLimits& limits) noexcept;
  // The EventLoop timer this instance has armed, or kNoTimer when idle.
  net::TimerId armed_timer() const noexcept { return timer_; }
  // Whether slirp holds any flow: a socket it polls (UDP/ICMP/TCP, forward listeners) or timed
  // work (any TCP control block, TIME_WAIT included; IP fragments; an expiring UDP or ICMP
  // socket). slirp_pollfds_fill lowers its timeout below the 1000 ms cap exactly when the
  // latter exist (do_slowtimo, src/slirp.c), so both come from the last fill. False: freeing
  // the instance loses nothing but its ARP/NDP entries, which create() seeds again.
  bool has_flows() const noexcept { return !registered_.empty() || slirp_timed_work_; }

 private:
  struct SlirpTimer;
  struct Registered {
    uint32_t events = 0;   // EPOLL* asked for
    uint32_t revents = 0;  // EPOLL* seen since the last poll
    uint32_t round = 0;    // last fill that asked for it
  };
  struct PollRequest {
    int fd;
    int events;  // SLIRP_POLL_*
  };
  // A flow's key in slirp's socket lookup (see the theory of operation).
  struct FlowKey {
    std::array<uint8_t, 16> source{};
    std::array<uint8_t, 16> destination{};
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint8_t protocol = 0;
    bool operator==(const FlowKey&) const noexcept = default;
  };
  struct FlowKeyHash {
    std::size_t operator()(const FlowKey& key) const noexcept;
  };
  enum class FlowKind : uint8_t { kTcp, kDatagram };
  struct HostSocket {
    FlowKind kind = FlowKind::kTcp;
    bool keyed = false;
    FlowKey key;
  };
  // The new flow whose packet is inside slirp_input now.
  struct PendingFlow {
    bool active = false;
    bool keyed = false;
    bool opened = false;
    FlowKind kind = FlowKind::kTcp;
    FlowKey key;
  };
  // Room for slirp's queued ARP/NDP answers between two returns from slirp.
  static constexpr std::size_t kReplyQueueSize = 8;
  static constexpr std::size_t kReplyFrameSize = 96;

  SlirpSession(const SessionConfig& config, net::EventLoop& loop, PacketSink& sink);

  void on_io(int fd, uint32_t revents) noexcept override;
  void on_timer(net::TimePoint now) noexcept override;

  void service(net::TimePoint now) noexcept;
  void flush_replies() noexcept;
  void fill_and_sync(net::TimePoint now) noexcept;
  void arm(net::TimePoint when) noexcept;
  void request_service() noexcept;
  void slirp_input_frame(std::span<const uint8_t> frame) noexcept;
  void refuse(const IpInfo& info) noexcept;
  // For a packet that passed the policy: whether it is a new flow (filling `pending`) and, if
  // so, whether the limits admit it. False: refused, counted and answered.
  bool admit_flow(const IpInfo& info, PendingFlow& pending) noexcept;
  bool take_flow_token() noexcept;
  void note_refusal(FlowRefusal reason) noexcept;
  void on_register_fd(int fd) noexcept;
  void forget_host_socket(int fd) noexcept;
  bool take_refusal_token() noexcept;
  // Towards the peer, through the RateLimit shaper.
  void deliver(std::span<const uint8_t> packet) noexcept;
  // input_ip_packet after the RateLimit shaper let the packet through.
  void accept_ip_packet(std::span<const uint8_t> packet) noexcept;
  // (Re)builds both shapers for config_.limits; what they held is sent first.
  void reset_shapers() noexcept;
  // Offers `packet` to `shaper`: true when it may go on now; else it waits in the shaper (counted
  // in `delayed`, the timer armed for its release) or was dropped (counted in `dropped`).
  bool pass_shaper(net::Shaper& shaper, std::span<const uint8_t> packet, uint64_t& delayed,
                   uint64_t& dropped) noexcept;
  // Arms the timer for the earlier shaper's next release if it is due before the timer.
  void arm_for_shapers() noexcept;
  // A packet from slirp larger than the tunnel MTU; `packet` starts kVirtioNetHeaderSize bytes
  // into out_buffer_ (the room for the segmentation header).
  void deliver_oversized(const IpInfo& info) noexcept;
  bool is_virtual_service(const net::IpAddress& address) const noexcept;

  // libslirp callbacks (opaque = this).
  void on_frame(std::span<const uint8_t> frame) noexcept;
  void on_unregister_fd(int fd) noexcept;
  int on_add_poll(int fd, int events) noexcept;
  int on_get_revents(int index) noexcept;
  friend struct SlirpCallbacks;

  SessionConfig config_;
  net::EventLoop& loop_;
  PacketSink& sink_;
  EgressPolicy policy_;
  GuestAddresses guest_;
  bool echo_via_slirp_ = false;
  uint16_t max_mss_v4_ = 0;
  uint16_t max_mss_v6_ = 0;
  uint16_t slirp_mss_v4_ = 0;
  uint16_t slirp_mss_v6_ = 0;
  Slirp* slirp_ = nullptr;
  bool in_slirp_ = false;

  std::vector<uint8_t> frame_buffer_;  // Ethernet header + one packet into slirp
  net::TcpCoalescer coalescer_;        // builds merged segments in frame_buffer_
  // One packet out of slirp (MSS clamp needs a copy), after room for a virtio_net_hdr.
  std::vector<uint8_t> out_buffer_;
  net::PacketBatch cut_batch_;           // segments/fragments of one oversized packet from slirp
  std::vector<uint8_t> refusal_buffer_;  // RST / ICMP error
  std::array<std::array<uint8_t, kReplyFrameSize>, kReplyQueueSize> replies_{};
  std::array<uint8_t, kReplyQueueSize> reply_sizes_{};
  std::size_t reply_count_ = 0;

  std::vector<std::unique_ptr<SlirpTimer>> slirp_timers_;
  std::vector<PollRequest> wanted_;
  std::unordered_map<int, Registered> registered_;
  uint32_t round_ = 0;
  net::TimerId timer_ = net::kNoTimer;
  net::TimePoint timer_when_{};
  bool service_requested_ = false;
  bool slirp_timed_work_ = false;  // the last fill's timeout was below kIdleTimeoutMs

  // Token bucket for refusals (RSTs to non-SYN segments, ICMP errors).
  double refusal_tokens_;
  net::TimePoint refusal_refill_{};

  // Host sockets of this peer's flows (fd -> kind/key) and slirp's lookup keys (key -> fd).
  std::unordered_map<int, HostSocket> host_socket_fds_;
  std::unordered_map<FlowKey, int, FlowKeyHash> flow_keys_;
  HostSockets host_sockets_;
  PendingFlow pending_flow_;
  double flow_tokens_ = 0;
  net::TimePoint flow_refill_{};
  // Refusals not logged yet and when each reason was last logged.
  std::array<uint64_t, std::size_t(FlowRefusal::kCount)> unlogged_refusals_{};
  std::array<net::TimePoint, std::size_t(FlowRefusal::kCount)> refusal_logged_at_{};
  std::array<bool, std::size_t(FlowRefusal::kCount)> refusal_logged_once_{};

  // RateLimit, each direction: packets over the rate wait here (net/shaper.h).
  net::Shaper shape_in_;
  net::Shaper shape_out_;

  SessionCounters counters_;
};

}  // namespace slirpvpn::slirp
