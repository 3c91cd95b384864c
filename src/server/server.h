// SPDX-License-Identifier: MIT
// The slirpvpn server: WireGuard peers over one UDP socket, each terminated into its own
// libslirp instance, on two threads joined by lock-free rings. Needs no root and no TUN device.
//
// Theory of operation
//   Two threads, each with its own net::EventLoop, and who owns what:
//   - Thread N (network; the thread that calls run()): the UDP socket, wireguard::Device (keys,
//     handshakes, peer timers), the peer table (PeerState), the UAPI control socket, signals
//     (the signalfd; thread S blocks every signal).
//   - Thread S (slirp): every libslirp instance (SessionSlot → SlirpSession) with its host
//     sockets and timers, the idle sweep, port forwards. libslirp keeps process-wide state
//     (its clock, the DNS cache), so all instances live on this one thread.
//   UDP in (N): recvmmsg batches → Device::receive (decrypt in place) → deliver_packet: the inner
//   source must lie in the peer's AllowedIPs → fed into ring N→S with the peer's id and
//   generation (net::RingFeed, see Fair shares); the ring is published after each recvmmsg round.
//   Thread S drains N→S before each wait: the slot's SlirpSession (created on the peer's first
//   packet, or at once when it has port forwards) → input_ip_packet; flush_input per drained
//   batch, so TCP segments still merge across a whole batch → libslirp → host sockets.
//   slirp out (S): SlirpSession → SessionSlot::deliver_ip → fed into ring S→N the same way,
//   published every RingFeed::kFeedBatch packets and before each wait. Thread N drains S→N
//   before each wait:
//   Device::encapsulate straight into a slot of the send batch (runs to one peer join as UDP GSO
//   segments) → sendmmsg when the batch fills and at the end of the drain.
//   Rings (net::PacketRing): fixed slots allocated at start, sized for the largest tunnel MTU;
//   no lock on the data path. Wake-up: a consumer about to block says so in the ring
//   (prepare_sleep); a producer writes the consumer loop's eventfd only then, so a busy pipeline
//   makes no wake-up system calls. Likewise a producer with packets queued for a ring blocks
//   only after saying so (RingFeed::prepare_wait), and the consumer wakes it when it has drained
//   the ring to a quarter; a producer never waits while it has other work.
//   Peer ids: each PeerState has an index (reused) and a generation (new at each reuse); packets
//   carry both, and a packet whose peer is gone or was replaced is dropped (peer_gone_*).
//   Control (N → S): adding, rebuilding and removing a peer's slirp network, `show`/UAPI get and
//   SIGUSR1 stats run on S as commands (a mutex-protected queue and S's wake eventfd; N waits
//   for the reply). Before thread S starts (in create()) and after it is joined (at the end of
//   run()), they run inline on N.
//   Timers: each peer has one timer on N's loop at Device::next_expiry(peer), moved whenever the
//   device reports that the peer's timers changed.
//   Idle sessions (S): a sweep timer (a quarter of SessionIdleTimeout) frees the slirp session
//   of a peer without port forwards whose session has no flow and saw no packet for the
//   timeout; the peer's next packet creates a new one. Many configured but quiet peers then
//   cost their protocol state only, not a libslirp instance each.
//   Signals (N): SIGINT/SIGTERM stop (thread S is stopped and joined, then stats printed),
//   SIGUSR1 prints stats, SIGHUP re-reads the configuration file and applies the difference.
//   Limits: a full socket send buffer drops the rest of the batch (counted); TCP inside the
//   tunnel retransmits. Crypto for all peers runs on N, slirp for all peers on S: two cores.
//   Fair shares: each ring's producer keeps it at most half full and holds the rest in per-peer
//   queues that refill it round-robin (net::RingFeed), so a light peer's packet waits behind half
//   a ring and one packet of each busy peer, not behind a bulk peer's backlog; when a direction's
//   queue pool is full, the longest queue loses its oldest packet (queue_full_in/out).
//   A peer's RateLimit is shaped in its SlirpSession, both directions, on thread S.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "config/server_config.h"
#include "control/uapi_socket.h"
#include "net/event_loop.h"
#include "net/packet_batch.h"
#include "net/packet_ring.h"
#include "net/ring_feed.h"
#include "net/system_random.h"
#include "net/udp_socket.h"
#include "server/reload_plan.h"
#include "server/sandbox.h"
#include "slirp/slirp_session.h"
#include "wireguard/device.h"

namespace slirpvpn::server {

class Server;

// One configured peer on thread N: its protocol state (owned by the device) and its timer.
struct PeerState final : net::TimerHandler {
  PeerState(Server& server, wireguard::Peer& peer, config::ServerPeer config,
            slirp::SessionConfig session_config, uint32_t id, uint32_t generation)
      : server(server),
        peer(peer),
        config(std::move(config)),
        session_config(std::move(session_config)),
        id(id),
        generation(generation) {}

  void on_timer(net::TimePoint now) noexcept override;

  Server& server;
  wireguard::Peer& peer;
  config::ServerPeer config;
  slirp::SessionConfig session_config;
  // The peer's index in the rings' packets and in the slots of thread S; the generation tells a
  // later peer under the same index apart.
  const uint32_t id;
  const uint32_t generation;
  net::TimerId timer = net::kNoTimer;
  net::TimePoint armed_for = net::TimePoint::max();
};

// One peer's slirp network on thread S, indexed by PeerState::id.
struct SessionSlot final : slirp::PacketSink {
  explicit SessionSlot(Server& server, uint32_t id) : server(server), id(id) {}
  // Towards the peer: into ring S→N.
  void deliver_ip(std::span<const uint8_t> packet) noexcept override;

  Server& server;
  const uint32_t id;
  uint32_t generation = 0;
  bool in_use = false;
  std::string label;  // the peer's name or public key, for logs
  slirp::SessionConfig config;
  std::unique_ptr<slirp::SlirpSession> session;
  // The session's packet count at the last idle sweep, and when it last changed (or the
  // session was created): see Server::sweep_idle_sessions.
  uint64_t session_activity = 0;
  net::TimePoint session_active_at{};
  // Slots whose session holds merged TCP input, linked for the end of the drained batch.
  SessionSlot* next_input_flush = nullptr;
  bool input_flush_queued = false;
};

// Thread N's counters.
struct ServerCounters {
  uint64_t send_would_block = 0;  // datagrams dropped because the socket buffer was full
  uint64_t send_refused = 0;
  uint64_t peer_gone_out = 0;  // slirp output for a peer removed meanwhile
};

// Thread S's counters.
struct SlirpCounters {
  uint64_t session_create_failed = 0;
  uint64_t sessions_created = 0;
  uint64_t sessions_freed_idle = 0;  // SessionIdleTimeout
  uint64_t peer_gone_in = 0;         // packets for a peer removed meanwhile
};

// What thread N may know of thread S's sessions (stats, `show`): a copy made on S.
struct SlirpView {
  struct Session {
    bool active = false;
    size_t fds = 0;
    slirp::SessionCounters counters;
    slirp::SlirpSession::FlowCount flows;
    slirp::SlirpSession::HostSockets host_sockets;
    uint64_t queue_full_out = 0;  // the peer's packets dropped from ring S→N's queues
  };
  std::vector<Session> sessions;  // indexed by PeerState::id
  SlirpCounters counters;
  slirp::FdBudget fd_budget;
};

struct ServerOptions {
  // The UAPI socket (`wg show` / `wg set`); empty: none.
  std::string uapi_path;
};

class Server final : wireguard::DeviceOutput,
                     net::IoHandler,
                     net::SignalHandler,
                     net::TimerHandler,
                     control::UapiHandler {
 public:
  static Expected<std::unique_ptr<Server>> create(config::ServerConfig config,
                                                  const ServerOptions& options = {});
  ~Server();

  // server::apply_sandbox() for both threads: capabilities belong to each thread, so thread S
  // drops its own first; the seccomp filter and no_new_privs then reach it through TSYNC.
  Expected<SandboxReport> apply_sandbox();
  // Serves until SIGINT or SIGTERM.
  Expected<void> run();
  uint16_t port() const noexcept { return port_; }
  // Stats lines (`stats: peer=…`, `drops: …`) for operators and tests. Thread N.
  void print_stats() const;

 private:
  friend struct PeerState;
  friend struct SessionSlot;
  // Packets a ring's consumer takes between two releases of their slots.
  static constexpr size_t kReleaseBatch = 64;
  Server(config::ServerConfig config, net::EventLoop loop, net::UdpSocket socket,
         net::EventLoop slirp_loop);

  // wireguard::DeviceOutput
  void send_datagram(const wireguard::PeerAddress& to,
                     std::span<const uint8_t> datagram) noexcept override;
  void deliver_packet(wireguard::Peer& peer, std::span<uint8_t> packet) noexcept override;
  void on_peer_event(wireguard::Peer& peer, wireguard::PeerEvent event) noexcept override;
  void on_timers_changed(wireguard::Peer& peer) noexcept override;
  // net::IoHandler: the UDP socket is readable.
  void on_io(int fd, uint32_t revents) noexcept override;
  // net::SignalHandler
  void on_signal(int signal_number) noexcept override;
  // net::TimerHandler: the end-of-pass flush of the send batch (handshake messages).
  void on_timer(net::TimePoint now) noexcept override;

  // control::UapiHandler: `wg show` and `wg set`. Changes last until the next restart or
  // reload; the configuration file stays the source of truth.
  control::DeviceSnapshot uapi_get() override;
  int uapi_set(const control::SetRequest& request) override;
  void add_peer_stats(const PeerState& state, const SlirpView::Session& session,
                      control::PeerSnapshot& peer) const;
  // SIGHUP (see reload()).
  void reload() noexcept;
  bool prepare_reload(const config::ServerConfig& file, const ReloadPlan& plan,
                      std::vector<std::optional<wireguard::PeerAddress>>& endpoints);
  void apply_peer_update(const config::ServerPeer& wanted, const PeerUpdate& update,
                         const std::optional<wireguard::PeerAddress>& endpoint);
  static std::string label_of(const PeerState& state);
  void add_device_stats(control::DeviceSnapshot& snapshot, const SlirpView& view) const;
  void for_each_drop(const SlirpView& view,
                     const std::function<void(const char*, uint64_t)>& visit) const;

  // Re-reads RLIMIT_NOFILE and counts the process's fds that are not slirp host sockets
  // (/proc/self/fd, else probing the fd table): control path only, on thread S (session
  // creation, idle sweep) or before it starts.
  void refresh_fd_budget() noexcept;

  // Thread N: the peer table. add_peer registers the peer's slirp slot (no session yet).
  PeerState& add_peer(const config::ServerPeer& peer_config,
                      const wireguard::PeerAddress& endpoint);
  void remove_peer(PeerState& state);
  PeerState* find_state(const crypto::PublicKey& key) noexcept;
  PeerState* state_by_id(uint32_t id, uint32_t generation) noexcept;
  // Creates the peer's slirp session now (port forwards listen from then on).
  bool start_session(const PeerState& state);

  // Thread N: the UDP side.
  void send_from_slirp(PeerState& state, std::span<const uint8_t> packet) noexcept;
  // A free slot of the send batch (flushing first when full).
  net::Datagram& next_send_slot() noexcept;
  void schedule_flush() noexcept;
  void flush() noexcept;
  // The last send slot when a datagram of `datagram` bytes to `to` can join it as one more GSO
  // segment (same peer, not larger than the slot's segments, the slot's last one full size).
  net::Datagram* gso_tail(const net::Endpoint& to, size_t datagram) noexcept;
  // Refills ring N→S from the peers' queues and publishes it (waking S when it sleeps).
  void feed_to_slirp() noexcept;
  // Encrypts and sends what ring S→N holds; returns the number of packets taken.
  size_t drain_to_peers() noexcept;
  struct NetworkHook final : net::WaitHook {
    explicit NetworkHook(Server& server) : server(server) {}
    bool before_wait() noexcept override;
    void after_wait() noexcept override {
      server.to_peers_.woke();
      server.feed_to_slirp_.woke();
    }
    Server& server;
  };

  // Thread S: sessions.
  bool ensure_session(SessionSlot& slot) noexcept;
  void open_slot(uint32_t id, uint32_t generation, std::string label, slirp::SessionConfig config);
  // Hands ring N→S's packets to their sessions; returns the number taken.
  size_t drain_to_slirp() noexcept;
  // Hands slirp the TCP segments its sessions merged during this drained batch.
  void flush_session_input() noexcept;
  // Refills ring S→N from the peers' queues and publishes it (waking N when it sleeps).
  void feed_to_peers() noexcept;
  // SessionIdleTimeout: arms the periodic sweep (none when the timeout is 0).
  void arm_idle_sweep(net::TimePoint now) noexcept;
  void sweep_idle_sessions(net::TimePoint now) noexcept;
  struct IdleSweep final : net::TimerHandler {
    explicit IdleSweep(Server& server) : server(server) {}
    void on_timer(net::TimePoint now) noexcept override;
    Server& server;
  };
  struct SlirpHook final : net::WaitHook {
    explicit SlirpHook(Server& server) : server(server) {}
    bool before_wait() noexcept override;
    void after_wait() noexcept override {
      server.to_slirp_.woke();
      server.feed_to_peers_.woke();
    }
    Server& server;
  };
  SlirpView slirp_view(bool with_flows) const;

  // Commands from N to S: runs `work` on thread S and returns when it is done (inline while
  // thread S is not running). Control path only: it allocates and waits.
  void run_on_slirp(const std::function<void()>& work) const;
  // Thread S: runs the queued commands; true when there were any.
  bool run_commands() noexcept;
  Expected<void> start_slirp_thread();
  void stop_slirp_thread();

  static PeerState& state_of(wireguard::Peer& peer) noexcept {
    return *static_cast<PeerState*>(peer.context);
  }

  config::ServerConfig config_;
  // Thread N.
  net::EventLoop loop_;
  net::UdpSocket socket_;
  uint16_t port_ = 0;
  net::SystemRandom random_;
  std::unique_ptr<wireguard::Device> device_;
  std::vector<std::unique_ptr<PeerState>> peers_;
  std::vector<PeerState*> peers_by_id_;  // nullptr: a free id
  std::vector<uint32_t> id_generations_;
  net::DatagramBatch receive_batch_;
  net::DatagramBatch send_batch_;
  size_t send_count_ = 0;
  net::TimerId flush_timer_ = net::kNoTimer;
  ServerCounters counters_;
  // Shared by every session (slirp::FdBudget): new flows stop at RLIMIT_NOFILE - FdReserve.
  slirp::FdBudget fd_budget_;
  std::vector<net::IpAddress> host_addresses_;
  std::unique_ptr<control::UapiSocket> uapi_;
  NetworkHook network_hook_{*this};
  // N→S: decrypted packets (producer N). S→N: slirp's output (producer S).
  net::PacketRing to_slirp_;
  net::PacketRing to_peers_;
  // Each ring's producer feeds it through per-peer queues, round-robin (net/ring_feed.h): N
  // feeds ring N→S, S feeds ring S→N.
  net::RingFeed feed_to_slirp_;
  net::RingFeed feed_to_peers_;

  // Thread S (slirp_loop_ outlives the sessions registered with it).
  net::EventLoop slirp_loop_;
  std::vector<std::unique_ptr<SessionSlot>> slots_;
  SessionSlot* input_flush_head_ = nullptr;
  IdleSweep idle_sweep_{*this};
  net::TimerId idle_sweep_timer_ = net::kNoTimer;
  SlirpCounters slirp_counters_;
  SlirpHook slirp_hook_{*this};

  // Between the threads (control path).
  std::thread slirp_thread_;
  mutable std::mutex commands_mutex_;
  mutable std::vector<std::function<void()>> commands_;
  mutable std::atomic<bool> commands_pending_{false};
};

}  // namespace slirpvpn::server
