// SPDX-License-Identifier: MIT
// `slirpvpn show` output, human (wg's layout) and JSON (nlohmann-json).
#include "control/show.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "crypto/x25519.h"

namespace slirpvpn::control {
namespace {

std::string base64_key(const Key& key) {
  return crypto::encode_key(std::span<const uint8_t, 32>(key));
}

std::string public_key_of(const Key& private_key) {
  if (std::all_of(private_key.begin(), private_key.end(), [](uint8_t b) { return b == 0; }))
    return "(none)";
  const auto key = crypto::PrivateKey::from_bytes(std::span<const uint8_t, 32>(private_key));
  return crypto::encode_key(crypto::derive_public_key(key).span());
}

bool is_zero(const Key& key) {
  return std::all_of(key.begin(), key.end(), [](uint8_t b) { return b == 0; });
}

const std::string* find_extra(const std::vector<std::pair<std::string, std::string>>& extra,
                              std::string_view key) {
  for (const auto& [name, value] : extra)
    if (name == key) return &value;
  return nullptr;
}

uint64_t extra_number(const std::vector<std::pair<std::string, std::string>>& extra,
                      std::string_view key) {
  const std::string* value = find_extra(extra, key);
  uint64_t number = 0;
  if (value) std::from_chars(value->data(), value->data() + value->size(), number);
  return number;
}

// "reason=N reason=N" for the drop_ keys, in the order received.
std::string drops_line(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string line;
  for (const auto& [name, value] : extra) {
    if (!name.starts_with("drop_")) continue;
    if (!line.empty()) line += ' ';
    line += name.substr(5) + "=" + value;
  }
  return line;
}

bool is_known_extra(std::string_view name) {
  return name.starts_with("drop_") || name == "name" || name == "slirp_active" ||
         name == "tcp_flows" || name == "udp_flows" || name == "egress_denied";
}

std::string plural(uint64_t count, const char* unit) {
  return std::to_string(count) + " " + unit + (count == 1 ? "" : "s");
}

nlohmann::json extra_value(const std::string& value) {
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error == std::errc() && end == value.data() + value.size() && !value.empty()) return number;
  return value;
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  char text[64];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024ull * 1024) {
    std::snprintf(text, sizeof text, "%.2f KiB", double(bytes) / 1024);
  } else if (bytes < 1024ull * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.2f MiB", double(bytes) / (1024 * 1024));
  } else if (bytes < 1024ull * 1024 * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.2f GiB", double(bytes) / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(text, sizeof text, "%.2f TiB", double(bytes) / (1024.0 * 1024 * 1024 * 1024));
  }
  return text;
}

std::string format_ago(std::chrono::seconds elapsed) {
  long long left = elapsed.count();
  if (left <= 0) return "Now";
  struct Unit {
    long long seconds;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{365LL * 24 * 3600, "year"},
                                    {24 * 3600, "day"},
                                    {3600, "hour"},
                                    {60, "minute"},
                                    {1, "second"}};
  std::string text;
  for (const auto& unit : kUnits) {
    const long long count = left / unit.seconds;
    if (count == 0) continue;
    left -= count * unit.seconds;
    if (!text.empty()) text += ", ";
    text += plural(uint64_t(count), unit.name);
  }
  return text + " ago";
}

std::string format_show(const DeviceSnapshot& device, std::string_view interface_name,
                        std::chrono::system_clock::time_point now) {
  std::string out;
  out += "interface: " + std::string(interface_name) + "\n";
  out += "  public key: " + public_key_of(device.private_key) + "\n";
  out += "  private key: (hidden)\n";
  if (device.listen_port) out += "  listening port: " + std::to_string(device.listen_port) + "\n";
  if (device.fwmark) {
    char mark[16];
    std::snprintf(mark, sizeof mark, "0x%x", device.fwmark);
    out += std::string("  fwmark: ") + mark + "\n";
  }
  if (const std::string drops = drops_line(device.extra); !drops.empty())
    out += "  drops: " + drops + "\n";

  // wg's order: the most recent handshake first, peers without one last.
  std::vector<const PeerSnapshot*> peers;
  for (const auto& peer : device.peers) peers.push_back(&peer);
  std::stable_sort(peers.begin(), peers.end(), [](const auto* a, const auto* b) {
    return a->last_handshake.value_or(std::chrono::system_clock::time_point{}) >
           b->last_handshake.value_or(std::chrono::system_clock::time_point{});
  });
  for (const PeerSnapshot* peer : peers) {
    out += "\npeer: " + base64_key(peer->public_key) + "\n";
    if (const std::string* name = find_extra(peer->extra, "name")) out += "  name: " + *name + "\n";
    if (!is_zero(peer->preshared_key)) out += "  preshared key: (hidden)\n";
    if (peer->endpoint) out += "  endpoint: " + peer->endpoint->to_string() + "\n";
    out += "  allowed ips: ";
    if (peer->allowed_ips.empty()) out += "(none)";
    for (size_t i = 0; i < peer->allowed_ips.size(); ++i)
      out += (i ? ", " : "") + peer->allowed_ips[i].to_string();
    out += "\n";
    if (peer->last_handshake) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::seconds>(now - *peer->last_handshake);
      out += "  latest handshake: " + format_ago(elapsed) + "\n";
    }
    if (peer->rx_bytes || peer->tx_bytes) {
      out += "  transfer: " + format_bytes(peer->rx_bytes) + " received, " +
             format_bytes(peer->tx_bytes) + " sent\n";
    }
    if (peer->persistent_keepalive) {
      out += "  persistent keepalive: every " + plural(peer->persistent_keepalive, "second") + "\n";
    }
    if (const std::string* active = find_extra(peer->extra, "slirp_active")) {
      if (*active == "1") {
        out += "  slirp: " + plural(extra_number(peer->extra, "tcp_flows"), "tcp flow") + ", " +
               plural(extra_number(peer->extra, "udp_flows"), "udp flow") + "\n";
      } else {
        out += "  slirp: no network (created on the next packet)\n";
      }
    }
    if (find_extra(peer->extra, "egress_denied"))
      out +=
          "  egress denied: " + std::to_string(extra_number(peer->extra, "egress_denied")) + "\n";
    if (const std::string drops = drops_line(peer->extra); !drops.empty())
      out += "  drops: " + drops + "\n";
    for (const auto& [name, value] : peer->extra) {
      if (!is_known_extra(name)) out += "  " + name + ": " + value + "\n";
    }
  }
  return out;
}

std::string format_show_json(const DeviceSnapshot& device, std::string_view interface_name) {
  using nlohmann::json;
  const auto add_extras = [](json& object,
                             const std::vector<std::pair<std::string, std::string>>& extra) {
    json drops = json::object();
    for (const auto& [name, value] : extra) {
      if (name.starts_with("drop_")) {
        drops[name.substr(5)] = extra_value(value);
      } else if (name == "slirp_active") {
        object["slirp_active"] = value == "1";
      } else if (name == "name") {
        object["name"] = value;
      } else {
        object[name] = extra_value(value);
      }
    }
    object["drops"] = drops;
  };
  json root = json::object();
  root["interface"] = std::string(interface_name);
  root["public_key"] = public_key_of(device.private_key);
  root["listen_port"] = device.listen_port;
  root["fwmark"] = device.fwmark;
  add_extras(root, device.extra);
  json peers = json::array();
  for (const auto& peer : device.peers) {
    json object = json::object();
    object["public_key"] = base64_key(peer.public_key);
    object["name"] = nullptr;
    object["preshared_key"] = !is_zero(peer.preshared_key);
    object["endpoint"] = peer.endpoint ? json(peer.endpoint->to_string()) : json(nullptr);
    json allowed = json::array();
    for (const auto& prefix : peer.allowed_ips) allowed.push_back(prefix.to_string());
    object["allowed_ips"] = allowed;
    object["latest_handshake"] = peer.last_handshake
                                     ? json(std::chrono::duration_cast<std::chrono::seconds>(
                                                peer.last_handshake->time_since_epoch())
                                                .count())
                                     : json(nullptr);
    object["rx_bytes"] = peer.rx_bytes;
    object["tx_bytes"] = peer.tx_bytes;
    object["persistent_keepalive"] = peer.persistent_keepalive;
    add_extras(object, peer.extra);
    peers.push_back(std::move(object));
  }
  root["peers"] = std::move(peers);
  // Names come from the configuration file: replace rather than throw on bad UTF-8.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace slirpvpn::control
