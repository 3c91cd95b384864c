// SPDX-License-Identifier: MIT
// The server's wiring: UDP batches and the protocol device on thread N, slirp sessions on
// thread S, the rings and commands between them, signals.
#include "server/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <dirent.h>
#include <malloc.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/assert.h"
#include "crypto/secret_arena.h"
#include "crypto/x25519.h"
#include "net/peer_address.h"
#include "server/reload_plan.h"
#include "server/session_config.h"

namespace slirpvpn::server {
namespace {

constexpr size_t kBatchSlots = 64;

// Ring and queue sizes, in packets; a slot is as large as the largest tunnel MTU, its bytes
// touched only as far as traffic reaches. A RingFeed keeps its ring at most half full (the rest
// waits in the peers' queues), so half a ring is what a light peer's packet may wait behind.
// Towards slirp: 256 in the ring and 512 queued, about as much as the peers' kernels (CUBIC,
// SACK) need to fill the path without queueing their own pings for long (a bulk upload ran at
// 1.8-2.3 Gbit/s with ping p99 5-8 ms when ring N→S took at most 512 of one peer's packets, 15 ms
// at 1792).
constexpr size_t kRingSlotsToSlirp = 512;
constexpr size_t kQueueSlotsToSlirp = 512;
// Towards the peers: 512 in the ring (about 4 ms of a 1.5 Gbit/s download, more than thread S
// spends between two feeds) and 4096 queued, which hold one slirp flow's window. slirp's TCP
// sends all of it at once when an ACK opens it (up to its 4 MiB buffer, about 2900 segments), and
// a drop halves that flow's window, which slirp's Reno recovers from badly (with room for a
// quarter of that, a single download fell from about 1550 to 1200 Mbit/s).
constexpr size_t kRingSlotsToPeers = 1024;
constexpr size_t kQueueSlotsToPeers = 4096;

// The idle sweep runs four times per SessionIdleTimeout (a session lives at most 1.25 times the
// timeout past its last packet), but not more often than this nor less often than that.
constexpr net::Duration kMinIdleSweep = std::chrono::milliseconds(250);
constexpr net::Duration kMaxIdleSweep = std::chrono::seconds(30);

uint64_t flows_refused(const slirp::SessionCounters& counters) noexcept {
  uint64_t total = 0;
  for (auto count : counters.flows_refused) total += count;
  return total;
}

// Everything that went through a session in either direction, refusals included: a change
// means the peer used its network since the last sweep. Keepalives never reach the session.
uint64_t session_activity(const slirp::SessionCounters& counters) noexcept {
  uint64_t total = counters.packets_in + counters.packets_out + counters.ipv6_disabled +
                   counters.echo_refused + counters.rst_sent + counters.icmp_prohibited_sent +
                   counters.refusals_rate_limited;
  for (auto count : counters.ip_drops) total += count;
  for (auto count : counters.refused) total += count;
  return total + flows_refused(counters);
}

// Each flow through slirp is a host socket: take the hard limit (issue: many peers, many flows).
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The size of this process's fd table (FDSize in /proc/self/status, which stays readable when
// the process is not dumpable): every open fd is below it. 0 if unknown.
std::size_t fd_table_size() noexcept {
  std::FILE* status = std::fopen("/proc/self/status", "re");
  if (status == nullptr) return 0;
  char line[256];
  std::size_t size = 0;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::sscanf(line, "FDSize: %zu", &size) == 1) break;
  }
  std::fclose(status);
  return size;
}

// Open fds of this process. Under the sandbox /proc/self/fd cannot be listed (getdents64 is
// refused): then every number below the fd table's size is probed (a few thousand fcntl calls at
// most, control path only).
std::size_t count_open_fds(std::size_t limit) noexcept {
  if (DIR* dir = opendir("/proc/self/fd")) {
    std::size_t count = 0;
    errno = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    const bool listed = errno == 0 && count > 0;  // the sandbox refuses getdents64 (EPERM)
    closedir(dir);
    if (listed) return count - 1;  // opendir's own fd
  }
  std::size_t end = fd_table_size();
  if (end == 0) end = std::min<std::size_t>(limit == 0 ? 65536 : limit, 65536);
  std::size_t count = 0;
  for (std::size_t fd = 0; fd < end; ++fd)
    count += fcntl(int(fd), F_GETFL) != -1 ? 1 : 0;  // F_GETFL: the sandbox allows it
  return count;
}

// The inner packet's source address; the device has checked the IP header's length already.
net::IpAddress inner_source(std::span<const uint8_t> packet) noexcept {
  if (packet[0] >> 4 == 4)
    return net::IpAddress::v4({packet[12], packet[13], packet[14], packet[15]});
  std::array<uint8_t, 16> bytes;
  std::copy(packet.begin() + 8, packet.begin() + 24, bytes.begin());
  return net::IpAddress::v6(bytes);
}

std::string key_text(const crypto::PublicKey& key) {
  return crypto::encode_key(key.span());
}

}  // namespace

// Runs on thread S.
void SessionSlot::deliver_ip(std::span<const uint8_t> packet) noexcept {
  if (server.feed_to_peers_.push(id, generation, packet)) server.loop_.wake();
}

void PeerState::on_timer(net::TimePoint now) noexcept {
  timer = net::kNoTimer;
  armed_for = net::TimePoint::max();
  server.device_->on_timer(peer, now);
  server.on_timers_changed(peer);
}

Expected<std::unique_ptr<Server>> Server::create(config::ServerConfig config,
                                                 const ServerOptions& options) {
  if (!crypto::initialize()) return fail("libsodium", "initialisation failed");
  raise_file_limit();
  // glibc gives thread S its own malloc arena, whose freed pages (slirp's per-connection 4 MiB
  // buffers) are not returned the way the main arena's are: the RSS stayed at 85 MiB after a
  // benchmark instead of 20. Only thread S allocates while serving, so one arena costs no
  // contention.
  mallopt(M_ARENA_MAX, 1);
  auto loop = net::EventLoop::create();
  if (!loop) return tl::unexpected(loop.error());
  auto slirp_loop = net::EventLoop::create();
  if (!slirp_loop) return tl::unexpected(slirp_loop.error());
  auto socket = net::UdpSocket::open(config.interface.listen_port);
  if (!socket) return tl::unexpected(socket.error());
  std::unique_ptr<Server> server(
      new Server(std::move(config), std::move(*loop), std::move(*socket), std::move(*slirp_loop)));

  server->host_addresses_ = host_addresses();
  for (const auto& peer_config : server->config_.peers) {
    wireguard::PeerAddress endpoint;
    if (peer_config.endpoint) {
      auto resolved = net::resolve_endpoint(peer_config.endpoint->host, peer_config.endpoint->port);
      if (!resolved) return tl::unexpected(resolved.error());
      if (!resolved->empty()) endpoint = net::to_peer_address(resolved->front());
    }
    server->add_peer(peer_config, endpoint);
  }
  // Port forwards listen from the start; other peers get their network on first use.
  for (auto& state : server->peers_) {
    if (!state->config.forward_ports.empty() && !server->start_session(*state)) {
      return fail("port forward", "peer " + key_text(state->peer.public_key()) +
                                      ": could not create its slirp network");
    }
  }
  server->fd_budget_.reserve = server->config_.interface.fd_reserve;
  server->arm_idle_sweep(net::Clock::now());
  if (auto added = server->loop_.add(server->socket_.fd(), EPOLLIN, server.get()); !added) {
    return tl::unexpected(added.error());
  }
  if (auto watched = server->loop_.watch_signals({SIGINT, SIGTERM, SIGUSR1, SIGHUP}, server.get());
      !watched) {
    return tl::unexpected(watched.error());
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (!options.uapi_path.empty()) {
    auto uapi = control::UapiSocket::open(options.uapi_path, server->loop_,
                                          static_cast<control::UapiHandler&>(*server));
    if (!uapi) return tl::unexpected(uapi.error());
    server->uapi_ = std::move(*uapi);
  }
  // After every fd of the server's own is open (sockets, epoll, signals, UAPI).
  server->refresh_fd_budget();
  // Last: from here on the sessions belong to thread S. Before the sandbox (clone is not in it).
  if (auto started = server->start_slirp_thread(); !started) {
    return tl::unexpected(started.error());
  }
  return server;
}

namespace {

// The largest tunnel MTU configured, plus room for the padding Device::receive may leave.
size_t largest_packet(const config::ServerConfig& config) {
  uint32_t mtu = config.interface.mtu;
  for (const auto& peer : config.peers) mtu = std::max(mtu, peer.mtu.value_or(0));
  return std::max<size_t>(2048, mtu + wireguard::kPaddingMultiple);
}

}  // namespace

Server::Server(config::ServerConfig config, net::EventLoop loop, net::UdpSocket socket,
               net::EventLoop slirp_loop)
    : config_(std::move(config)),
      loop_(std::move(loop)),
      socket_(std::move(socket)),
      port_(socket_.local_port()),
      receive_batch_(kBatchSlots, net::kMaxDatagramSize),
      send_batch_(kBatchSlots,
                  [&] {
                    if (socket_.gso_enabled()) return net::kMaxDatagramSize;
                    uint32_t mtu = config_.interface.mtu;
                    for (const auto& peer : config_.peers)
                      mtu = std::max(mtu, peer.mtu.value_or(0));
                    return std::max<size_t>(
                        2048, mtu + wireguard::kTransportMinSize + wireguard::kPaddingMultiple);
                  }()),
      to_slirp_(kRingSlotsToSlirp, largest_packet(config_)),
      to_peers_(kRingSlotsToPeers, largest_packet(config_)),
      feed_to_slirp_(to_slirp_, kQueueSlotsToSlirp),
      feed_to_peers_(to_peers_, kQueueSlotsToPeers),
      slirp_loop_(std::move(slirp_loop)) {
  device_ = std::make_unique<wireguard::Device>(config_.interface.private_key, random_,
                                                static_cast<wireguard::DeviceOutput&>(*this),
                                                [] { return std::chrono::system_clock::now(); });
  loop_.set_wait_hook(&network_hook_);
  slirp_loop_.set_wait_hook(&slirp_hook_);
}

Server::~Server() {
  stop_slirp_thread();
  uapi_.reset();
  loop_.cancel(flush_timer_);
  slirp_loop_.cancel(idle_sweep_timer_);
  for (auto& state : peers_) loop_.cancel(state->timer);
  // Sessions unregister their fds from slirp_loop_, which outlives them.
  for (auto& slot : slots_) slot->session.reset();
}

Expected<void> Server::run() {
  spdlog::info("server: listening on udp port {} with {} peer(s)", port_, peers_.size());
  if (uapi_) spdlog::info("server: control socket {}", uapi_->path());
  auto result = loop_.run();
  stop_slirp_thread();
  drain_to_peers();
  flush();
  print_stats();
  return result;
}

// ---- the two threads -------------------------------------------------------------------------

Expected<SandboxReport> Server::apply_sandbox() {
  Expected<bool> dropped = false;
  run_on_slirp([&] { dropped = drop_capabilities(); });
  if (!dropped) return tl::unexpected(dropped.error());
  return server::apply_sandbox();
}

Expected<void> Server::start_slirp_thread() {
  // Thread S inherits this mask: every signal stays with thread N's signalfd.
  sigset_t all, previous;
  sigfillset(&all);
  if (int rc = pthread_sigmask(SIG_BLOCK, &all, &previous); rc != 0) {
    return fail("pthread_sigmask", {}, rc);
  }
  slirp_thread_ = std::thread([this] {
    if (auto result = slirp_loop_.run(); !result) {
      // epoll_wait failing on our own epoll fd: nothing to recover, and thread N would wait
      // for this thread's replies forever.
      spdlog::critical("server: slirp thread: {}", result.error().message());
      std::abort();
    }
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  // For top -H and /proc/PID/task/*/comm (15 characters at most).
  pthread_setname_np(slirp_thread_.native_handle(), "slirpvpn-slirp");
  return {};
}

void Server::stop_slirp_thread() {
  if (!slirp_thread_.joinable()) return;
  run_on_slirp([this] { slirp_loop_.stop(); });
  slirp_thread_.join();
}

void Server::run_on_slirp(const std::function<void()>& work) const {
  if (!slirp_thread_.joinable()) {
    work();
    return;
  }
  std::mutex done_mutex;
  std::condition_variable done_changed;
  bool done = false;
  {
    std::lock_guard lock(commands_mutex_);
    commands_.emplace_back([&] {
      work();
      std::lock_guard done_lock(done_mutex);
      done = true;
      done_changed.notify_one();
    });
    commands_pending_.store(true, std::memory_order_release);
  }
  slirp_loop_.wake();
  std::unique_lock done_lock(done_mutex);
  done_changed.wait(done_lock, [&] { return done; });
}

bool Server::run_commands() noexcept {
  if (!commands_pending_.load(std::memory_order_acquire)) return false;
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(commands_mutex_);
    work.swap(commands_);
    commands_pending_.store(false, std::memory_order_relaxed);
  }
  for (auto& command : work) command();
  return !work.empty();
}

bool Server::SlirpHook::before_wait() noexcept {
  const bool commands = server.run_commands();
  const size_t drained = server.drain_to_slirp();
  server.feed_to_peers();
  if (commands || drained == server.to_slirp_.slots()) return false;
  if (!server.feed_to_peers_.prepare_wait()) return false;
  return server.to_slirp_.prepare_sleep();
}

bool Server::NetworkHook::before_wait() noexcept {
  const bool full_drain = server.drain_to_peers() == server.to_peers_.slots();
  server.feed_to_slirp();
  if (full_drain || !server.feed_to_slirp_.prepare_wait()) return false;
  return server.to_peers_.prepare_sleep();
}

void Server::feed_to_slirp() noexcept {
  if (feed_to_slirp_.feed()) slirp_loop_.wake();
}

void Server::feed_to_peers() noexcept {
  if (feed_to_peers_.feed()) loop_.wake();
}

size_t Server::drain_to_peers() noexcept {
  size_t taken = 0;
  while (taken < to_peers_.slots()) {
    const net::PacketRing::Packet* packet = to_peers_.front();
    if (packet == nullptr) break;
    if (PeerState* state = state_by_id(packet->peer, packet->generation)) {
      send_from_slirp(*state, packet->bytes);
    } else {
      ++counters_.peer_gone_out;
    }
    to_peers_.pop();
    // Slots go back in batches, so thread S can refill while we encrypt the rest.
    if (++taken % kReleaseBatch == 0 && to_peers_.release()) slirp_loop_.wake();
  }
  if (to_peers_.release()) slirp_loop_.wake();
  if (taken > 0) flush();
  return taken;
}

size_t Server::drain_to_slirp() noexcept {
  size_t taken = 0;
  while (taken < to_slirp_.slots()) {
    const net::PacketRing::Packet* packet = to_slirp_.front();
    if (packet == nullptr) break;
    SessionSlot* slot = packet->peer < slots_.size() ? slots_[packet->peer].get() : nullptr;
    if (slot == nullptr || !slot->in_use || slot->generation != packet->generation) {
      ++slirp_counters_.peer_gone_in;
    } else if (ensure_session(*slot)) {
      slot->session->input_ip_packet(packet->bytes);
      if (slot->session->input_pending() && !slot->input_flush_queued) {
        slot->input_flush_queued = true;
        slot->next_input_flush = input_flush_head_;
        input_flush_head_ = slot;
      }
    }
    to_slirp_.pop();
    if (++taken % kReleaseBatch == 0 && to_slirp_.release()) loop_.wake();
  }
  if (to_slirp_.release()) loop_.wake();
  flush_session_input();
  return taken;
}

PeerState& Server::add_peer(const config::ServerPeer& peer_config,
                            const wireguard::PeerAddress& endpoint) {
  wireguard::PeerConfig peer;
  peer.public_key = peer_config.public_key;
  peer.preshared_key = peer_config.preshared_key;
  peer.persistent_keepalive = peer_config.persistent_keepalive;
  peer.endpoint = endpoint;
  auto& protocol_peer = device_->add_peer(peer);
  const auto free_id = std::find(peers_by_id_.begin(), peers_by_id_.end(), nullptr);
  const auto id = uint32_t(free_id - peers_by_id_.begin());
  if (free_id == peers_by_id_.end()) {
    peers_by_id_.push_back(nullptr);
    id_generations_.push_back(0);
  }
  const uint32_t generation = ++id_generations_[id];
  feed_to_slirp_.reserve_ids(id + 1);
  feed_to_slirp_.reset_drops(id);
  auto state = std::make_unique<PeerState>(
      *this, protocol_peer, peer_config,
      make_session_config(config_.interface, peer_config, host_addresses_), id, generation);
  protocol_peer.context = state.get();
  peers_by_id_[id] = state.get();
  peers_.push_back(std::move(state));
  PeerState& added = *peers_.back();
  run_on_slirp([this, &added, label = label_of(added)] {
    open_slot(added.id, added.generation, label, added.session_config);
  });
  return added;
}

void Server::remove_peer(PeerState& state) {
  // The device still reports events for the peer while removing it: the state must live.
  const crypto::PublicKey key = state.peer.public_key();
  device_->remove_peer(key);
  loop_.cancel(state.timer);
  // Packets of this peer still in either ring are dropped by their id's check from now on.
  run_on_slirp([this, id = state.id] {
    SessionSlot& slot = *slots_[id];
    slot.in_use = false;
    // Only drain_to_slirp queues slots for input flushing, and it empties the list first.
    SLIRPVPN_ASSERT(input_flush_head_ == nullptr);
    slot.session.reset();
  });
  peers_by_id_[state.id] = nullptr;
  std::erase_if(peers_, [&](const auto& candidate) { return candidate.get() == &state; });
}

PeerState* Server::find_state(const crypto::PublicKey& key) noexcept {
  wireguard::Peer* peer = device_->find_peer(key);
  return peer ? &state_of(*peer) : nullptr;
}

PeerState* Server::state_by_id(uint32_t id, uint32_t generation) noexcept {
  if (id >= peers_by_id_.size()) return nullptr;
  PeerState* state = peers_by_id_[id];
  return state != nullptr && state->generation == generation ? state : nullptr;
}

bool Server::start_session(const PeerState& state) {
  bool started = false;
  run_on_slirp([&] { started = ensure_session(*slots_[state.id]); });
  return started;
}

// Thread S: (re)binds the slot to a peer with a fresh configuration; its old session, if any,
// is freed (its flows end) and the next packet or start_session() creates one.
void Server::open_slot(uint32_t id, uint32_t generation, std::string label,
                       slirp::SessionConfig config) {
  while (slots_.size() <= id)
    slots_.push_back(std::make_unique<SessionSlot>(*this, uint32_t(slots_.size())));
  feed_to_peers_.reserve_ids(id + 1);
  feed_to_peers_.reset_drops(id);
  SessionSlot& slot = *slots_[id];
  slot.session.reset();
  slot.generation = generation;
  slot.in_use = true;
  slot.label = std::move(label);
  slot.config = std::move(config);
}

SlirpView Server::slirp_view(bool with_flows) const {
  SlirpView view;
  run_on_slirp([&] {
    view.counters = slirp_counters_;
    view.sessions.resize(slots_.size());
    for (size_t id = 0; id < slots_.size(); ++id) {
      const SessionSlot& slot = *slots_[id];
      if (!slot.in_use) continue;
      auto& session = view.sessions[id];
      session.queue_full_out = feed_to_peers_.dropped(uint32_t(id));
      if (!slot.session) continue;
      session.active = true;
      session.fds = slot.session->registered_fd_count();
      session.counters = slot.session->counters();
      session.host_sockets = slot.session->host_sockets();
      if (with_flows) session.flows = slot.session->flow_count();
    }
    view.fd_budget = fd_budget_;
  });
  // Peers added after the copy (none: N is the only thread adding) would index past its end.
  view.sessions.resize(std::max(view.sessions.size(), peers_by_id_.size()));
  return view;
}

control::DeviceSnapshot Server::uapi_get() {
  const SlirpView view = slirp_view(true);
  control::DeviceSnapshot snapshot;
  std::copy(config_.interface.private_key.span().begin(),
            config_.interface.private_key.span().end(), snapshot.private_key.begin());
  snapshot.listen_port = port_;
  for (const auto& state : peers_) {
    control::PeerSnapshot peer;
    peer.public_key = state->peer.public_key().bytes;
    std::copy(state->config.preshared_key.span().begin(), state->config.preshared_key.span().end(),
              peer.preshared_key.begin());
    if (!state->peer.endpoint().empty()) peer.endpoint = net::to_endpoint(state->peer.endpoint());
    peer.last_handshake = state->peer.stats().last_handshake_wall;
    peer.tx_bytes = state->peer.stats().tx_bytes;
    peer.rx_bytes = state->peer.stats().rx_bytes;
    peer.persistent_keepalive = uint16_t(state->peer.timers().persistent_keepalive().count());
    peer.allowed_ips = state->config.allowed_ips;
    add_peer_stats(*state, view.sessions[state->id], peer);
    snapshot.peers.push_back(std::move(peer));
  }
  add_device_stats(snapshot, view);
  return snapshot;
}

// `slirpvpn show`'s keys (control/show.h): counts only, never a flow's addresses.
void Server::add_peer_stats(const PeerState& state, const SlirpView::Session& session,
                            control::PeerSnapshot& peer) const {
  if (!state.config.name.empty()) peer.extra.emplace_back("name", state.config.name);
  peer.extra.emplace_back("slirp_active", session.active ? "1" : "0");
  // Which peers lost packets when the round-robin queues overflowed (the longest queue pays).
  const std::pair<const char*, uint64_t> queue_drops[] = {
      {"queue_full_in", feed_to_slirp_.dropped(state.id)},
      {"queue_full_out", session.queue_full_out},
  };
  for (const auto& [name, value] : queue_drops) {
    if (value > 0) peer.extra.emplace_back(std::string("drop_") + name, std::to_string(value));
  }
  if (!session.active) return;
  peer.extra.emplace_back("tcp_flows", std::to_string(session.flows.tcp));
  peer.extra.emplace_back("udp_flows", std::to_string(session.flows.udp));
  // Exact, from slirp's socket callbacks (the flow limits count these).
  peer.extra.emplace_back("host_sockets", std::to_string(session.host_sockets.total()));
  const auto& counters = session.counters;
  uint64_t denied = 0;
  for (auto count : counters.refused) denied += count;
  peer.extra.emplace_back("egress_denied", std::to_string(denied));
  if (state.session_config.limits.rate_limit_bits_per_second != 0) {
    peer.extra.emplace_back("rate_limit",
                            std::to_string(state.session_config.limits.rate_limit_bits_per_second));
    peer.extra.emplace_back("rate_delayed_in", std::to_string(counters.rate_delayed_in));
    peer.extra.emplace_back("rate_delayed_out", std::to_string(counters.rate_delayed_out));
  }
  slirp::for_each_drop(counters, [&peer](const char* name, uint64_t value) {
    if (value > 0) peer.extra.emplace_back(std::string("drop_") + name, std::to_string(value));
  });
}

void Server::add_device_stats(control::DeviceSnapshot& snapshot, const SlirpView& view) const {
  for_each_drop(view, [&snapshot](const char* name, uint64_t value) {
    snapshot.extra.emplace_back(std::string("drop_") + name, std::to_string(value));
  });
}

// The server's own drop reasons, each with a count above zero: the device's, the UDP socket's,
// and the rings' between the threads (see the Theory of operation in server.h).
void Server::for_each_drop(const SlirpView& view,
                           const std::function<void(const char*, uint64_t)>& visit) const {
  const auto& drops = device_->drops();
  for (size_t i = 1; i < size_t(wireguard::DropReason::kCount); ++i) {
    const auto reason = wireguard::DropReason(i);
    if (drops[reason] > 0) visit(wireguard::drop_reason_name(reason), drops[reason]);
  }
  const std::pair<const char*, uint64_t> counts[] = {
      {"send_would_block", counters_.send_would_block},
      {"send_refused", counters_.send_refused},
      {"ring_full_in", to_slirp_.dropped_full()},
      {"ring_full_out", to_peers_.dropped_full()},
      {"ring_oversize_in", to_slirp_.dropped_oversize()},
      {"ring_oversize_out", to_peers_.dropped_oversize()},
      {"queue_full_in", feed_to_slirp_.dropped()},
      {"queue_full_out", feed_to_peers_.dropped()},
      {"peer_gone_in", view.counters.peer_gone_in},
      {"peer_gone_out", counters_.peer_gone_out},
  };
  for (const auto& [name, value] : counts) {
    if (value > 0) visit(name, value);
  }
}

int Server::uapi_set(const control::SetRequest& request) {
  // What a running server cannot change: refused unless it restates the current value.
  if (request.private_key && *request.private_key != uapi_get().private_key) return EOPNOTSUPP;
  if (request.listen_port && *request.listen_port != port_) return EOPNOTSUPP;
  if (request.fwmark && *request.fwmark != 0) return EOPNOTSUPP;
  if (request.replace_peers) {
    std::vector<PeerState*> unlisted;
    for (auto& state : peers_) {
      const bool listed = std::any_of(
          request.peers.begin(), request.peers.end(),
          [&](const auto& change) { return change.public_key == state->peer.public_key().bytes; });
      if (!listed) unlisted.push_back(state.get());
    }
    for (PeerState* state : unlisted) remove_peer(*state);
  }
  const auto now = net::Clock::now();
  for (const auto& change : request.peers) {
    const crypto::PublicKey key{change.public_key};
    PeerState* state = find_state(key);
    if (change.remove) {
      if (state) {
        spdlog::info("server: peer {} removed (control socket)", key_text(key));
        remove_peer(*state);
      }
      continue;
    }
    if (!state) {
      if (change.update_only) continue;
      if (key == device_->identity().public_key) return EINVAL;
      config::ServerPeer peer_config;
      peer_config.public_key = key;
      if (change.allowed_ips.empty()) {
        // As in a configuration file without AllowedIPs: the session's client addresses.
        const auto session = make_session_config(config_.interface, peer_config, host_addresses_);
        peer_config.allowed_ips.emplace_back(session.client, 32);
        if (session.ipv6_enabled) peer_config.allowed_ips.emplace_back(session.client6, 128);
      }
      state = &add_peer(peer_config, {});
      spdlog::info("server: peer {} added (control socket)", key_text(key));
    }
    if (change.preshared_key) {
      state->config.preshared_key =
          crypto::SymmetricKey(std::span<const uint8_t, 32>(*change.preshared_key));
      state->config.has_preshared_key = !state->config.preshared_key.is_zero();
      state->peer.set_preshared_key(state->config.preshared_key);
    }
    if (change.name) state->config.name = *change.name;
    if (change.endpoint) state->peer.set_endpoint(net::to_peer_address(*change.endpoint));
    if (change.persistent_keepalive) {
      state->config.persistent_keepalive = std::chrono::seconds(*change.persistent_keepalive);
      device_->set_persistent_keepalive(state->peer, state->config.persistent_keepalive, now);
    }
    if (change.replace_allowed_ips) state->config.allowed_ips.clear();
    for (const auto& prefix : change.allowed_ips) state->config.allowed_ips.push_back(prefix);
  }
  flush();
  return 0;
}

void Server::on_signal(int signal_number) noexcept {
  if (signal_number == SIGUSR1) {
    print_stats();
    return;
  }
  if (signal_number == SIGHUP) {
    reload();
    return;
  }
  spdlog::info("server: stopping on signal {}", signal_number);
  loop_.stop();
}

// SIGHUP: the file is the source of truth again (`wg syncconf`'s rule). Everything that can
// fail (reading, parsing, key files, names to resolve, sizes) is checked before the first
// change, so a bad file leaves the running configuration whole.
void Server::reload() noexcept {
  auto file = config::load_server_config(config_.file);
  if (!file) {
    spdlog::error("reload: {}; keeping the running configuration", file.error().to_string());
    return;
  }
  for (const auto& warning : file->warnings) spdlog::warn("reload: {}", warning);
  std::vector<const config::ServerPeer*> running;
  for (const auto& state : peers_) running.push_back(&state->config);
  const ReloadPlan plan = plan_reload(config_.interface, running, *file);
  std::vector<std::optional<wireguard::PeerAddress>> endpoints(file->peers.size());
  if (!prepare_reload(*file, plan, endpoints)) return;
  for (const auto& setting : plan.needs_restart) {
    spdlog::warn("reload: [Interface] {} changed: that takes a restart; the running value stays",
                 setting);
  }
  for (const auto& key : plan.removed) {
    if (PeerState* state = find_state(key)) {
      spdlog::info("reload: peer {} removed", label_of(*state));
      remove_peer(*state);
    }
  }
  for (size_t index : plan.added) {
    PeerState& state =
        add_peer(file->peers[index], endpoints[index].value_or(wireguard::PeerAddress{}));
    if (!state.config.forward_ports.empty()) start_session(state);
    spdlog::info("reload: peer {} added", label_of(state));
  }
  for (const auto& update : plan.updated)
    apply_peer_update(file->peers[update.index], update, endpoints[update.index]);
  // New peers' slirp networks take the running [Interface] (a changed one waits for a restart).
  file->interface = config_.interface;
  config_.peers = std::move(file->peers);
  flush();
  spdlog::info("reload: {} added, {} removed, {} updated, {} unchanged", plan.added.size(),
               plan.removed.size(), plan.updated.size(), plan.unchanged);
}

bool Server::prepare_reload(const config::ServerConfig& file, const ReloadPlan& plan,
                            std::vector<std::optional<wireguard::PeerAddress>>& endpoints) {
  const auto fail_reload = [&](const config::ServerPeer& peer, const std::string& what) {
    spdlog::error("reload: {}:{}: {}; keeping the running configuration", file.file, peer.line,
                  what);
    return false;
  };
  std::vector<size_t> touched(plan.added);
  for (const auto& update : plan.updated) touched.push_back(update.index);
  for (size_t index : touched) {
    const auto& peer = file.peers[index];
    // The send batch was sized for the largest MTU at start-up.
    const size_t mtu = peer.mtu.value_or(config_.interface.mtu);
    if (mtu + wireguard::kTransportMinSize + wireguard::kPaddingMultiple >
            send_batch_.slot_capacity() ||
        mtu + wireguard::kPaddingMultiple > to_slirp_.slot_bytes()) {
      return fail_reload(peer, "MTU " + std::to_string(mtu) + " is larger than at start-up " +
                                   "(restart the server for it)");
    }
    const bool wants_endpoint =
        std::find(plan.added.begin(), plan.added.end(), index) != plan.added.end() ||
        std::any_of(plan.updated.begin(), plan.updated.end(),
                    [&](const auto& u) { return u.index == index && u.endpoint; });
    if (!wants_endpoint || !peer.endpoint) continue;
    auto resolved = net::resolve_endpoint(peer.endpoint->host, peer.endpoint->port);
    if (!resolved) return fail_reload(peer, "Endpoint: " + resolved.error().message());
    if (!resolved->empty()) endpoints[index] = net::to_peer_address(resolved->front());
  }
  return true;
}

// A peer in the running set and in the file: only what differs changes; its keys, handshake
// state and (unless MTU or ForwardPort changed) its slirp network and their flows stay.
void Server::apply_peer_update(const config::ServerPeer& wanted, const PeerUpdate& update,
                               const std::optional<wireguard::PeerAddress>& endpoint) {
  PeerState* state = find_state(wanted.public_key);
  if (state == nullptr) return;
  if (update.preshared_key) state->peer.set_preshared_key(wanted.preshared_key);
  if (update.keepalive) {
    device_->set_persistent_keepalive(state->peer, wanted.persistent_keepalive, net::Clock::now());
  }
  if (update.endpoint && endpoint) state->peer.set_endpoint(*endpoint);
  state->config = wanted;
  state->session_config.limits = flow_limits(config_.interface, wanted);
  run_on_slirp([this, id = state->id, limits = state->session_config.limits] {
    SessionSlot& slot = *slots_[id];
    slot.config.limits = limits;
    if (slot.session) slot.session->set_limits(limits);
  });
  if (update.session) {
    state->session_config = make_session_config(config_.interface, wanted, host_addresses_);
    run_on_slirp([this, state, label = label_of(*state)] {
      open_slot(state->id, state->generation, label, state->session_config);
    });
    if (!wanted.forward_ports.empty()) start_session(*state);
  }
  spdlog::info("reload: peer {} updated{}", label_of(*state),
               update.session ? " (its slirp network was rebuilt: MTU or ForwardPort)" : "");
}

std::string Server::label_of(const PeerState& state) {
  return state.config.name.empty() ? key_text(state.peer.public_key()) : state.config.name;
}

void Server::on_io(int, uint32_t) noexcept {
  for (int round = 0; round < 16; ++round) {
    const auto received = socket_.recv_batch(receive_batch_);
    if (!received || *received == 0) break;
    const auto now = net::Clock::now();
    for (size_t i = 0; i < *received; ++i) {
      auto& slot = receive_batch_[i];
      const auto from = net::to_peer_address(slot.peer);
      for (size_t k = 0; k < slot.segment_count(); ++k) {
        const auto segment = slot.segment(k);
        device_->receive({const_cast<uint8_t*>(segment.data()), segment.size()}, from, now);
      }
    }
    // Thread S starts on this round while we read the next.
    feed_to_slirp();
    if (*received < receive_batch_.slots()) break;
  }
  flush();
}

void Server::flush_session_input() noexcept {
  while (input_flush_head_ != nullptr) {
    SessionSlot& slot = *input_flush_head_;
    input_flush_head_ = slot.next_input_flush;
    slot.next_input_flush = nullptr;
    slot.input_flush_queued = false;
    if (slot.session) slot.session->flush_input();
  }
}

void Server::deliver_packet(wireguard::Peer& peer, std::span<uint8_t> packet) noexcept {
  PeerState& state = state_of(peer);
  const net::IpAddress source = inner_source(packet);
  const bool allowed = std::any_of(state.config.allowed_ips.begin(), state.config.allowed_ips.end(),
                                   [&](const auto& prefix) { return prefix.contains(source); });
  if (!allowed) {
    device_->drops().add(wireguard::DropReason::kInnerSourceNotAllowed);
    return;
  }
  if (feed_to_slirp_.push(state.id, state.generation, packet)) slirp_loop_.wake();
}

bool Server::ensure_session(SessionSlot& slot) noexcept {
  if (slot.session) return true;
  slot.config.fd_budget = &fd_budget_;
  auto session = slirp::SlirpSession::create(slot.config, slirp_loop_, slot);
  if (!session) {
    ++slirp_counters_.session_create_failed;
    spdlog::error("server: peer {}: slirp network not created: {}", slot.label,
                  session.error().message());
    return false;
  }
  slot.session = std::move(*session);
  ++slirp_counters_.sessions_created;
  refresh_fd_budget();
  slot.session_activity = 0;
  slot.session_active_at = net::Clock::now();
  return true;
}

void Server::refresh_fd_budget() noexcept {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    fd_budget_.limit = std::size_t(limit.rlim_cur);
  }
  const std::size_t open = count_open_fds(fd_budget_.limit);
  // An fd slirp closed without telling (rare error paths) is counted in slirp_sockets until its
  // number is reused: the budget errs on the safe side.
  fd_budget_.other_fds = open > fd_budget_.slirp_sockets ? open - fd_budget_.slirp_sockets : 0;
}

void Server::arm_idle_sweep(net::TimePoint now) noexcept {
  const net::Duration timeout = config_.interface.session_idle_timeout;
  if (timeout == net::Duration::zero()) return;
  const net::Duration period = std::clamp<net::Duration>(timeout / 4, kMinIdleSweep, kMaxIdleSweep);
  idle_sweep_timer_ = slirp_loop_.schedule(now + period, &idle_sweep_);
}

void Server::IdleSweep::on_timer(net::TimePoint now) noexcept {
  server.idle_sweep_timer_ = net::kNoTimer;
  server.refresh_fd_budget();
  server.sweep_idle_sessions(now);
  server.arm_idle_sweep(now);
}

void Server::sweep_idle_sessions(net::TimePoint now) noexcept {
  const net::Duration timeout = config_.interface.session_idle_timeout;
  size_t freed = 0;
  for (auto& slot : slots_) {
    if (!slot->session || !slot->config.port_forwards.empty()) continue;
    const uint64_t activity = session_activity(slot->session->counters());
    if (activity != slot->session_activity) {
      slot->session_activity = activity;
      slot->session_active_at = now;
      continue;
    }
    if (now - slot->session_active_at < timeout || slot->session->has_flows()) continue;
    spdlog::debug(
        "server: peer {}: slirp network freed after {} s idle", slot->label,
        std::chrono::duration_cast<std::chrono::seconds>(now - slot->session_active_at).count());
    slot->session.reset();
    ++slirp_counters_.sessions_freed_idle;
    ++freed;
  }
  // Each session's buffers (~140 KiB measured) were carved from the heap between other
  // allocations: hand the freed pages back to the kernel, or the RSS would stay at its peak.
  if (freed > 0) malloc_trim(0);
}

void Server::send_from_slirp(PeerState& state, std::span<const uint8_t> packet) noexcept {
  if (state.peer.endpoint().empty()) return;
  const net::Endpoint to = net::to_endpoint(state.peer.endpoint());
  const size_t datagram = wireguard::transport_datagram_size(packet.size());
  // slirp's large segments leave as runs of equal-size datagrams to one peer: one GSO send
  // each, and on the client's side (UDP GRO) often one receive.
  net::Datagram* slot = gso_tail(to, datagram);
  const bool appending = slot != nullptr;
  if (!appending) {
    slot = &next_send_slot();
    slot->peer = to;
  }
  const auto result = device_->encapsulate(state.peer, packet, slot->buffer().subspan(slot->length),
                                           net::Clock::now());
  if (result.length == 0) return;  // staged until a handshake completes
  SLIRPVPN_ASSERT(result.length == datagram);
  if (appending && slot->segment_size == 0) slot->segment_size = uint16_t(slot->length);
  slot->length += uint32_t(result.length);
  if (!appending) ++send_count_;
  schedule_flush();
}

net::Datagram* Server::gso_tail(const net::Endpoint& to, size_t datagram) noexcept {
  if (send_count_ == 0 || !socket_.gso_enabled()) return nullptr;
  net::Datagram& last = send_batch_[send_count_ - 1];
  return net::can_join_gso(last, to, datagram) ? &last : nullptr;
}

void Server::send_datagram(const wireguard::PeerAddress& to,
                           std::span<const uint8_t> datagram) noexcept {
  net::Datagram& slot = next_send_slot();
  std::copy(datagram.begin(), datagram.end(), slot.data);
  slot.length = uint32_t(datagram.size());
  slot.peer = net::to_endpoint(to);
  ++send_count_;
  schedule_flush();
}

net::Datagram& Server::next_send_slot() noexcept {
  if (send_count_ == send_batch_.slots()) flush();
  net::Datagram& slot = send_batch_[send_count_];
  slot.reset();
  return slot;
}

void Server::schedule_flush() noexcept {
  if (flush_timer_ == net::kNoTimer)
    flush_timer_ = loop_.schedule(net::Clock::now(), static_cast<net::TimerHandler*>(this));
}

void Server::on_timer(net::TimePoint) noexcept {
  flush_timer_ = net::kNoTimer;
  flush();
}

void Server::flush() noexcept {
  size_t begin = 0;
  while (begin < send_count_) {
    const auto outcome = socket_.send_batch(send_batch_, begin, send_count_);
    counters_.send_refused += outcome.dropped;
    begin += outcome.consumed + outcome.dropped;
    if (outcome.would_block) {
      counters_.send_would_block += send_count_ - begin;
      break;
    }
    if (outcome.consumed + outcome.dropped == 0) break;
  }
  send_count_ = 0;
}

void Server::on_peer_event(wireguard::Peer& peer, wireguard::PeerEvent event) noexcept {
  const auto& name = state_of(peer).config.name;
  const std::string label = name.empty() ? key_text(peer.public_key()) : name;
  if (event == wireguard::PeerEvent::kHandshakeComplete) {
    if (peer.stats().handshakes_completed == 1) {
      spdlog::info("server: peer {} up from {}", label,
                   net::to_endpoint(peer.endpoint()).to_string());
    } else {
      spdlog::debug("server: peer {} handshake", label);
    }
  } else {
    spdlog::debug("server: peer {} keys wiped", label);
  }
}

void Server::on_timers_changed(wireguard::Peer& peer) noexcept {
  PeerState& state = state_of(peer);
  const auto next = device_->next_expiry(peer);
  if (next == state.armed_for) return;
  if (next == net::TimePoint::max()) {
    loop_.cancel(state.timer);
    state.timer = net::kNoTimer;
  } else if (state.timer == net::kNoTimer || !loop_.reschedule(state.timer, next)) {
    state.timer = loop_.schedule(next, &state);
  }
  state.armed_for = next;
}

#if defined(__SANITIZE_ADDRESS__)
// The sanitizer runtime's public interface (sanitizer/allocator_interface.h, which GCC's
// packages do not always install).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace {

// Bytes the program has allocated and not freed: the sanitizer's count under ASan (its
// allocator replaces glibc's), glibc's arenas plus mmap'ed blocks otherwise.
size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

// Open descriptors, or -1 when /proc is out of reach (e.g. a sandbox without it).
long open_fd_count() {
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return -1;
  long count = 0;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(directory);
  return count - 1;  // the directory's own descriptor
}

}  // namespace

void Server::print_stats() const {
  const SlirpView view = slirp_view(false);
  for (const auto& state : peers_) {
    const auto& stats = state->peer.stats();
    const auto& endpoint = state->peer.endpoint();
    std::fprintf(stderr,
                 "stats: peer=%s endpoint=%s rx_bytes=%llu tx_bytes=%llu handshakes=%llu "
                 "slirp_fds=%zu host_sockets=%zu tcp_flows=%zu udp_flows=%zu "
                 "flows_refused=%llu\n",
                 key_text(state->peer.public_key()).c_str(),
                 endpoint.empty() ? "(none)" : net::to_endpoint(endpoint).to_string().c_str(),
                 static_cast<unsigned long long>(stats.rx_bytes),
                 static_cast<unsigned long long>(stats.tx_bytes),
                 static_cast<unsigned long long>(stats.handshakes_completed),
                 view.sessions[state->id].fds, view.sessions[state->id].host_sockets.total(),
                 view.sessions[state->id].host_sockets.tcp,
                 view.sessions[state->id].host_sockets.udp,
                 static_cast<unsigned long long>(flows_refused(view.sessions[state->id].counters)));
  }
  size_t active = 0;
  for (const auto& state : peers_) active += view.sessions[state->id].active ? 1 : 0;
  std::fprintf(stderr,
               "sessions: active=%zu created=%llu freed_idle=%llu create_failed=%llu "
               "fd_limit=%zu fd_reserve=%zu other_fds=%zu slirp_sockets=%zu\n",
               active, static_cast<unsigned long long>(view.counters.sessions_created),
               static_cast<unsigned long long>(view.counters.sessions_freed_idle),
               static_cast<unsigned long long>(view.counters.session_create_failed),
               view.fd_budget.limit, view.fd_budget.reserve, view.fd_budget.other_fds,
               view.fd_budget.slirp_sockets);
  std::string line = "drops:";
  for_each_drop(view, [&line](const char* name, uint64_t value) {
    line += std::string(" ") + name + "=" + std::to_string(value);
  });
  slirp::SessionCounters total;
  for (const auto& state : peers_) total += view.sessions[state->id].counters;
  slirp::for_each_drop(total, [&line](const char* name, uint64_t value) {
    if (value > 0) line += std::string(" slirp_") + name + "=" + std::to_string(value);
  });
  // How the adapter shaped the traffic between the tunnel and slirp (see slirp::SessionConfig).
  std::fprintf(stderr,
               "slirp: packets_in=%llu coalesced_in=%llu mss_raised=%llu packets_out=%llu "
               "segmented_out=%llu fragmented_out=%llu rate_delayed_in=%llu "
               "rate_delayed_out=%llu\n",
               static_cast<unsigned long long>(total.packets_in),
               static_cast<unsigned long long>(total.coalesced_in),
               static_cast<unsigned long long>(total.mss_raised_in),
               static_cast<unsigned long long>(total.packets_out),
               static_cast<unsigned long long>(total.segmented_out),
               static_cast<unsigned long long>(total.fragmented_out),
               static_cast<unsigned long long>(total.rate_delayed_in),
               static_cast<unsigned long long>(total.rate_delayed_out));
  std::fprintf(stderr, "%s\n", line.c_str());
  // For leak checks over long runs (tests/integration/server_soak.sh).
  const auto secrets = crypto::SecretArena::global().stats();
  std::fprintf(stderr,
               "memory: heap_in_use=%zu fds=%ld secret_blocks=%zu secret_locked_bytes=%zu "
               "secret_unlocked_bytes=%zu\n",
               heap_in_use(), open_fd_count(), secrets.blocks_in_use, secrets.locked_bytes,
               secrets.unlocked_bytes);
}

}  // namespace slirpvpn::server
