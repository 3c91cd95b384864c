// SPDX-License-Identifier: MIT
// The server's configuration file (wg-quick INI plus slirpvpn's keys): types and loader.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/values.h"
#include "crypto/secret.h"
#include "crypto/x25519.h"
#include "net/ip_address.h"

namespace slirpvpn::config {

// Five minutes: longer than slirp keeps an idle UDP flow (240 s), so a session with traffic now
// and then is not torn down and rebuilt between packets.
inline constexpr std::chrono::seconds kDefaultSessionIdleTimeout{300};

// FdReserve's default: fds the server keeps for handshakes, the UAPI and reloads once slirp's
// host sockets fill the rest of RLIMIT_NOFILE (a UAPI client or a reload needs a handful).
inline constexpr uint32_t kDefaultFdReserve = 64;

// Per-peer flow limits (see slirp::FlowLimits for the defaults); unset: the [Interface]'s value,
// else the default. 0: unlimited.
struct FlowLimitSettings {
  std::optional<uint32_t> max_tcp_flows;
  std::optional<uint32_t> max_udp_flows;
  std::optional<uint32_t> max_host_sockets;
  std::optional<uint32_t> max_new_flows_per_second;
  std::optional<uint64_t> rate_limit;  // bits per second, each direction
  bool operator==(const FlowLimitSettings&) const = default;
};

// [Interface]. Each peer gets its own slirp network with these addresses.
struct ServerInterface {
  crypto::PrivateKey private_key;
  uint16_t listen_port = kDefaultListenPort;
  // The virtual gateway, one per family; its network is the slirp network. Defaults per
  // family: 10.0.2.2/24 and (when ipv6) fec0::2/64.
  std::optional<net::InterfaceAddress> address_v4;
  std::optional<net::InterfaceAddress> address_v6;
  // The virtual DNS server slirp answers on; defaults: network + 3 (10.0.2.3, fec0::3).
  std::optional<net::IpAddress> dns_v4;
  std::optional<net::IpAddress> dns_v6;
  uint32_t mtu = kDefaultMtu;
  // The link MTU inside the server between the adapter and libslirp (see slirp::SessionConfig);
  // 0, or a peer's tunnel MTU above it: that peer's tunnel MTU.
  uint32_t slirp_mtu = 0;
  bool ipv6 = true;
  // When true, the gateway address reaches the server host's own loopback (slirp's default,
  // off here because it exposes local-only services).
  bool host_loopback = false;
  std::vector<DestinationRule> deny_destinations;
  std::vector<DestinationRule> allow_destinations;
  LogLevel log_level = LogLevel::kInfo;
  // A peer's slirp network is freed after this long without traffic while it has no open flow
  // and no port forward (memory for many idle peers); the next packet recreates it. 0: never.
  std::chrono::seconds session_idle_timeout = kDefaultSessionIdleTimeout;
  // Every peer's flow limits, unless its [Peer] sets its own.
  FlowLimitSettings flow_limits;
  // New flows of every peer are refused once the process's open fds reach RLIMIT_NOFILE less
  // this.
  uint32_t fd_reserve = kDefaultFdReserve;

  std::optional<net::IpPrefix> network_v4() const;
  std::optional<net::IpPrefix> network_v6() const;
};

// One [Peer].
struct ServerPeer {
  crypto::PublicKey public_key;
  // All zeros when not configured, which is what WireGuard uses then.
  crypto::SymmetricKey preshared_key;
  bool has_preshared_key = false;
  // The client's tunnel addresses; default network + 15 (10.0.2.15/32, fec0::15/128). Peers
  // may overlap: each has its own slirp network.
  std::vector<net::IpPrefix> allowed_ips;
  std::optional<net::HostPort> endpoint;         // not resolved
  std::chrono::seconds persistent_keepalive{0};  // 0: off
  std::optional<uint32_t> mtu;                   // per-peer tunnel MTU; nullopt: the interface's
  std::vector<ForwardPort> forward_ports;
  FlowLimitSettings flow_limits;  // overrides the [Interface]'s, key by key
  std::string name;               // a label for logs and `show`; may be empty
  int line = 0;                   // of the [Peer] header, for messages about this peer
};

struct ServerConfig {
  std::string file;  // as given to the loader
  ServerInterface interface;
  std::vector<ServerPeer> peers;
  // Things worth a log line that are not errors (e.g. a world-readable file with inline keys).
  std::vector<std::string> warnings;
};

// Parses a server file's text; `file` names it in errors and anchors relative key file paths.
// May read key files (PrivateKeyFile, PresharedKeyFile).
ConfigExpected<ServerConfig> parse_server_config(std::string_view text, std::string_view file);
// Reads and parses `path`; the text read is wiped afterwards.
ConfigExpected<ServerConfig> load_server_config(const std::string& path);

}  // namespace slirpvpn::config
