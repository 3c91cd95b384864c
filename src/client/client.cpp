// SPDX-License-Identifier: MIT
// The client's start-up, run loop and teardown (see client.h).
#include "client/client.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>

#include "client/dns.h"
#include "client/host_changes.h"
#include "client/interface_name.h"
#include "client/kill_switch.h"
#include "client/route_plan.h"
#include "client/tunnel.h"
#include "config/client_config.h"
#include "control/uapi_socket.h"
#include "crypto/x25519.h"
#include "net/event_loop.h"
#include "net/netlink.h"
#include "net/peer_address.h"
#include "net/tun_device.h"
#include "net/udp_socket.h"

namespace slirpvpn::client {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSrcValidMark = "/proc/sys/net/ipv4/conf/all/src_valid_mark";
// wg-quick's reresolve-dns.sh: a handshake older than this means the endpoint may have moved.
constexpr auto kReresolveAfter = 135s;
constexpr auto kReresolveInterval = 30s;
// Address and route changes come in bursts (DHCP, roaming): act once they settle.
constexpr auto kRebindDelay = 1s;

struct Paths {
  std::string lock, journal, endpoint, resolv_backup;
};

Paths paths_for(const ClientOptions& options, const std::string& interface) {
  const std::string base = options.state_dir + "/" + interface;
  return {base + ".lock", base + ".state", base + ".endpoint", base + ".resolv.conf"};
}

bool has_cap_net_admin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return true;  // unknown: let the kernel say
  return (data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32))) != 0;
}

// The per-interface lock: held (flock) for the life of the process, released by the kernel
// when the process dies however it dies.
class InterfaceLock {
 public:
  static Expected<InterfaceLock> acquire(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno("open lock file", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int saved = errno;
      char pid[32] = {};
      (void)::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      std::string holder(pid);
      while (!holder.empty() && holder.back() == '\n') holder.pop_back();
      return fail("lock", "held by pid " + (holder.empty() ? std::string("?") : holder), saved);
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    (void)::ftruncate(fd, 0);
    (void)::pwrite(fd, pid.data(), pid.size(), 0);
    return InterfaceLock(fd);
  }
  InterfaceLock(InterfaceLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  InterfaceLock& operator=(InterfaceLock&&) = delete;
  ~InterfaceLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit InterfaceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

bool ignorable_undo_error(int error_number) {
  // Already gone: the TUN took its routes along, or a crash came before the change was made.
  return error_number == ESRCH || error_number == ENOENT || error_number == ENODEV ||
         error_number == EADDRNOTAVAIL;
}

// Undoes `changes` in reverse order; `skip_nft` keeps kill switch tables (a restart replaces
// them atomically instead). Returns false if anything could not be undone.
bool undo_changes(const std::vector<HostChange>& changes, bool skip_nft) {
  auto netlink = net::Netlink::open();
  bool ok = true;
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    Expected<void> result;
    if (const auto* route = std::get_if<RouteChange>(&*it)) {
      if (!netlink) continue;
      result = netlink->delete_route(route->route);
    } else if (const auto* rule = std::get_if<RuleChange>(&*it)) {
      if (!netlink) continue;
      result = netlink->delete_rule(rule->rule);
    } else if (const auto* sysctl = std::get_if<SysctlChange>(&*it)) {
      result = rewrite_in_place(sysctl->path, sysctl->old_value + "\n");
    } else if (const auto* dns = std::get_if<DnsChange>(&*it)) {
      result = undo_dns(*dns);
    } else if (const auto* nft = std::get_if<NftChange>(&*it)) {
      if (skip_nft) continue;
      result = remove_nft_table(nft->table);
    }
    if (!result && !ignorable_undo_error(result.error().error_number)) {
      spdlog::warn("could not undo '{}': {}", format_host_change(*it), result.error().message());
      ok = false;
    }
  }
  if (!netlink) {
    spdlog::warn("routes and rules not undone: {}", netlink.error().message());
    ok = false;
  }
  return ok;
}

bool is_literal(const std::string& host) {
  return net::IpAddress::parse(host).has_value();
}

// The endpoint cache: "HOST PORT ADDRESS" on one line.
std::optional<net::Endpoint> read_endpoint_cache(const std::string& path,
                                                 const net::HostPort& host) {
  auto text = read_whole_file(path);
  if (!text) return std::nullopt;
  char name[256] = {}, address[64] = {};
  unsigned port = 0;
  if (std::sscanf(text->c_str(), "%255s %u %63s", name, &port, address) != 3) return std::nullopt;
  if (host.host != name || host.port != port) return std::nullopt;
  const auto parsed = net::IpAddress::parse(address);
  if (!parsed) return std::nullopt;
  return net::Endpoint{*parsed, host.port};
}

void write_endpoint_cache(const std::string& path, const net::HostPort& host,
                          const net::Endpoint& endpoint) {
  const std::string line =
      host.host + " " + std::to_string(host.port) + " " + endpoint.address.to_string() + "\n";
  if (auto written = write_new_file(path, line); !written) {
    spdlog::warn("could not cache the endpoint: {}", written.error().message());
  }
}

Expected<net::Endpoint> resolve(const net::HostPort& host) {
  auto endpoints = net::resolve_endpoint(host.host, host.port);
  if (!endpoints) return tl::unexpected(endpoints.error());
  if (endpoints->empty()) return fail("resolve", host.to_string() + ": no address");
  // Prefer IPv4 like wg(8) does when a name has both: IPv6 uplinks are the rarer ones.
  const auto v4 = std::find_if(endpoints->begin(), endpoints->end(),
                               [](const net::Endpoint& e) { return e.address.is_v4(); });
  return v4 != endpoints->end() ? *v4 : endpoints->front();
}

Expected<std::string> read_sysctl(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return text;
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
  return text;
}

// The first table at or after kDefaultTable with no route in either family (wg-quick's way).
Expected<uint32_t> free_table(net::Netlink& netlink) {
  for (uint32_t table = kDefaultTable; table < kDefaultTable + 1000; ++table) {
    auto v4 = netlink.list_routes(AF_INET, table);
    if (!v4) return tl::unexpected(v4.error());
    auto v6 = netlink.list_routes(AF_INET6, table);
    if (!v6) return tl::unexpected(v6.error());
    if (v4->empty() && v6->empty()) return table;
  }
  return fail("routing table", "no free table from 51820 on");
}

// Everything the running client owns; destroyed in reverse order of construction.
class Client final : public net::SignalHandler, public net::IoHandler, public control::UapiHandler {
 public:
  Client(const ClientOptions& options, config::ClientConfig config, std::string interface)
      : options_(options),
        config_(std::move(config)),
        interface_(std::move(interface)),
        paths_(paths_for(options, interface_)) {}

  int run();

  void on_signal(int signal_number) noexcept override;
  void on_io(int fd, uint32_t revents) noexcept override;
  // `wg show NAME`; `wg set NAME peer KEY endpoint/persistent-keepalive/preshared-key`. The
  // interface's own key, port and peer set come from the configuration file only.
  control::DeviceSnapshot uapi_get() override;
  int uapi_set(const control::SetRequest& request) override;

 private:
  struct Deferred final : net::TimerHandler {
    std::function<void()> action;
    void on_timer(net::TimePoint) noexcept override { action(); }
  };

  Expected<void> bring_up();
  Expected<net::UdpSocket> open_socket(uint16_t port);
  Expected<void> record_and(const HostChange& change, const std::function<Expected<void>()>& act);
  void teardown();
  void rebind();
  void reresolve();

  const ClientOptions& options_;
  config::ClientConfig config_;
  std::string interface_;
  Paths paths_;
  bool kill_switch_leftover_ = false;
  net::Endpoint endpoint_;
  std::optional<uint32_t> fwmark_;
  std::optional<net::EventLoop> loop_;
  std::optional<net::Netlink> netlink_;
  std::optional<net::TunDevice> tun_;
  int ifindex_ = 0;
  std::optional<HostJournal> journal_;
  std::unique_ptr<Tunnel> tunnel_;
  std::unique_ptr<control::UapiSocket> uapi_;
  std::optional<net::NetlinkMonitor> monitor_;
  std::vector<net::NetlinkEvent> events_;
  Deferred rebind_timer_, reresolve_timer_;
  net::TimerId rebind_id_ = net::kNoTimer;
};

Expected<void> Client::record_and(const HostChange& change,
                                  const std::function<Expected<void>()>& act) {
  if (auto recorded = journal_->record(change); !recorded) return recorded;
  return act();
}

Expected<net::UdpSocket> Client::open_socket(uint16_t port) {
  net::UdpSocketOptions socket_options;
  socket_options.pktinfo = false;
  auto socket = endpoint_.address.is_v4()
                    ? net::UdpSocket::open(net::Endpoint{net::IpAddress(), port}, socket_options)
                    : net::UdpSocket::open(port, socket_options);
  if (!socket) return socket;
  if (fwmark_) {
    if (auto marked = socket->set_mark(*fwmark_); !marked) return tl::unexpected(marked.error());
  }
  return socket;
}

Expected<void> Client::bring_up() {
  const auto& iface = config_.interface;
  const auto& peer = config_.peer;

  // Leftovers of a run that died: undo them before anything else touches the host.
  auto leftovers = HostJournal::read(paths_.journal);
  if (!leftovers) return tl::unexpected(leftovers.error());
  if (!leftovers->empty()) {
    for (const auto& change : *leftovers) {
      if (const auto* nft = std::get_if<NftChange>(&change)) {
        kill_switch_leftover_ = kill_switch_leftover_ || nft_table_exists(nft->table);
      }
    }
    spdlog::warn("a previous client on {} did not stop cleanly: undoing its changes first",
                 interface_);
    // Its kill switch stays until ours replaces it in one transaction (no gap); if this run
    // has no kill switch it goes now.
    undo_changes(*leftovers, iface.kill_switch);
    if (!iface.kill_switch) kill_switch_leftover_ = false;
    ::unlink(paths_.journal.c_str());
  }

  // The endpoint: a literal as it is; a name through the resolver, or the cache when a kill
  // switch (ours, left from before) would block the query or the resolver fails.
  if (is_literal(peer.endpoint.host)) {
    endpoint_ = net::Endpoint{*net::IpAddress::parse(peer.endpoint.host), peer.endpoint.port};
  } else {
    const auto cached = read_endpoint_cache(paths_.endpoint, peer.endpoint);
    if (kill_switch_leftover_ && cached) {
      endpoint_ = *cached;
      spdlog::info("endpoint {} = {} (cached: the kill switch blocks DNS)",
                   peer.endpoint.to_string(), endpoint_.to_string());
    } else if (auto resolved = resolve(peer.endpoint)) {
      endpoint_ = *resolved;
      write_endpoint_cache(paths_.endpoint, peer.endpoint, endpoint_);
    } else if (cached) {
      endpoint_ = *cached;
      spdlog::warn("cannot resolve {} ({}): using the cached address {}", peer.endpoint.to_string(),
                   resolved.error().message(), endpoint_.to_string());
    } else {
      return fail("resolve endpoint",
                  peer.endpoint.to_string() + ": " + resolved.error().message());
    }
  }

  auto netlink = net::Netlink::open();
  if (!netlink) return tl::unexpected(netlink.error());
  netlink_.emplace(std::move(*netlink));
  if (auto existing = netlink_->link_index(interface_); existing) {
    return fail("create interface",
                interface_ +
                    " exists already (another VPN or a leftover device): choose another "
                    "name with --interface");
  }

  // Offloads let the kernel hand us TCP in 64 KiB super-packets (one read instead of ~45); a
  // kernel without them still gets a working, plain device.
  net::TunOptions tun_options;
  tun_options.offload = true;
  auto tun = net::TunDevice::open(interface_, tun_options);
  if (!tun) {
    spdlog::debug("TUN offloads unavailable ({}): plain packets", tun.error().message());
    tun = net::TunDevice::open(interface_);
  }
  if (!tun) return tl::unexpected(tun.error());
  tun_.emplace(std::move(*tun));
  auto index = netlink_->link_index(interface_);
  if (!index) return tl::unexpected(index.error());
  ifindex_ = *index;
  if (auto mtu = netlink_->set_mtu(ifindex_, iface.mtu); !mtu) return mtu;
  for (const auto& address : iface.addresses) {
    if (auto added = netlink_->add_address(ifindex_, address); !added) return added;
  }
  if (auto up = netlink_->set_link_up(ifindex_, true); !up) return up;

  // Table and mark for a full tunnel (and the kill switch's mark).
  RoutePlanInput input;
  input.allowed_ips = peer.allowed_ips;
  input.addresses = iface.addresses;
  input.table = iface.table;
  input.ifindex = ifindex_;
  const bool wants_table = plan_routes(input).full_tunnel;
  if (wants_table) {
    auto table = free_table(*netlink_);
    if (!table) return tl::unexpected(table.error());
    input.auto_table = *table;
  }
  switch (iface.fwmark.mode) {
    case config::FwMark::Mode::kValue:
      fwmark_ = iface.fwmark.value;
      break;
    case config::FwMark::Mode::kAuto:
      if (wants_table || iface.kill_switch) fwmark_ = input.auto_table;
      break;
    case config::FwMark::Mode::kOff:
      if (wants_table) {
        return fail("routing",
                    "AllowedIPs has a default route (full tunnel) but FwMark = off: "
                    "the tunnel's own packets would loop into it; remove FwMark or "
                    "set Table = off and route yourself");
      }
      break;
  }
  if (fwmark_) input.fwmark = *fwmark_;
  const RoutePlan plan = plan_routes(input);

  auto socket = open_socket(iface.listen_port.value_or(0));
  if (!socket) return tl::unexpected(socket.error());

  auto journal = HostJournal::open(paths_.journal);
  if (!journal) return tl::unexpected(journal.error());
  journal_.emplace(std::move(*journal));

  if (iface.kill_switch) {
    KillSwitchSpec spec{kill_switch_table_name(interface_), interface_, endpoint_, fwmark_};
    if (auto applied = record_and(NftChange{spec.table}, [&] { return apply_kill_switch(spec); });
        !applied) {
      return applied;
    }
    spdlog::info("kill switch on (nft table inet {})", spec.table);
  }
  if (plan.full_tunnel && std::any_of(plan.rules.begin(), plan.rules.end(),
                                      [](const net::Rule& r) { return !r.ipv6; })) {
    auto old = read_sysctl(kSrcValidMark);
    if (old && *old != "1") {
      auto set = record_and(SysctlChange{kSrcValidMark, *old},
                            [] { return rewrite_in_place(kSrcValidMark, "1\n"); });
      if (!set) return set;
    }
  }
  for (const auto& route : plan.routes) {
    if (auto added = record_and(RouteChange{route}, [&] { return netlink_->add_route(route); });
        !added) {
      return added;
    }
  }
  for (const auto& rule : plan.rules) {
    if (auto added = record_and(RuleChange{rule}, [&] { return netlink_->add_rule(rule); });
        !added) {
      return added;
    }
  }
  if (!iface.dns.empty()) {
    DnsSettings dns{iface.dns, iface.dns_search, interface_, options_.resolv_conf,
                    paths_.resolv_backup};
    const auto method = choose_dns_method(options_.resolv_conf);
    if (auto applied = apply_dns(dns, method, *journal_); !applied) return applied;
  }

  TunnelConfig tunnel_config;
  tunnel_config.private_key = iface.private_key;
  tunnel_config.peer.public_key = peer.public_key;
  tunnel_config.peer.preshared_key = peer.preshared_key;
  tunnel_config.peer.persistent_keepalive = peer.persistent_keepalive;
  tunnel_config.peer.endpoint = net::to_peer_address(endpoint_);
  tunnel_config.allowed_ips = peer.allowed_ips;
  tunnel_config.mtu = iface.mtu;
  tunnel_ = std::make_unique<Tunnel>(*loop_, *tun_, std::move(*socket), tunnel_config);
  tunnel_->on_handshake = [this](bool first) {
    if (first) {
      spdlog::info("handshake with {} complete", endpoint_.to_string());
    } else {
      spdlog::debug("handshake with {} complete", endpoint_.to_string());
    }
  };
  if (auto started = tunnel_->start(); !started) return started;
  if (auto uapi =
          control::UapiSocket::open(control::default_socket_path(interface_), *loop_, *this)) {
    uapi_ = std::move(*uapi);
  } else {
    spdlog::warn("no control socket for `wg show`: {}", uapi.error().message());
  }

  // Started last, so our own route and address changes above do not trigger a rebind.
  if (auto monitor = net::NetlinkMonitor::open()) {
    monitor_.emplace(std::move(*monitor));
    if (auto added = loop_->add(monitor_->fd(), EPOLLIN, this); !added) monitor_.reset();
  } else {
    spdlog::warn("no netlink monitor ({}): the socket will not follow network changes",
                 monitor.error().message());
  }
  return {};
}

void Client::on_io(int fd, uint32_t /*revents*/) noexcept {
  if (!monitor_ || fd != monitor_->fd()) return;
  events_.clear();
  if (!monitor_->read_events(events_)) return;
  const bool relevant = std::any_of(events_.begin(), events_.end(), [&](const auto& event) {
    using Kind = net::NetlinkEvent::Kind;
    if (event.kind == Kind::kOverrun) return true;
    if (event.kind == Kind::kRule) return false;  // ours, or policy: not the uplink
    return event.ifindex != ifindex_ && (event.kind == Kind::kAddress ||
                                         event.kind == Kind::kRoute || event.kind == Kind::kLink);
  });
  if (!relevant) return;
  const auto when = net::Clock::now() + kRebindDelay;
  if (!loop_->reschedule(rebind_id_, when)) rebind_id_ = loop_->schedule(when, &rebind_timer_);
}

void Client::rebind() {
  const uint16_t port = tunnel_->socket().local_port();
  // Close first: the new socket takes the same port, so the server sees the same endpoint
  // unless the network in between changed it.
  auto fresh = open_socket(port);
  if (!fresh && fresh.error().error_number == EADDRINUSE) {
    // The same port is still ours (the old socket): nothing to gain from a new one.
    return;
  }
  if (!fresh) {
    spdlog::warn("rebind: {}", fresh.error().message());
    return;
  }
  if (auto replaced = tunnel_->replace_socket(std::move(*fresh)); !replaced) {
    spdlog::warn("rebind: {}", replaced.error().message());
    return;
  }
  spdlog::debug("network changed: UDP socket rebound to port {}", tunnel_->socket().local_port());
}

void Client::reresolve() {
  const auto& host = config_.peer.endpoint;
  const auto& stats = tunnel_->peer().stats();
  const auto now = std::chrono::system_clock::now();
  const bool stale =
      !stats.last_handshake_wall || now - *stats.last_handshake_wall > kReresolveAfter;
  // Under the kill switch DNS in the clear is blocked: the query would only stall the loop.
  if (stale && !config_.interface.kill_switch) {
    if (auto resolved = resolve(host); resolved && !(*resolved == endpoint_)) {
      spdlog::info("endpoint {} moved: {} -> {}", host.to_string(), endpoint_.to_string(),
                   resolved->to_string());
      endpoint_ = *resolved;
      tunnel_->set_endpoint(endpoint_);
      write_endpoint_cache(paths_.endpoint, host, endpoint_);
    }
  }
  loop_->schedule(net::Clock::now() + kReresolveInterval, &reresolve_timer_);
}

void Client::on_signal(int signal_number) noexcept {
  if (signal_number == SIGUSR1) {
    std::fprintf(stderr, "slirpvpn client %s counters:\n%s", interface_.c_str(),
                 tunnel_ ? tunnel_->counters_text().c_str() : "");
    std::fflush(stderr);
    return;
  }
  spdlog::info("signal {}: stopping", signal_number);
  loop_->stop();
}

void Client::teardown() {
  uapi_.reset();
  tunnel_.reset();
  if (monitor_) {
    loop_->remove(monitor_->fd());
    monitor_.reset();
  }
  if (journal_) {
    const bool clean = undo_changes(journal_->entries(), false);
    const std::string path = journal_->path();
    journal_.reset();
    // A journal that could not be fully undone stays for `--down`.
    if (clean) ::unlink(path.c_str());
  }
  tun_.reset();  // the device and its remaining routes go with the descriptor
}

int Client::run() {
  auto loop = net::EventLoop::create();
  if (!loop) {
    spdlog::error("{}", loop.error().message());
    return 1;
  }
  loop_.emplace(std::move(*loop));
  if (auto watched = loop_->watch_signals({SIGINT, SIGTERM, SIGHUP, SIGUSR1}, this); !watched) {
    spdlog::error("{}", watched.error().message());
    return 1;
  }
  rebind_timer_.action = [this] { rebind(); };
  reresolve_timer_.action = [this] { reresolve(); };

  int exit_code = 0;
  if (auto up = bring_up(); !up) {
    spdlog::error("{}", up.error().message());
    exit_code = 1;
  } else {
    spdlog::info("{} up: endpoint {}, {} AllowedIPs{}{}", interface_, endpoint_.to_string(),
                 config_.peer.allowed_ips.size(), config_.interface.dns.empty() ? "" : ", DNS",
                 config_.interface.kill_switch ? ", kill switch" : "");
    if (!is_literal(config_.peer.endpoint.host)) {
      loop_->schedule(net::Clock::now() + kReresolveInterval, &reresolve_timer_);
    }
    if (auto ran = loop_->run(); !ran) {
      spdlog::error("{}", ran.error().message());
      exit_code = 1;
    }
  }
  teardown();
  spdlog::info("{} down", interface_);
  return exit_code;
}

control::DeviceSnapshot Client::uapi_get() {
  control::DeviceSnapshot snapshot;
  const auto& key = config_.interface.private_key.span();
  std::copy(key.begin(), key.end(), snapshot.private_key.begin());
  snapshot.listen_port = tunnel_->socket().local_port();
  snapshot.fwmark = fwmark_.value_or(0);
  const auto& peer = tunnel_->peer();
  control::PeerSnapshot entry;
  entry.public_key = peer.public_key().bytes;
  const auto& psk = config_.peer.preshared_key.span();
  std::copy(psk.begin(), psk.end(), entry.preshared_key.begin());
  if (!peer.endpoint().empty()) entry.endpoint = net::to_endpoint(peer.endpoint());
  entry.last_handshake = peer.stats().last_handshake_wall;
  entry.tx_bytes = peer.stats().tx_bytes;
  entry.rx_bytes = peer.stats().rx_bytes;
  entry.persistent_keepalive = uint16_t(peer.timers().persistent_keepalive().count());
  entry.allowed_ips = config_.peer.allowed_ips;
  snapshot.peers.push_back(std::move(entry));
  return snapshot;
}

int Client::uapi_set(const control::SetRequest& request) {
  const auto current = uapi_get();
  if (request.private_key && *request.private_key != current.private_key) return EOPNOTSUPP;
  if (request.listen_port && *request.listen_port != current.listen_port) return EOPNOTSUPP;
  if (request.fwmark && *request.fwmark != current.fwmark) return EOPNOTSUPP;
  for (const auto& change : request.peers) {
    if (change.public_key != current.peers.front().public_key || change.remove ||
        change.replace_allowed_ips || !change.allowed_ips.empty()) {
      return EOPNOTSUPP;  // routes follow AllowedIPs: change the file and restart
    }
  }
  for (const auto& change : request.peers) {
    if (change.endpoint) tunnel_->set_endpoint(*change.endpoint);
    if (change.persistent_keepalive) {
      tunnel_->set_persistent_keepalive(std::chrono::seconds(*change.persistent_keepalive));
    }
    if (change.preshared_key) {
      config_.peer.preshared_key =
          crypto::SymmetricKey(std::span<const uint8_t, 32>(*change.preshared_key));
      tunnel_->peer().set_preshared_key(config_.peer.preshared_key);
    }
  }
  return 0;
}

std::optional<std::string> interface_for(const ClientOptions& options) {
  if (!options.interface.empty()) {
    if (!valid_interface_name(options.interface)) {
      spdlog::error("--interface '{}': 1 to 15 characters of letters, digits and _=+.-",
                    options.interface);
      return std::nullopt;
    }
    return options.interface;
  }
  auto derived = interface_name_from_config(options.config_path);
  if (!derived) {
    spdlog::error(
        "cannot derive an interface name from '{}' (its base name without .conf must "
        "be 1 to 15 characters of letters, digits and _=+.-): use --interface NAME",
        options.config_path);
  }
  return derived;
}

bool prepare_state_dir(const ClientOptions& options) {
  if (::mkdir(options.state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    spdlog::error("cannot create the state directory {}: {}", options.state_dir,
                  std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

int run_client(const ClientOptions& options) {
  if (!crypto::initialize()) {
    spdlog::error("libsodium failed to initialise");
    return 1;
  }
  // Before the config: its key file is usually readable by root only, and "permission
  // denied" on it would hide the real problem.
  if (!has_cap_net_admin()) {
    spdlog::error(
        "the client needs the CAP_NET_ADMIN capability (TUN device, routes, DNS, "
        "nftables): run it as root, or grant it once with "
        "`sudo setcap cap_net_admin+ep $(command -v slirpvpn)`");
    return 1;
  }
  auto config = config::load_client_config(options.config_path);
  if (!config) {
    spdlog::error("{}", config.error().to_string());
    return 1;
  }
  for (const auto& warning : config->warnings) spdlog::warn("{}", warning);
  const auto interface = interface_for(options);
  if (!interface) return 1;
  if (!prepare_state_dir(options)) return 1;
  auto lock = InterfaceLock::acquire(paths_for(options, *interface).lock);
  if (!lock) {
    if (lock.error().error_number == EWOULDBLOCK) {
      spdlog::error(
          "another slirpvpn client is already running on interface {} ({}): stop it "
          "first, or give this one another name with --interface",
          *interface, lock.error().context);
    } else {
      spdlog::error("{}", lock.error().message());
    }
    return 1;
  }
  Client client(options, std::move(*config), *interface);
  return client.run();
}

int down_client(const ClientOptions& options) {
  const auto interface = interface_for(options);
  if (!interface) return 1;
  if (!has_cap_net_admin()) {
    spdlog::error("--down needs the CAP_NET_ADMIN capability: run it as root");
    return 1;
  }
  if (!prepare_state_dir(options)) return 1;
  const Paths paths = paths_for(options, *interface);
  auto lock = InterfaceLock::acquire(paths.lock);
  if (!lock) {
    spdlog::error(
        "a slirpvpn client is running on {} ({}): stop it with SIGTERM (Ctrl-C) "
        "instead; it cleans up by itself",
        *interface, lock.error().context);
    return 1;
  }
  auto changes = HostJournal::read(paths.journal);
  if (!changes) {
    spdlog::error("{}", changes.error().message());
    return 1;
  }
  // Our kill switch table by name too, in case the journal is gone.
  changes->push_back(NftChange{kill_switch_table_name(*interface)});
  const bool clean = undo_changes(*changes, false);
  if (clean) ::unlink(paths.journal.c_str());
  // A client killed with -9 leaves its `wg` socket file; no client holds the lock now.
  ::unlink(control::default_socket_path(*interface).c_str());
  spdlog::info("{}: {} change(s) undone{}", *interface, changes->size() - 1,
               clean ? "" : " (some failed: see above)");
  return clean ? 0 : 1;
}

// The table alone, journaled like a client's own, so the client that starts later keeps it
// until its own replaces it in one transaction (no gap), and `--down` removes it. The endpoint
// must be known without DNS (a literal, or the cache of an earlier run): at boot there is none.
int arm_kill_switch(const ClientOptions& options) {
  if (!has_cap_net_admin()) {
    spdlog::error("--kill-switch-only needs the CAP_NET_ADMIN capability: run it as root");
    return 1;
  }
  auto config = config::load_client_config(options.config_path);
  if (!config) {
    spdlog::error("{}", config.error().to_string());
    return 1;
  }
  const auto interface = interface_for(options);
  if (!interface || !prepare_state_dir(options)) return 1;
  const Paths paths = paths_for(options, *interface);
  auto lock = InterfaceLock::acquire(paths.lock);
  if (!lock) {
    spdlog::error("a slirpvpn client is running on {} ({}): its kill switch is up already",
                  *interface, lock.error().context);
    return 1;
  }
  const auto& endpoint = config->peer.endpoint;
  std::optional<net::Endpoint> address;
  if (is_literal(endpoint.host)) {
    address = net::Endpoint{*net::IpAddress::parse(endpoint.host), endpoint.port};
  } else if (auto cached = read_endpoint_cache(paths.endpoint, endpoint)) {
    address = *cached;
  } else if (auto resolved = resolve(endpoint)) {
    address = *resolved;
    write_endpoint_cache(paths.endpoint, endpoint, *address);
  } else {
    spdlog::error(
        "cannot arm the kill switch: the endpoint {} is a name, none is cached and it does "
        "not resolve ({}); use an address in Endpoint or start the client once",
        endpoint.to_string(), resolved.error().message());
    return 1;
  }
  std::optional<uint32_t> mark;
  if (config->interface.fwmark.mode == config::FwMark::Mode::kValue)
    mark = config->interface.fwmark.value;
  auto journal = HostJournal::open(paths.journal);
  if (!journal) {
    spdlog::error("{}", journal.error().message());
    return 1;
  }
  const KillSwitchSpec spec{kill_switch_table_name(*interface), *interface, *address, mark};
  if (auto recorded = journal->record(NftChange{spec.table}); !recorded) {
    spdlog::error("{}", recorded.error().message());
    return 1;
  }
  if (auto applied = apply_kill_switch(spec); !applied) {
    spdlog::error("kill switch: {}", applied.error().message());
    return 1;
  }
  spdlog::info("{}: kill switch armed (nft table inet {}); only UDP to {} leaves the host",
               *interface, spec.table, address->to_string());
  return 0;
}

}  // namespace slirpvpn::client
