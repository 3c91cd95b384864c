// SPDX-License-Identifier: MIT
// The client's configuration file (wg-quick's format, one peer): types and loader.
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

struct ClientInterface {
  crypto::PrivateKey private_key;
  std::vector<net::InterfaceAddress> addresses;  // at least one
  std::vector<net::IpAddress> dns;               // nameservers, in file order
  std::vector<std::string> dns_search;           // search domains, in file order
  uint32_t mtu = kDefaultMtu;
  std::optional<uint16_t> listen_port;  // nullopt or 0: the kernel picks
  RouteTable table;
  FwMark fwmark;  // kAuto: the client picks a mark at run time
  // Blocks traffic outside the tunnel (except to the endpoint) while the client runs.
  bool kill_switch = false;
};

struct ClientPeer {
  crypto::PublicKey public_key;
  crypto::SymmetricKey preshared_key;  // all zeros when not configured
  bool has_preshared_key = false;
  net::HostPort endpoint;                  // the host as written (name or literal); resolved later
  std::vector<net::IpPrefix> allowed_ips;  // at least one
  std::chrono::seconds persistent_keepalive{0};  // 0: off
  int line = 0;                                  // of the [Peer] header
};

struct ClientConfig {
  std::string file;
  ClientInterface interface;
  ClientPeer peer;
  std::vector<std::string> warnings;  // see ServerConfig::warnings
};

// Parses a client file's text; `file` names it in errors and anchors relative key file paths.
ConfigExpected<ClientConfig> parse_client_config(std::string_view text, std::string_view file);
// Reads and parses `path`; the text read is wiped afterwards.
ConfigExpected<ClientConfig> load_client_config(const std::string& path);

}  // namespace slirpvpn::config
