// SPDX-License-Identifier: MIT
// UAPI text: hex keys, get responses, set requests.
#include "control/uapi.h"

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace slirpvpn::control {
namespace {

template <typename Integer>
std::optional<Integer> parse_number(std::string_view text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// wg writes endpoints as "1.2.3.4:5" or "[::1]:5".
std::optional<net::Endpoint> parse_endpoint(std::string_view text) {
  return net::Endpoint::parse(text);
}

}  // namespace

std::string to_hex(const Key& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(64);
  for (uint8_t byte : key) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  return text;
}

std::optional<Key> key_from_hex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  Key key{};
  for (size_t i = 0; i < 32; ++i) {
    const auto byte = text.substr(2 * i, 2);
    uint8_t value = 0;
    const auto [end, error] = std::from_chars(byte.data(), byte.data() + 2, value, 16);
    if (error != std::errc() || end != byte.data() + 2) return std::nullopt;
    key[i] = value;
  }
  return key;
}

std::string format_get_response(const DeviceSnapshot& device) {
  std::string text;
  text += "private_key=" + to_hex(device.private_key) + "\n";
  text += "listen_port=" + std::to_string(device.listen_port) + "\n";
  if (device.fwmark != 0) text += "fwmark=" + std::to_string(device.fwmark) + "\n";
  for (const auto& [key, value] : device.extra)
    text += std::string(kExtraPrefix) + key + "=" + value + "\n";
  for (const auto& peer : device.peers) {
    text += "public_key=" + to_hex(peer.public_key) + "\n";
    text += "preshared_key=" + to_hex(peer.preshared_key) + "\n";
    text += "protocol_version=1\n";
    if (peer.endpoint) text += "endpoint=" + peer.endpoint->to_string() + "\n";
    int64_t seconds = 0, nanoseconds = 0;
    if (peer.last_handshake) {
      const auto since = peer.last_handshake->time_since_epoch();
      seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
      nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        since - std::chrono::seconds(seconds))
                        .count();
    }
    text += "last_handshake_time_sec=" + std::to_string(seconds) + "\n";
    text += "last_handshake_time_nsec=" + std::to_string(nanoseconds) + "\n";
    text += "tx_bytes=" + std::to_string(peer.tx_bytes) + "\n";
    text += "rx_bytes=" + std::to_string(peer.rx_bytes) + "\n";
    text += "persistent_keepalive_interval=" + std::to_string(peer.persistent_keepalive) + "\n";
    for (const auto& [key, value] : peer.extra)
      text += std::string(kExtraPrefix) + key + "=" + value + "\n";
    for (const auto& prefix : peer.allowed_ips) text += "allowed_ip=" + prefix.to_string() + "\n";
  }
  text += format_errno(0);
  return text;
}

std::optional<DeviceSnapshot> parse_get_response(std::string_view text, int& error) {
  error = 0;
  DeviceSnapshot device;
  PeerSnapshot* peer = nullptr;
  bool ended = false;
  int64_t seconds = 0;
  int64_t nanoseconds = 0;
  const auto finish_handshake = [&] {
    if (peer && (seconds != 0 || nanoseconds != 0)) {
      peer->last_handshake = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanoseconds)));
    }
    seconds = nanoseconds = 0;
  };
  size_t position = 0;
  while (position < text.size() && !ended) {
    const size_t end = text.find('\n', position);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view line = text.substr(position, end - position);
    position = end + 1;
    if (line.empty()) break;
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view key = line.substr(0, equals);
    const std::string_view value = line.substr(equals + 1);
    bool ok = true;
    if (key == "errno") {
      const auto number = parse_number<int>(value);
      if (!number) return std::nullopt;
      error = *number;
      ended = true;
    } else if (key == "public_key") {
      finish_handshake();
      const auto public_key = key_from_hex(value);
      if (!public_key) return std::nullopt;
      device.peers.emplace_back();
      peer = &device.peers.back();
      peer->public_key = *public_key;
    } else if (key.starts_with(kExtraPrefix)) {
      auto& extra = peer ? peer->extra : device.extra;
      extra.emplace_back(std::string(key.substr(kExtraPrefix.size())), std::string(value));
    } else if (!peer) {
      if (key == "private_key") {
        const auto private_key = key_from_hex(value);
        ok = private_key.has_value();
        if (ok) device.private_key = *private_key;
      } else if (key == "listen_port") {
        const auto port = parse_number<uint16_t>(value);
        ok = port.has_value();
        if (ok) device.listen_port = *port;
      } else if (key == "fwmark") {
        const auto mark = parse_number<uint32_t>(value);
        ok = mark.has_value();
        if (ok) device.fwmark = *mark;
      }
    } else if (key == "preshared_key") {
      const auto psk = key_from_hex(value);
      ok = psk.has_value();
      if (ok) peer->preshared_key = *psk;
    } else if (key == "endpoint") {
      peer->endpoint = parse_endpoint(value);
      ok = peer->endpoint.has_value();
    } else if (key == "last_handshake_time_sec") {
      const auto number = parse_number<int64_t>(value);
      ok = number.has_value();
      if (ok) seconds = *number;
    } else if (key == "last_handshake_time_nsec") {
      const auto number = parse_number<int64_t>(value);
      ok = number.has_value();
      if (ok) nanoseconds = *number;
    } else if (key == "tx_bytes" || key == "rx_bytes") {
      const auto number = parse_number<uint64_t>(value);
      ok = number.has_value();
      if (ok) (key == "tx_bytes" ? peer->tx_bytes : peer->rx_bytes) = *number;
    } else if (key == "persistent_keepalive_interval") {
      const auto number = parse_number<uint16_t>(value);
      ok = number.has_value();
      if (ok) peer->persistent_keepalive = *number;
    } else if (key == "allowed_ip") {
      const auto prefix = net::IpPrefix::parse(value);
      ok = prefix.has_value();
      if (ok) peer->allowed_ips.push_back(*prefix);
    }
    if (!ok) return std::nullopt;
  }
  if (!ended) return std::nullopt;
  finish_handshake();
  if (error != 0) return std::nullopt;
  return device;
}

std::string format_errno(int error) {
  return "errno=" + std::to_string(error) + "\n\n";
}

ParseResult parse_request(std::string_view text) {
  ParseResult result;
  const auto invalid = [&result](std::string detail) {
    result.request.reset();
    result.error = EINVAL;
    result.detail = std::move(detail);
    return result;
  };
  Request request;
  bool first = true;
  PeerChange* peer = nullptr;
  size_t position = 0;
  while (position < text.size()) {
    const size_t end = text.find('\n', position);
    if (end == std::string_view::npos) return invalid("request not terminated by a newline");
    const std::string_view line = text.substr(position, end - position);
    position = end + 1;
    if (line.empty()) break;
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) return invalid("line without '='");
    const std::string_view key = line.substr(0, equals);
    const std::string_view value = line.substr(equals + 1);
    if (first) {
      first = false;
      if (key == "get" && value == "1") {
        request.operation = Operation::kGet;
        continue;
      }
      if (key == "set" && value == "1") {
        request.operation = Operation::kSet;
        continue;
      }
      result.error = EPROTO;
      result.detail = "unknown operation";
      return result;
    }
    if (request.operation == Operation::kGet) return invalid("get takes no arguments");
    auto& set = request.set;
    if (key == "public_key") {
      const auto public_key = key_from_hex(value);
      if (!public_key) return invalid("bad public_key");
      set.peers.push_back(PeerChange{});
      peer = &set.peers.back();
      peer->public_key = *public_key;
    } else if (!peer) {
      if (key == "private_key") {
        set.private_key = key_from_hex(value);
        if (!set.private_key) return invalid("bad private_key");
      } else if (key == "listen_port") {
        set.listen_port = parse_number<uint16_t>(value);
        if (!set.listen_port) return invalid("bad listen_port");
      } else if (key == "fwmark") {
        set.fwmark = parse_number<uint32_t>(value);
        if (!set.fwmark) return invalid("bad fwmark");
      } else if (key == "replace_peers") {
        if (value != "true") return invalid("replace_peers takes true");
        set.replace_peers = true;
      } else {
        return invalid("unknown device key '" + std::string(key) + "'");
      }
    } else if (key == "remove") {
      if (value != "true") return invalid("remove takes true");
      peer->remove = true;
    } else if (key == "update_only") {
      if (value != "true") return invalid("update_only takes true");
      peer->update_only = true;
    } else if (key == "preshared_key") {
      peer->preshared_key = key_from_hex(value);
      if (!peer->preshared_key) return invalid("bad preshared_key");
    } else if (key == "endpoint") {
      peer->endpoint = parse_endpoint(value);
      if (!peer->endpoint) return invalid("bad endpoint");
    } else if (key == "persistent_keepalive_interval") {
      peer->persistent_keepalive = parse_number<uint16_t>(value);
      if (!peer->persistent_keepalive) return invalid("bad persistent_keepalive_interval");
    } else if (key == "replace_allowed_ips") {
      if (value != "true") return invalid("replace_allowed_ips takes true");
      peer->replace_allowed_ips = true;
    } else if (key == "allowed_ip") {
      const auto prefix = net::IpPrefix::parse(value);
      if (!prefix) return invalid("bad allowed_ip");
      peer->allowed_ips.push_back(*prefix);
    } else if (key == "slirpvpn_name") {
      const bool printable = std::all_of(value.begin(), value.end(),
                                         [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
      if (value.empty() || value.size() > 64 || !printable) return invalid("bad slirpvpn_name");
      peer->name = std::string(value);
    } else if (key == "protocol_version") {
      if (value != "1") return invalid("protocol_version must be 1");
    } else {
      return invalid("unknown peer key '" + std::string(key) + "'");
    }
  }
  if (first) return invalid("empty request");
  result.request = std::move(request);
  return result;
}

}  // namespace slirpvpn::control
