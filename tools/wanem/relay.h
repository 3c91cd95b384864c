// SPDX-License-Identifier: MIT
// The WAN emulator's socket loop: a UDP relay with one outward socket per client (a NAT map).
//
// Theory of operation:
//
//   client --> [listen socket] -- up Path ---> [outward socket, one per client] --> target
//   client <-- [listen socket] <-- down Path -- [outward socket, one per client] <-- target
//
// One thread, one epoll: the listen socket, every outward socket, one timerfd (absolute
// CLOCK_MONOTONIC, armed for the earliest release) and, once handle_signals() was called, a
// signalfd. Sockets are read with recvmmsg and written with sendmmsg, kBatch datagrams per
// call. When the timer fires, every datagram due within granularity/2 leaves in the same
// batch, so one leaves at most granularity/2 early and late by the timer's wake-up latency.
// A full socket send buffer (EAGAIN) pauses that direction for 0.5 ms; the queue keeps order
// and keeps filling meanwhile. Datagrams reaching an outward socket from anyone but the
// target are dropped (a NAT filters them).
// Limits, on purpose: one target; at most max_clients mappings, which never expire (found by
// a linear search behind a last-hit cache: meant for tens of clients); release times count
// from when a batch was read, so time spent in a socket buffer comes on top of the delay.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "path.h"
#include "socket_address.h"

struct mmsghdr;

namespace slirpvpn::wanem {

struct RelayConfig {
  SocketAddress listen;
  SocketAddress target;
  std::optional<SocketAddress> source;  // local address of the outward sockets
  PathConfig up;                        // client -> target
  PathConfig down;                      // target -> client
  uint64_t seed = 0;                    // 0: from the clock
  size_t max_clients = 64;
  Nanos granularity = std::chrono::microseconds(200);
  int socket_buffer_bytes = 8 << 20;             // absorbs bursts while the loop is busy
  std::chrono::duration<double> stats_every{0};  // 0: only on request and at exit
  std::chrono::duration<double> lifetime{0};     // 0: until a signal
};

// Not thread-safe: all calls from the thread that runs the loop.
class Relay {
 public:
  static constexpr size_t kBatch = 64;

  static Expected<std::unique_ptr<Relay>> create(const RelayConfig& config);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Blocks SIGUSR1 (rebind), SIGUSR2 (print counters), SIGTERM/SIGINT/SIGHUP (print and stop)
  // in the calling thread and serves them from the loop through a signalfd.
  Expected<void> handle_signals();
  // Runs the loop until a stop signal or the lifetime; returns why it stopped.
  Expected<std::string> run();
  // One loop turn: waits up to max_wait for an event, then relays whatever is due. For tests.
  Expected<void> poll_once(std::chrono::milliseconds max_wait);

  // A NAT mapping reset: every mapping gets a new outward socket, hence a new source port.
  // The new socket is bound before the old one closes, so the port always changes; replies
  // still in flight to the old port are lost, as behind a real NAT.
  void rebind_all();

  SocketAddress listen_address() const { return listen_address_; }
  size_t mapping_count() const noexcept { return mappings_.size(); }
  uint16_t mapping_port(size_t index) const noexcept { return mappings_[index].port; }
  const Path& up() const noexcept { return up_; }
  const Path& down() const noexcept { return down_; }
  // "wanem: stats dir=up|down key=value ..." lines, newline-terminated.
  std::string stats(std::string_view why) const;

 private:
  struct Mapping {
    SocketAddress client;
    int fd = -1;
    uint16_t port = 0;
  };
  struct Batch;

  explicit Relay(const RelayConfig& config);
  Expected<void> open();
  Expected<int> outward_socket(uint16_t* port) const;
  Expected<void> watch(int fd, uint64_t tag) const;
  std::optional<uint16_t> mapping_for(const sockaddr_storage& from, socklen_t length);
  void receive(int fd, int mapping) noexcept;
  void release(Path& path, bool is_up, TimePoint now) noexcept;
  void arm_timer(TimePoint now) noexcept;
  std::optional<std::string> handle_signal_events();
  void set_buffers(int fd) const noexcept;

  RelayConfig config_;
  Path up_;
  Path down_;
  SocketAddress listen_address_;
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  int timer_fd_ = -1;
  int signal_fd_ = -1;
  std::vector<Mapping> mappings_;  // capacity reserved: max_clients
  size_t last_hit_ = 0;
  std::unique_ptr<Batch> batch_;          // receive and send vectors, allocated once
  std::array<TimePoint, 2> resume_at_{};  // after EAGAIN: no sends in a direction before this
  TimePoint armed_at_{};
  TimePoint next_stats_{};
  TimePoint deadline_{};
  std::optional<std::string> stop_reason_;
};

}  // namespace slirpvpn::wanem
