// SPDX-License-Identifier: MIT
// The WAN emulator's socket loop: epoll, recvmmsg/sendmmsg batches, timerfd, signalfd.
#include "relay.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "common/assert.h"

namespace slirpvpn::wanem {
namespace {

constexpr uint64_t kTagListen = 0;
constexpr uint64_t kTagTimer = 1;
constexpr uint64_t kTagSignal = 2;
constexpr uint64_t kTagMapping = 16;
constexpr int kReceiveRounds = 8;  // recvmmsg calls per readable socket per turn: fairness
constexpr Nanos kStallPause = std::chrono::microseconds(500);
constexpr size_t kMaxDatagram = 65536;  // the largest UDP payload is 65527 (IPv6)

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  Rng rng(seed ^ (stream * 0xD1B54A32D192ED03ull));
  return rng.next();
}

}  // namespace

struct Relay::Batch {
  std::array<std::array<uint8_t, kMaxDatagram>, kBatch> rx_data;
  std::array<mmsghdr, kBatch> rx_messages;
  std::array<iovec, kBatch> rx_iov;
  std::array<sockaddr_storage, kBatch> rx_from;
  std::array<mmsghdr, kBatch> tx_messages;
  std::array<iovec, kBatch> tx_iov;
  std::array<Datagram, kBatch> due;
};

Relay::Relay(const RelayConfig& config)
    : config_(config),
      up_(config.up, mix_seed(config.seed, 1)),
      down_(config.down, mix_seed(config.seed, 2)),
      batch_(std::make_unique<Batch>()) {
  mappings_.reserve(config.max_clients);
}

Relay::~Relay() {
  for (auto& m : mappings_) close_fd(m.fd);
  close_fd(listen_fd_);
  close_fd(timer_fd_);
  close_fd(signal_fd_);
  close_fd(epoll_fd_);
}

Expected<std::unique_ptr<Relay>> Relay::create(const RelayConfig& config) {
  RelayConfig c = config;
  if (c.seed == 0) {
    c.seed = uint64_t(Clock::now().time_since_epoch().count()) ^ (uint64_t(getpid()) << 32);
  }
  if (c.source && c.source->family() != c.target.family()) {
    return fail("wanem", "the source and target addresses must be of the same family");
  }
  std::unique_ptr<Relay> relay(new Relay(c));
  if (auto ok = relay->open(); !ok) return tl::unexpected(ok.error());
  return relay;
}

void Relay::set_buffers(int fd) const noexcept {
  const int size = config_.socket_buffer_bytes;
  if (size <= 0) return;
  // As root the *FORCE variants go past net.core.[rw]mem_max; otherwise take what we get.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
}

Expected<void> Relay::watch(int fd, uint64_t tag) const {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = tag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) < 0) return fail_errno("epoll_ctl");
  return {};
}

Expected<void> Relay::open() {
  // The default 50 us timer slack would delay every release by that much.
  prctl(PR_SET_TIMERSLACK, 1UL);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return fail_errno("epoll_create1");
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) return fail_errno("timerfd_create");
  listen_fd_ = socket(config_.listen.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return fail_errno("socket", "listen");
  set_buffers(listen_fd_);
  if (bind(listen_fd_, config_.listen.sockaddr_ptr(), config_.listen.length) < 0) {
    return fail_errno("bind", config_.listen.to_string());
  }
  listen_address_ = SocketAddress{};
  listen_address_.length = sizeof listen_address_.storage;
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&listen_address_.storage),
                  &listen_address_.length) < 0) {
    return fail_errno("getsockname", "listen");
  }
  if (auto ok = watch(listen_fd_, kTagListen); !ok) return ok;
  if (auto ok = watch(timer_fd_, kTagTimer); !ok) return ok;
  const auto now = Clock::now();
  if (config_.stats_every.count() > 0) {
    next_stats_ = now + std::chrono::duration_cast<Nanos>(config_.stats_every);
  }
  if (config_.lifetime.count() > 0) {
    deadline_ = now + std::chrono::duration_cast<Nanos>(config_.lifetime);
  }
  return {};
}

Expected<void> Relay::handle_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return fail_errno("sigprocmask");
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return fail_errno("signalfd");
  return watch(signal_fd_, kTagSignal);
}

Expected<int> Relay::outward_socket(uint16_t* port) const {
  const int fd = socket(config_.target.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("socket", "outward");
  set_buffers(fd);
  SocketAddress local =
      config_.source ? *config_.source : SocketAddress::any(config_.target.family());
  local.set_port(0);
  if (bind(fd, local.sockaddr_ptr(), local.length) < 0) {
    const int saved = errno;
    ::close(fd);
    return fail("bind", local.to_string(), saved);
  }
  SocketAddress bound;
  bound.length = sizeof bound.storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound.storage), &bound.length) < 0) {
    const int saved = errno;
    ::close(fd);
    return fail("getsockname", "outward", saved);
  }
  *port = bound.port();
  return fd;
}

std::optional<uint16_t> Relay::mapping_for(const sockaddr_storage& from, socklen_t length) {
  if (last_hit_ < mappings_.size() && same_endpoint(mappings_[last_hit_].client.storage, from)) {
    return uint16_t(last_hit_);
  }
  for (size_t i = 0; i < mappings_.size(); ++i) {
    if (same_endpoint(mappings_[i].client.storage, from)) {
      last_hit_ = i;
      return uint16_t(i);
    }
  }
  if (mappings_.size() >= config_.max_clients || mappings_.size() > UINT16_MAX) {
    return std::nullopt;
  }
  // A new client: opening a socket here is once per mapping, not per datagram.
  Mapping m;
  std::memcpy(&m.client.storage, &from, std::min<size_t>(length, sizeof from));
  m.client.length = length;
  auto fd = outward_socket(&m.port);
  if (!fd) {
    std::fprintf(stderr, "wanem: %s\n", fd.error().message().c_str());
    return std::nullopt;
  }
  m.fd = *fd;
  const size_t index = mappings_.size();
  if (!watch(m.fd, kTagMapping + index)) {
    ::close(m.fd);
    return std::nullopt;
  }
  mappings_.push_back(m);
  std::fprintf(stderr, "wanem: mapping %zu: client %s -> outward port %u\n", index,
               m.client.to_string().c_str(), unsigned(m.port));
  last_hit_ = index;
  return uint16_t(index);
}

void Relay::rebind_all() {
  for (size_t i = 0; i < mappings_.size(); ++i) {
    uint16_t port = 0;
    auto fd = outward_socket(&port);
    if (!fd || !watch(*fd, kTagMapping + i)) {
      std::fprintf(stderr, "wanem: rebind of mapping %zu failed\n", i);
      if (fd) ::close(*fd);
      continue;
    }
    std::fprintf(stderr, "wanem: mapping %zu rebound: outward port %u -> %u\n", i,
                 unsigned(mappings_[i].port), unsigned(port));
    close_fd(mappings_[i].fd);  // closing also removes it from the epoll set
    mappings_[i].fd = *fd;
    mappings_[i].port = port;
  }
}

void Relay::receive(int fd, int mapping) noexcept {
  Batch& b = *batch_;
  for (int round = 0; round < kReceiveRounds; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      b.rx_iov[i] = iovec{b.rx_data[i].data(), kMaxDatagram};
      msghdr& h = b.rx_messages[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &b.rx_from[i];
      h.msg_namelen = sizeof b.rx_from[i];
      h.msg_iov = &b.rx_iov[i];
      h.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, b.rx_messages.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    const TimePoint now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const std::span<const uint8_t> data(b.rx_data[i].data(), b.rx_messages[i].msg_len);
      if (mapping < 0) {
        const auto m = mapping_for(b.rx_from[i], b.rx_messages[i].msg_hdr.msg_namelen);
        if (!m) {
          ++up_.counters().rx_packets;
          ++up_.counters().drop_no_mapping;
          continue;
        }
        up_.admit(now, *m, data);
      } else if (same_endpoint(b.rx_from[i], config_.target.storage)) {
        down_.admit(now, uint16_t(mapping), data);
      } else {
        ++down_.counters().rx_packets;
        ++down_.counters().drop_foreign;
      }
    }
    if (size_t(n) < kBatch) return;
  }
}

void Relay::release(Path& path, bool is_up, TimePoint now) noexcept {
  Batch& b = *batch_;
  TimePoint& resume_at = resume_at_[is_up ? 0 : 1];
  if (resume_at != TimePoint{}) {
    if (now < resume_at) return;
    resume_at = TimePoint{};
  }
  DelayLine& line = path.line();
  PathCounters& counters = path.counters();
  const TimePoint until = now + config_.granularity / 2;
  for (;;) {
    const size_t n = line.take_due(until, b.due);
    if (n == 0) return;
    for (size_t k = 0; k < n; ++k) {
      const Datagram& d = b.due[k];
      const SocketAddress& to = is_up ? config_.target : mappings_[d.peer].client;
      b.tx_iov[k] = iovec{const_cast<uint8_t*>(d.data.data()), d.data.size()};
      msghdr& h = b.tx_messages[k].msg_hdr;
      h = msghdr{};
      h.msg_name = const_cast<sockaddr_storage*>(&to.storage);
      h.msg_namelen = to.length;
      h.msg_iov = &b.tx_iov[k];
      h.msg_iovlen = 1;
    }
    size_t i = 0;
    bool stalled = false;
    while (i < n) {
      size_t j = n;
      int fd = listen_fd_;
      if (is_up) {  // one sendmmsg per run of datagrams of the same mapping
        const uint16_t peer = b.due[i].peer;
        j = i + 1;
        while (j < n && b.due[j].peer == peer) ++j;
        fd = mappings_[peer].fd;
      }
      const int sent = sendmmsg(fd, &b.tx_messages[i], unsigned(j - i), MSG_DONTWAIT);
      if (sent > 0) {
        for (size_t k = i; k < i + size_t(sent); ++k) {
          ++counters.tx_packets;
          counters.tx_bytes += b.due[k].data.size();
          line.done(b.due[k]);
        }
        i += size_t(sent);
      } else if (sent < 0 && errno == EINTR) {
        continue;
      } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        stalled = true;
        break;
      } else {  // e.g. ECONNREFUSED from an earlier ICMP, EMSGSIZE: drop this one, go on
        ++counters.drop_send;
        line.done(b.due[i]);
        ++i;
      }
    }
    if (stalled) {
      line.put_back(std::span<const Datagram>(b.due.data() + i, n - i));
      ++counters.stalls;
      resume_at = now + kStallPause;
      return;
    }
    if (n < kBatch) return;
  }
}

void Relay::arm_timer(TimePoint now) noexcept {
  TimePoint next{};
  auto consider = [&next](TimePoint t) {
    if (t != TimePoint{} && (next == TimePoint{} || t < next)) next = t;
  };
  for (int dir = 0; dir < 2; ++dir) {
    const Path& path = dir == 0 ? up_ : down_;
    if (resume_at_[dir] != TimePoint{}) {
      consider(resume_at_[dir]);
    } else if (auto t = path.line().next_release()) {
      consider(*t - config_.granularity / 2);
    }
  }
  consider(next_stats_);
  consider(deadline_);
  if (next != TimePoint{} && next <= now) next = now + Nanos(1);  // fire at once
  if (next == armed_at_) return;
  itimerspec spec{};
  if (next != TimePoint{}) {
    const auto ns = next.time_since_epoch().count();
    spec.it_value.tv_sec = time_t(ns / 1000000000);
    spec.it_value.tv_nsec = long(ns % 1000000000);
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_at_ = next;
}

std::optional<std::string> Relay::handle_signal_events() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof info) == ssize_t(sizeof info)) {
    switch (info.ssi_signo) {
      case SIGUSR1:
        rebind_all();
        break;
      case SIGUSR2:
        std::fputs(stats("SIGUSR2").c_str(), stderr);
        break;
      case SIGINT:
        return "SIGINT";
      case SIGHUP:
        return "SIGHUP";
      default:
        return "SIGTERM";
    }
  }
  return std::nullopt;
}

Expected<void> Relay::poll_once(std::chrono::milliseconds max_wait) {
  std::array<epoll_event, 64> events;
  const int n = epoll_wait(epoll_fd_, events.data(), int(events.size()), int(max_wait.count()));
  if (n < 0) {
    if (errno == EINTR) return {};
    return fail_errno("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const uint64_t tag = events[i].data.u64;
    if (tag == kTagListen) {
      receive(listen_fd_, -1);
    } else if (tag == kTagTimer) {
      uint64_t ticks;
      if (read(timer_fd_, &ticks, sizeof ticks) > 0) armed_at_ = TimePoint{};
    } else if (tag == kTagSignal) {
      if (auto why = handle_signal_events()) stop_reason_ = why;
    } else if (tag >= kTagMapping && tag - kTagMapping < mappings_.size()) {
      receive(mappings_[tag - kTagMapping].fd, int(tag - kTagMapping));
    }
  }
  const TimePoint now = Clock::now();
  release(up_, true, now);
  release(down_, false, now);
  if (next_stats_ != TimePoint{} && now >= next_stats_) {
    std::fputs(stats("periodic").c_str(), stderr);
    next_stats_ += std::chrono::duration_cast<Nanos>(config_.stats_every);
  }
  if (deadline_ != TimePoint{} && now >= deadline_) stop_reason_ = "lifetime reached";
  arm_timer(now);
  return {};
}

Expected<std::string> Relay::run() {
  while (!stop_reason_) {
    if (auto ok = poll_once(std::chrono::milliseconds(-1)); !ok) return tl::unexpected(ok.error());
  }
  return *stop_reason_;
}

std::string Relay::stats(std::string_view why) const {
  return fmt::format(
      "wanem: stats ({}), mappings {}\nwanem: stats dir=up {} queued_now={}\n"
      "wanem: stats dir=down {} queued_now={}\n",
      why, mappings_.size(), up_.counters().format(), up_.line().packets(),
      down_.counters().format(), down_.line().packets());
}

}  // namespace slirpvpn::wanem
