// SPDX-License-Identifier: MIT
// slirpvpn-wanem: a user-space WAN emulator (UDP relay with delay, jitter, loss, duplication,
// reordering, rate limit and NAT rebinding), because this kernel has no sch_netem.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "relay.h"

namespace {

using slirpvpn::wanem::Nanos;
using slirpvpn::wanem::PathConfig;
using slirpvpn::wanem::RelayConfig;
using slirpvpn::wanem::SocketAddress;

Nanos from_ms(double ms) {
  return Nanos(int64_t(ms * 1e6));
}

// The options that exist for both directions and per direction (--up-X, --down-X).
struct PathOptions {
  std::optional<double> delay_ms, jitter_ms, loss, dup, reorder, rate;

  // The both-directions options also have the short names of the reference tool.
  static std::string name(const std::string& prefix, const char* short_name,
                          const char* long_name) {
    if (prefix.empty()) return std::string("-") + short_name + ",--" + long_name;
    return "--" + prefix + long_name;
  }

  void add(CLI::App& app, const std::string& prefix, const std::string& which) {
    auto percent = CLI::Range(0.0, 100.0);
    app.add_option(name(prefix, "d", "delay"), delay_ms, "one-way delay, ms" + which)
        ->check(CLI::Range(0.0, 3600e3));
    app.add_option(name(prefix, "j", "jitter"), jitter_ms,
                   "uniform jitter +-ms on the delay; FIFO order kept unless reorder > 0" + which)
        ->check(CLI::Range(0.0, 3600e3));
    app.add_option(name(prefix, "L", "loss"), loss, "random loss, %" + which)->check(percent);
    app.add_option(name(prefix, "D", "dup"), dup, "random duplication, %" + which)->check(percent);
    app.add_option("--" + prefix + "reorder", reorder,
                   "% of datagrams sent without delay, overtaking those in flight" + which)
        ->check(percent);
    app.add_option(name(prefix, "r", "rate"), rate, "rate limit, Mbit/s (token bucket)" + which)
        ->check(CLI::Range(0.0, 1e6));
  }

  void apply(PathConfig& path) const {
    if (delay_ms) path.delay = from_ms(*delay_ms);
    if (jitter_ms) path.jitter = from_ms(*jitter_ms);
    if (loss) path.loss_percent = *loss;
    if (dup) path.duplicate_percent = *dup;
    if (reorder) path.reorder_percent = *reorder;
    if (rate) path.rate_mbit = *rate;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "UDP relay that emulates a WAN path: clients send to the listen address; their datagrams "
      "go to the target from one outward socket per client (like a NAT), replies come back the "
      "same way. Impairments apply to each direction (up: client -> target, down: back).\n"
      "Signals: SIGUSR1 rebinds the outward sockets to new source ports (a NAT mapping reset); "
      "SIGUSR2 prints the counters; SIGTERM/SIGINT/SIGHUP print them and exit 0.",
      "slirpvpn-wanem"};
  std::string listen_text, target_text, source_text;
  PathOptions both, up, down;
  double burst = 0, rate_queue_ms = 50, queue_mb = 64, granularity_us = 200, sockbuf_mb = 8;
  double stats_s = 0, lifetime_s = 0;
  uint64_t seed = 0;
  size_t max_clients = 64;

  app.add_option("-l,--listen", listen_text, "ADDR:PORT clients send to ([v6]:port for IPv6)")
      ->required();
  app.add_option("-t,--target", target_text, "ADDR:PORT their datagrams go to")->required();
  app.add_option("-s,--source", source_text, "local address of the outward sockets");
  both.add(app, "", " (both directions)");
  up.add(app, "up-", " (client -> target only)");
  down.add(app, "down-", " (target -> client only)");
  app.add_option("--burst", burst, "token bucket depth, bytes (default 1 ms at rate, >= 3000)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--rate-queue", rate_queue_ms,
                 "bottleneck buffer: drop a datagram that would wait longer, ms (default 50)")
      ->check(CLI::Range(0.0, 3600e3));
  app.add_option("-q,--queue-mb", queue_mb, "delay line per direction, MiB (default 64)")
      ->check(CLI::Range(1.0, 4000.0));
  app.add_option("--max-clients", max_clients, "client mappings, never expire (default 64)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--seed", seed, "random seed, for a run that repeats (default: clock)");
  app.add_option("--granularity", granularity_us,
                 "release datagrams due within +-US/2 together, us (default 200)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--sockbuf-mb", sockbuf_mb, "SO_RCVBUF/SO_SNDBUF of every socket (default 8)")
      ->check(CLI::Range(0.0, 1024.0));
  app.add_option("--stats", stats_s, "print the counters every SEC seconds (default: at exit)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--lifetime", lifetime_s, "exit after SEC seconds (default: until signalled)")
      ->check(CLI::Range(0.0, 1e9));
  CLI11_PARSE(app, argc, argv);

  RelayConfig config;
  const auto listen = SocketAddress::parse(listen_text);
  const auto target = SocketAddress::parse(target_text);
  if (!listen || !target || target->port() == 0) {
    std::fprintf(stderr, "wanem: bad address (want a.b.c.d:port or [v6addr]:port)\n");
    return 2;
  }
  config.listen = *listen;
  config.target = *target;
  if (!source_text.empty()) {
    config.source = SocketAddress::parse(source_text, false);
    if (!config.source) {
      std::fprintf(stderr, "wanem: bad --source address '%s'\n", source_text.c_str());
      return 2;
    }
  }
  both.apply(config.up);
  both.apply(config.down);
  up.apply(config.up);
  down.apply(config.down);
  for (PathConfig* path : {&config.up, &config.down}) {
    path->burst_bytes = burst;
    path->rate_queue = from_ms(rate_queue_ms);
    path->queue_bytes = size_t(queue_mb * double(1 << 20));
  }
  config.seed = seed;
  config.max_clients = max_clients;
  config.granularity = Nanos(int64_t(granularity_us * 1e3));
  config.socket_buffer_bytes = int(sockbuf_mb * double(1 << 20));
  config.stats_every = std::chrono::duration<double>(stats_s);
  config.lifetime = std::chrono::duration<double>(lifetime_s);

  auto relay = slirpvpn::wanem::Relay::create(config);
  if (!relay) {
    std::fprintf(stderr, "wanem: %s\n", relay.error().message().c_str());
    return 1;
  }
  if (auto ok = (*relay)->handle_signals(); !ok) {
    std::fprintf(stderr, "wanem: %s\n", ok.error().message().c_str());
    return 1;
  }
  for (const auto& [name, path] : {std::pair{"up", &config.up}, std::pair{"down", &config.down}}) {
    std::fprintf(stderr,
                 "wanem: %s: delay %g ms, jitter +-%g ms, loss %g %%, dup %g %%, reorder %g %%, "
                 "rate %g Mbit/s (0: unlimited), queue %zu bytes\n",
                 name, double(path->delay.count()) / 1e6, double(path->jitter.count()) / 1e6,
                 path->loss_percent, path->duplicate_percent, path->reorder_percent,
                 path->rate_mbit, path->queue_bytes);
  }
  // Scripts and tests read the bound port from this line (listen port 0 picks a free one).
  std::fprintf(stderr, "wanem: listening on %s -> target %s (pid %d)\n",
               (*relay)->listen_address().to_string().c_str(), config.target.to_string().c_str(),
               int(getpid()));
  std::fflush(stderr);
  auto why = (*relay)->run();
  if (!why) {
    std::fprintf(stderr, "wanem: %s\n", why.error().message().c_str());
    return 1;
  }
  std::fputs((*relay)->stats(*why).c_str(), stderr);
  return 0;
}
