// SPDX-License-Identifier: MIT
// Server file schema: [Interface] once, [Peer] any number; defaults derived from the network.
#include "config/server_config.h"

#include <array>

#include "config/config_file.h"
#include "config/keys.h"
#include "config/section.h"

namespace slirpvpn::config {

namespace {

constexpr KeyRule kInterfaceKeys[] = {
    {"PrivateKey"},
    {"PrivateKeyFile"},
    {"ListenPort"},
    {"Address", true},
    {"DNS", true},
    {"MTU"},
    {"IPv6"},
    {"HostLoopback"},
    {"DenyDestinations", true},
    {"LogLevel"},
    {"AllowDestinations", true},
    {"SlirpMTU"},
    {"SessionIdleTimeout"},
    {"MaxTcpFlows"},
    {"MaxUdpFlows"},
    {"MaxHostSockets"},
    {"MaxNewFlowsPerSecond"},
    {"RateLimit"},
    {"FdReserve"},
};

constexpr KeyRule kPeerKeys[] = {
    {"PublicKey"},
    {"PresharedKey"},
    {"PresharedKeyFile"},
    {"AllowedIPs", true},
    {"Endpoint"},
    {"MTU"},
    {"PersistentKeepalive"},
    {"ForwardPort", true},
    {"Name"},
    {"MaxTcpFlows"},
    {"MaxUdpFlows"},
    {"MaxHostSockets"},
    {"MaxNewFlowsPerSecond"},
    {"RateLimit"},
};

// The default network (slirp's own defaults) and the host numbers slirp uses in it.
constexpr std::string_view kDefaultAddressV4 = "10.0.2.2/24";
constexpr std::string_view kDefaultAddressV6 = "fec0::2/64";
constexpr uint8_t kDnsHost = 3;
// 10.0.2.15 and fec0::15: the same digits, so decimal 15 in IPv4 and 0x15 in IPv6.
constexpr uint8_t kClientHostV4 = 15;
constexpr uint8_t kClientHostV6 = 0x15;
// Leaves room for .3 and .15 inside the network, with .15 not being the IPv4 broadcast.
constexpr uint8_t kMaxNetworkLengthV4 = 27;
constexpr uint8_t kMaxNetworkLengthV6 = 120;
constexpr size_t kMaxNameLength = 64;

// The network's address plus `host` (which fits: the length limits above guarantee it).
net::IpAddress host_in(const net::IpPrefix& network, uint8_t host) {
  const auto bytes = network.address().bytes();
  std::array<uint8_t, 16> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  out[bytes.size() - 1] = uint8_t(out[bytes.size() - 1] | host);
  return *net::IpAddress::from_bytes(std::span<const uint8_t>(out.data(), bytes.size()));
}

// The IPv4 broadcast address of `network` (all host bits set).
net::IpAddress broadcast_v4(const net::IpPrefix& network) {
  const auto bytes = network.address().bytes();
  std::array<uint8_t, 4> out{bytes[0], bytes[1], bytes[2], bytes[3]};
  for (unsigned bit = network.length(); bit < 32; ++bit)
    out[bit / 8] |= uint8_t(0x80u >> (bit % 8));
  return net::IpAddress::v4(out);
}

ConfigExpected<void> parse_flow_limits(const IniSection& section, std::string_view file,
                                       FlowLimitSettings& out) {
  for (auto [key, slot] :
       {std::pair{"MaxTcpFlows", &out.max_tcp_flows}, std::pair{"MaxUdpFlows", &out.max_udp_flows},
        std::pair{"MaxHostSockets", &out.max_host_sockets},
        std::pair{"MaxNewFlowsPerSecond", &out.max_new_flows_per_second}}) {
    auto value = parse_single(section, key, file, parse_flow_limit);
    if (!value) return tl::unexpected(value.error());
    if (*value) *slot = **value;
  }
  auto rate = parse_single(section, "RateLimit", file, parse_rate_limit);
  if (!rate) return tl::unexpected(rate.error());
  if (*rate) out.rate_limit = **rate;
  return {};
}

bool is_printable(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

ConfigExpected<void> parse_interface(const IniSection& section, std::string_view file,
                                     ServerInterface& out) {
  if (auto checked = check_section(section, kInterfaceKeys, file); !checked) {
    return tl::unexpected(checked.error());
  }
  auto secret = load_secret(section, "PrivateKey", "PrivateKeyFile", file);
  if (!secret) return tl::unexpected(secret.error());
  if (!*secret) {
    return config_fail(std::string(file), section.line,
                       "[Interface] needs PrivateKey or PrivateKeyFile");
  }
  out.private_key = crypto::PrivateKey::from_bytes((*secret)->span());

  auto port = parse_single(section, "ListenPort", file,
                           [](std::string_view v) { return parse_port(v, false); });
  if (!port) return tl::unexpected(port.error());
  if (*port) out.listen_port = **port;

  auto ipv6 = parse_single(section, "IPv6", file, parse_bool);
  if (!ipv6) return tl::unexpected(ipv6.error());
  if (*ipv6) out.ipv6 = **ipv6;

  auto addresses = parse_list(section, "Address", file, parse_interface_address);
  if (!addresses) return tl::unexpected(addresses.error());
  for (const auto& item : *addresses) {
    const auto& address = item.value;
    const int line = item.line;
    const auto fail = [&](const std::string& why) {
      return config_fail(std::string(file), line,
                         "Address: " + quote(address.to_string()) + " " + why);
    };
    const bool v4 = address.address.is_v4();
    auto& slot = v4 ? out.address_v4 : out.address_v6;
    if (slot) return fail("is a second IPv4/IPv6 gateway address; give one of each family");
    if (!v4 && !out.ipv6) return fail("is IPv6 but IPv6 = false");
    if (address.length < 1 || address.length > (v4 ? kMaxNetworkLengthV4 : kMaxNetworkLengthV6)) {
      return fail(v4 ? "needs a network length of /1 to /27"
                     : "needs a network length of /1 to /120");
    }
    const auto network = address.network();
    if (address.address == network.address() || (v4 && address.address == broadcast_v4(network))) {
      return fail("is the network's own or broadcast address, not a host in it");
    }
    slot = address;
  }
  if (!out.address_v4) out.address_v4 = *net::InterfaceAddress::parse(kDefaultAddressV4);
  if (!out.address_v6 && out.ipv6)
    out.address_v6 = *net::InterfaceAddress::parse(kDefaultAddressV6);

  auto dns = parse_list(section, "DNS", file, parse_address);
  if (!dns) return tl::unexpected(dns.error());
  for (const auto& item : *dns) {
    const auto& address = item.value;
    const int line = item.line;
    const auto fail = [&](const std::string& why) {
      return config_fail(std::string(file), line, "DNS: " + quote(address.to_string()) + " " + why);
    };
    const bool v4 = address.is_v4();
    auto& slot = v4 ? out.dns_v4 : out.dns_v6;
    if (slot) return fail("is a second DNS address of its family; give one of each");
    if (!v4 && !out.ipv6) return fail("is IPv6 but IPv6 = false");
    const auto& gateway = v4 ? out.address_v4 : out.address_v6;
    if (!gateway->network().contains(address)) {
      return fail("is outside the virtual network " + gateway->network().to_string());
    }
    if (address == gateway->address || address == gateway->network().address()) {
      return fail("must be a host of its own, not the gateway or network address");
    }
    slot = address;
  }
  if (!out.dns_v4) out.dns_v4 = host_in(out.address_v4->network(), kDnsHost);
  if (!out.dns_v6 && out.address_v6) out.dns_v6 = host_in(out.address_v6->network(), kDnsHost);

  auto mtu = parse_single(section, "MTU", file, parse_mtu);
  if (!mtu) return tl::unexpected(mtu.error());
  if (*mtu) out.mtu = **mtu;
  auto slirp_mtu = parse_single(section, "SlirpMTU", file, parse_slirp_mtu);
  if (!slirp_mtu) return tl::unexpected(slirp_mtu.error());
  if (*slirp_mtu) out.slirp_mtu = **slirp_mtu;
  auto loopback = parse_single(section, "HostLoopback", file, parse_bool);
  if (!loopback) return tl::unexpected(loopback.error());
  if (*loopback) out.host_loopback = **loopback;
  auto level = parse_single(section, "LogLevel", file, parse_log_level);
  if (!level) return tl::unexpected(level.error());
  if (*level) out.log_level = **level;
  auto idle = parse_single(section, "SessionIdleTimeout", file, parse_idle_timeout);
  if (!idle) return tl::unexpected(idle.error());
  if (*idle) out.session_idle_timeout = **idle;
  if (auto limits = parse_flow_limits(section, file, out.flow_limits); !limits) {
    return tl::unexpected(limits.error());
  }
  auto reserve = parse_single(section, "FdReserve", file, parse_fd_reserve);
  if (!reserve) return tl::unexpected(reserve.error());
  if (*reserve) out.fd_reserve = **reserve;

  for (auto [key, rules] : {std::pair{"DenyDestinations", &out.deny_destinations},
                            std::pair{"AllowDestinations", &out.allow_destinations}}) {
    auto parsed = parse_list(section, key, file, parse_destination_rule);
    if (!parsed) return tl::unexpected(parsed.error());
    for (auto& rule : *parsed) rules->push_back(rule.value);
  }
  return {};
}

ConfigExpected<ServerPeer> parse_peer(const IniSection& section, std::string_view file,
                                      const ServerInterface& interface) {
  if (auto checked = check_section(section, kPeerKeys, file); !checked) {
    return tl::unexpected(checked.error());
  }
  ServerPeer peer;
  peer.line = section.line;
  auto public_key = parse_single(section, "PublicKey", file, parse_public_key);
  if (!public_key) return tl::unexpected(public_key.error());
  if (!*public_key) {
    return config_fail(std::string(file), section.line, "[Peer] needs a PublicKey");
  }
  peer.public_key = **public_key;

  auto psk = load_secret(section, "PresharedKey", "PresharedKeyFile", file);
  if (!psk) return tl::unexpected(psk.error());
  if (*psk) {
    peer.preshared_key = std::move(**psk);
    peer.has_preshared_key = true;
  }

  auto allowed = parse_list(section, "AllowedIPs", file, parse_prefix);
  if (!allowed) return tl::unexpected(allowed.error());
  for (const auto& [prefix, line] : *allowed) {
    const auto& gateway = prefix.is_v4() ? interface.address_v4 : interface.address_v6;
    if (!gateway) {
      return config_fail(std::string(file), line,
                         "AllowedIPs: " + quote(prefix.to_string()) + " is IPv6 but IPv6 = false");
    }
    if (!gateway->network().contains(prefix)) {
      return config_fail(std::string(file), line,
                         "AllowedIPs: " + quote(prefix.to_string()) +
                             " is outside the virtual network " + gateway->network().to_string() +
                             " (the client's address must be in the peer's slirp network)");
    }
    peer.allowed_ips.push_back(prefix);
  }
  if (find_entry(section, "AllowedIPs") == nullptr) {
    for (const auto& gateway : {interface.address_v4, interface.address_v6}) {
      if (!gateway) continue;
      const auto host =
          host_in(gateway->network(), gateway->address.is_v4() ? kClientHostV4 : kClientHostV6);
      peer.allowed_ips.emplace_back(host, host.bit_length());
    }
  }

  auto endpoint = parse_single(section, "Endpoint", file, parse_host_port);
  if (!endpoint) return tl::unexpected(endpoint.error());
  peer.endpoint = *endpoint;
  auto keepalive = parse_single(section, "PersistentKeepalive", file, parse_keepalive);
  if (!keepalive) return tl::unexpected(keepalive.error());
  if (*keepalive) peer.persistent_keepalive = **keepalive;
  auto mtu = parse_single(section, "MTU", file, parse_mtu);
  if (!mtu) return tl::unexpected(mtu.error());
  peer.mtu = *mtu;
  if (auto limits = parse_flow_limits(section, file, peer.flow_limits); !limits) {
    return tl::unexpected(limits.error());
  }

  auto forwards = parse_list(section, "ForwardPort", file, parse_forward_port);
  if (!forwards) return tl::unexpected(forwards.error());
  for (const auto& [forward, line] : *forwards) peer.forward_ports.push_back(forward);

  if (const IniEntry* name = find_entry(section, "Name")) {
    if (name->value.empty() || name->value.size() > kMaxNameLength || !is_printable(name->value)) {
      return entry_fail(file, *name, "Name",
                        quote(name->value) + " must be 1 to 64 printable characters");
    }
    peer.name = name->value;
  }
  return peer;
}

// Checks that need every peer: unique keys, and ForwardPorts that can all be bound.
ConfigExpected<void> check_peers(const std::vector<const IniSection*>& peer_sections,
                                 const ServerConfig& config, std::string_view file) {
  const auto own_public_key = crypto::derive_public_key(config.interface.private_key);
  struct Forward {
    ForwardPort forward;
    int line;
  };
  std::vector<Forward> forwards;
  for (size_t i = 0; i < config.peers.size(); ++i) {
    const ServerPeer& peer = config.peers[i];
    const IniEntry& key_entry = *find_entry(*peer_sections[i], "PublicKey");
    if (peer.public_key == own_public_key) {
      return entry_fail(file, key_entry, "PublicKey",
                        "is the server's own public key (from PrivateKey)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (config.peers[j].public_key == peer.public_key) {
        return entry_fail(file, key_entry, "PublicKey",
                          "the same key as the [Peer] at line " +
                              std::to_string(config.peers[j].line) + "; each peer needs its own");
      }
    }
    for (const IniEntry* entry : find_entries(*peer_sections[i], "ForwardPort")) {
      const auto items = split_list(entry->value);  // validated by parse_peer
      for (auto item : *items) {
        const ForwardPort forward = *parse_forward_port(item);
        if (forward.protocol == Protocol::kUdp &&
            forward.server_port == config.interface.listen_port) {
          return entry_fail(file, *entry, "ForwardPort",
                            quote(item) + " takes the server's ListenPort " +
                                std::to_string(config.interface.listen_port));
        }
        for (const auto& earlier : forwards) {
          if (earlier.forward.conflicts_with(forward)) {
            return entry_fail(file, *entry, "ForwardPort",
                              quote(item) + " takes the same server port as line " +
                                  std::to_string(earlier.line));
          }
        }
        forwards.push_back(Forward{forward, entry->line});
      }
    }
  }
  return {};
}

ConfigExpected<ServerConfig> parse_server(std::string_view text, std::string_view file,
                                          bool& has_inline_secrets) {
  auto document = parse_ini(text, file);
  if (!document) return tl::unexpected(document.error());
  ServerConfig config;
  config.file = std::string(file);
  const IniSection* interface = nullptr;
  for (const auto& section : document->sections) {
    if (equals_ignore_case(section.name, "Interface")) {
      if (interface != nullptr) {
        return config_fail(
            std::string(file), section.line,
            "a second [Interface] (the first is at line " + std::to_string(interface->line) + ")");
      }
      interface = &section;
    } else if (!equals_ignore_case(section.name, "Peer")) {
      return config_fail(std::string(file), section.line,
                         "unknown section [" + section.name + "] (expected [Interface] or [Peer])");
    }
  }
  if (interface == nullptr) return config_fail(std::string(file), 0, "no [Interface] section");
  if (auto parsed = parse_interface(*interface, file, config.interface); !parsed) {
    return tl::unexpected(parsed.error());
  }
  std::vector<const IniSection*> peers;
  for (const auto& section : document->sections) {
    if (!equals_ignore_case(section.name, "Peer")) continue;
    auto peer = parse_peer(section, file, config.interface);
    if (!peer) return tl::unexpected(peer.error());
    config.peers.push_back(std::move(*peer));
    peers.push_back(&section);
  }
  for (const auto& section : document->sections) {
    if (find_entry(section, "PrivateKey") || find_entry(section, "PresharedKey")) {
      has_inline_secrets = true;
    }
  }
  if (auto checked = check_peers(peers, config, file); !checked) {
    return tl::unexpected(checked.error());
  }
  return config;
}

}  // namespace

std::optional<net::IpPrefix> ServerInterface::network_v4() const {
  if (!address_v4) return std::nullopt;
  return address_v4->network();
}

std::optional<net::IpPrefix> ServerInterface::network_v6() const {
  if (!address_v6) return std::nullopt;
  return address_v6->network();
}

ConfigExpected<ServerConfig> parse_server_config(std::string_view text, std::string_view file) {
  bool has_inline_secrets = false;
  return parse_server(text, file, has_inline_secrets);
}

ConfigExpected<ServerConfig> load_server_config(const std::string& path) {
  return load_config_file<ServerConfig>(path, parse_server);
}

}  // namespace slirpvpn::config
