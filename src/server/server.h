// SPDX-License-Identifier: MIT
// The slirpvpn server: WireGuard peers over one UDP socket, each terminated into its own
// libslirp instance, all driven by one epoll event loop. Needs no root and no TUN device.
//
// Theory of operation
//   UDP in: recvmmsg batches → Device::receive (decrypt in place) → deliver_packet: the inner
//   source must lie in the peer's AllowedIPs → the peer's SlirpSession (created on the peer's
//   first packet, or at start when it has port forwards) → libslirp → host sockets.
//   slirp out: SlirpSession → PeerState::deliver_ip → Device::encapsulate straight into a slot
//   of the send batch → sendmmsg when the batch fills or at the end of the loop pass (a
//   zero-delay flush timer), so a burst leaves in one system call.
//   Timers: each peer has one event-loop timer at Device::next_expiry(peer), moved whenever the
//   device reports that the peer's timers changed.
//   Idle sessions: a sweep timer (a quarter of SessionIdleTimeout) frees the slirp session of
//   a peer without port forwards whose session has no flow and saw no packet for the timeout;
//   the peer's next packet creates a new one. Many configured but quiet peers then cost their
//   protocol state only, not a libslirp instance each.
//   Signals: SIGINT/SIGTERM stop (stats printed), SIGUSR1 prints stats, SIGHUP re-reads the
//   configuration file and applies the difference (reload()).
//   Limits: one thread (libslirp keeps process-wide state). A full socket send buffer drops the
//   rest of the batch (counted); TCP inside the tunnel retransmits.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/server_config.h"
#include "control/uapi_socket.h"
#include "net/event_loop.h"
#include "net/packet_batch.h"
#include "net/system_random.h"
#include "net/udp_socket.h"
#include "server/reload_plan.h"
#include "slirp/slirp_session.h"
#include "wireguard/device.h"

namespace slirpvpn::server {

class Server;

// One configured peer: its protocol state (owned by the device), its slirp network and timer.
struct PeerState final : slirp::PacketSink, net::TimerHandler {
  PeerState(Server& server, wireguard::Peer& peer, config::ServerPeer config,
            slirp::SessionConfig session_config)
      : server(server),
        peer(peer),
        config(std::move(config)),
        session_config(std::move(session_config)) {}

  void deliver_ip(std::span<const uint8_t> packet) noexcept override;
  void on_timer(net::TimePoint now) noexcept override;

  Server& server;
  wireguard::Peer& peer;
  config::ServerPeer config;
  slirp::SessionConfig session_config;
  std::unique_ptr<slirp::SlirpSession> session;
  // The session's packet count at the last idle sweep, and when it last changed (or the
  // session was created): see Server::sweep_idle_sessions.
  uint64_t session_activity = 0;
  net::TimePoint session_active_at{};
  net::TimerId timer = net::kNoTimer;
  net::TimePoint armed_for = net::TimePoint::max();
  // Peers whose session holds merged TCP input, linked for the end of the receive batch.
  PeerState* next_input_flush = nullptr;
  bool input_flush_queued = false;
};

struct ServerCounters {
  uint64_t send_would_block = 0;  // datagrams dropped because the socket buffer was full
  uint64_t send_refused = 0;
  uint64_t session_create_failed = 0;
  uint64_t sessions_created = 0;
  uint64_t sessions_freed_idle = 0;  // SessionIdleTimeout
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

  // Serves until SIGINT or SIGTERM.
  Expected<void> run();
  uint16_t port() const noexcept { return port_; }
  // Stats lines (`stats: peer=…`, `drops: …`) for operators and tests.
  void print_stats() const;

 private:
  friend struct PeerState;
  Server(config::ServerConfig config, net::EventLoop loop, net::UdpSocket socket);

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
  // net::TimerHandler: the end-of-pass flush of the send batch.
  void on_timer(net::TimePoint now) noexcept override;

  // control::UapiHandler: `wg show` and `wg set`. Changes last until the next restart or
  // reload; the configuration file stays the source of truth.
  control::DeviceSnapshot uapi_get() override;
  int uapi_set(const control::SetRequest& request) override;
  void add_peer_stats(const PeerState& state, control::PeerSnapshot& peer) const;
  // SIGHUP (see reload()).
  void reload() noexcept;
  bool prepare_reload(const config::ServerConfig& file, const ReloadPlan& plan,
                      std::vector<std::optional<wireguard::PeerAddress>>& endpoints);
  void apply_peer_update(const config::ServerPeer& wanted, const PeerUpdate& update,
                         const std::optional<wireguard::PeerAddress>& endpoint);
  static std::string label_of(const PeerState& state);
  void add_device_stats(control::DeviceSnapshot& snapshot) const;

  // Re-reads RLIMIT_NOFILE and counts the process's fds that are not slirp host sockets
  // (/proc/self/fd, else probing the fd table): control path only (start, session creation,
  // idle sweep).
  void refresh_fd_budget() noexcept;

  PeerState& add_peer(const config::ServerPeer& peer_config,
                      const wireguard::PeerAddress& endpoint);
  void remove_peer(PeerState& state);
  PeerState* find_state(const crypto::PublicKey& key) noexcept;

  void send_from_slirp(PeerState& state, std::span<const uint8_t> packet) noexcept;
  // A free slot of the send batch (flushing first when full).
  net::Datagram& next_send_slot() noexcept;
  void schedule_flush() noexcept;
  void flush() noexcept;
  bool ensure_session(PeerState& state) noexcept;
  // Hands slirp the TCP segments its sessions merged during this receive batch.
  void flush_session_input() noexcept;
  // The last send slot when a datagram of `datagram` bytes to `to` can join it as one more GSO
  // segment (same peer, not larger than the slot's segments, the slot's last one full size).
  net::Datagram* gso_tail(const net::Endpoint& to, size_t datagram) noexcept;
  // SessionIdleTimeout: arms the periodic sweep (none when the timeout is 0).
  void arm_idle_sweep(net::TimePoint now) noexcept;
  void sweep_idle_sessions(net::TimePoint now) noexcept;
  struct IdleSweep final : net::TimerHandler {
    explicit IdleSweep(Server& server) : server(server) {}
    void on_timer(net::TimePoint now) noexcept override;
    Server& server;
  };
  static PeerState& state_of(wireguard::Peer& peer) noexcept {
    return *static_cast<PeerState*>(peer.context);
  }

  config::ServerConfig config_;
  net::EventLoop loop_;
  net::UdpSocket socket_;
  uint16_t port_ = 0;
  net::SystemRandom random_;
  std::unique_ptr<wireguard::Device> device_;
  std::vector<std::unique_ptr<PeerState>> peers_;
  net::DatagramBatch receive_batch_;
  net::DatagramBatch send_batch_;
  size_t send_count_ = 0;
  PeerState* input_flush_head_ = nullptr;
  net::TimerId flush_timer_ = net::kNoTimer;
  IdleSweep idle_sweep_{*this};
  net::TimerId idle_sweep_timer_ = net::kNoTimer;
  ServerCounters counters_;
  // Shared by every session (slirp::FdBudget): new flows stop at RLIMIT_NOFILE - FdReserve.
  slirp::FdBudget fd_budget_;
  std::vector<net::IpAddress> host_addresses_;
  std::unique_ptr<control::UapiSocket> uapi_;
};

}  // namespace slirpvpn::server
