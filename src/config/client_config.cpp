// SPDX-License-Identifier: MIT
// Client file schema: [Interface] once, [Peer] exactly once.
#include "config/client_config.h"

#include "config/config_file.h"
#include "config/keys.h"
#include "config/section.h"

namespace slirpvpn::config {

namespace {

constexpr KeyRule kInterfaceKeys[] = {
    {"PrivateKey"}, {"PrivateKeyFile"}, {"Address", true}, {"DNS", true},  {"MTU"},
    {"ListenPort"}, {"Table"},          {"FwMark"},        {"KillSwitch"},
};

constexpr KeyRule kPeerKeys[] = {
    {"PublicKey"}, {"PresharedKey"},     {"PresharedKeyFile"},
    {"Endpoint"},  {"AllowedIPs", true}, {"PersistentKeepalive"},
};

// A DNS item is a nameserver address or a search domain, as in wg-quick.
struct DnsItem {
  std::optional<net::IpAddress> address;
  std::string domain;
};

ValueResult<DnsItem> parse_dns_item(std::string_view text) {
  if (auto address = net::IpAddress::parse(text)) return DnsItem{*address, {}};
  if (is_search_domain(text)) return DnsItem{std::nullopt, std::string(text)};
  return tl::unexpected<std::string>(quote(text) + " is neither an IP address nor a search domain");
}

ConfigExpected<void> parse_interface(const IniSection& section, std::string_view file,
                                     ClientInterface& out) {
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

  auto addresses = parse_list(section, "Address", file, parse_interface_address);
  if (!addresses) return tl::unexpected(addresses.error());
  for (const auto& [address, line] : *addresses) {
    for (const auto& earlier : out.addresses) {
      if (earlier.address == address.address) {
        return config_fail(std::string(file), line,
                           "Address: " + quote(address.to_string()) + " is listed twice");
      }
    }
    out.addresses.push_back(address);
  }
  if (out.addresses.empty()) {
    return config_fail(std::string(file), section.line,
                       "[Interface] needs an Address (the tunnel address, e.g. 10.0.2.15/32)");
  }

  auto dns = parse_list(section, "DNS", file, parse_dns_item);
  if (!dns) return tl::unexpected(dns.error());
  for (auto& [item, line] : *dns) {
    if (item.address) {
      out.dns.push_back(*item.address);
    } else {
      out.dns_search.push_back(std::move(item.domain));
    }
  }

  auto mtu = parse_single(section, "MTU", file, parse_mtu);
  if (!mtu) return tl::unexpected(mtu.error());
  if (*mtu) out.mtu = **mtu;
  auto port = parse_single(section, "ListenPort", file,
                           [](std::string_view v) { return parse_port(v, true); });
  if (!port) return tl::unexpected(port.error());
  out.listen_port = *port;
  auto table = parse_single(section, "Table", file, parse_table);
  if (!table) return tl::unexpected(table.error());
  if (*table) out.table = **table;
  auto fwmark = parse_single(section, "FwMark", file, parse_fwmark);
  if (!fwmark) return tl::unexpected(fwmark.error());
  if (*fwmark) out.fwmark = **fwmark;
  auto kill_switch = parse_single(section, "KillSwitch", file, parse_bool);
  if (!kill_switch) return tl::unexpected(kill_switch.error());
  if (*kill_switch) out.kill_switch = **kill_switch;
  return {};
}

ConfigExpected<ClientPeer> parse_peer(const IniSection& section, std::string_view file) {
  if (auto checked = check_section(section, kPeerKeys, file); !checked) {
    return tl::unexpected(checked.error());
  }
  ClientPeer peer;
  peer.line = section.line;
  auto public_key = parse_single(section, "PublicKey", file, parse_public_key);
  if (!public_key) return tl::unexpected(public_key.error());
  if (!*public_key) return config_fail(std::string(file), section.line, "[Peer] needs a PublicKey");
  peer.public_key = **public_key;

  auto psk = load_secret(section, "PresharedKey", "PresharedKeyFile", file);
  if (!psk) return tl::unexpected(psk.error());
  if (*psk) {
    peer.preshared_key = std::move(**psk);
    peer.has_preshared_key = true;
  }

  auto endpoint = parse_single(section, "Endpoint", file, parse_host_port);
  if (!endpoint) return tl::unexpected(endpoint.error());
  if (!*endpoint) {
    return config_fail(std::string(file), section.line,
                       "[Peer] needs an Endpoint (the server's host:port)");
  }
  peer.endpoint = **endpoint;

  auto allowed = parse_list(section, "AllowedIPs", file, parse_prefix);
  if (!allowed) return tl::unexpected(allowed.error());
  for (const auto& [prefix, line] : *allowed) peer.allowed_ips.push_back(prefix);
  if (peer.allowed_ips.empty()) {
    return config_fail(std::string(file), section.line,
                       "[Peer] needs AllowedIPs (e.g. 0.0.0.0/0, ::/0 for everything)");
  }

  auto keepalive = parse_single(section, "PersistentKeepalive", file, parse_keepalive);
  if (!keepalive) return tl::unexpected(keepalive.error());
  if (*keepalive) peer.persistent_keepalive = **keepalive;
  return peer;
}

ConfigExpected<ClientConfig> parse_client(std::string_view text, std::string_view file,
                                          bool& has_inline_secrets) {
  auto document = parse_ini(text, file);
  if (!document) return tl::unexpected(document.error());
  ClientConfig config;
  config.file = std::string(file);
  const IniSection* interface = nullptr;
  const IniSection* peer = nullptr;
  for (const auto& section : document->sections) {
    if (equals_ignore_case(section.name, "Interface")) {
      if (interface != nullptr) {
        return config_fail(
            std::string(file), section.line,
            "a second [Interface] (the first is at line " + std::to_string(interface->line) + ")");
      }
      interface = &section;
    } else if (equals_ignore_case(section.name, "Peer")) {
      if (peer != nullptr) {
        return config_fail(std::string(file), section.line,
                           "a second [Peer] (the first is at line " + std::to_string(peer->line) +
                               "): a client has exactly one peer, its server");
      }
      peer = &section;
    } else {
      return config_fail(std::string(file), section.line,
                         "unknown section [" + section.name + "] (expected [Interface] or [Peer])");
    }
    if (find_entry(section, "PrivateKey") || find_entry(section, "PresharedKey")) {
      has_inline_secrets = true;
    }
  }
  if (interface == nullptr) return config_fail(std::string(file), 0, "no [Interface] section");
  if (auto parsed = parse_interface(*interface, file, config.interface); !parsed) {
    return tl::unexpected(parsed.error());
  }
  if (peer == nullptr) {
    return config_fail(std::string(file), 0,
                       "no [Peer] section: a client needs exactly one, its server");
  }
  auto parsed_peer = parse_peer(*peer, file);
  if (!parsed_peer) return tl::unexpected(parsed_peer.error());
  config.peer = std::move(*parsed_peer);
  return config;
}

}  // namespace

ConfigExpected<ClientConfig> parse_client_config(std::string_view text, std::string_view file) {
  bool has_inline_secrets = false;
  return parse_client(text, file, has_inline_secrets);
}

ConfigExpected<ClientConfig> load_client_config(const std::string& path) {
  return load_config_file<ClientConfig>(path, parse_client);
}

}  // namespace slirpvpn::config
