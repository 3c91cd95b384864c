// SPDX-License-Identifier: MIT
// The WireGuard cross-platform userspace API (wireguard-go's UAPI, what the `wg` tool speaks
// over /var/run/wireguard/NAME.sock): request parsing and response formatting, no I/O.
//
// A request is `get=1` or `set=1`, then key=value lines, ended by an empty line. A get is
// answered with the device's and each peer's keys, a set with nothing; both end with
// `errno=N` and an empty line. Keys travel as lowercase hex. Parsing is strict: a malformed
// line yields EINVAL and changes nothing (the whole set is validated before it is applied).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/ip_address.h"

namespace slirpvpn::control {

using Key = std::array<uint8_t, 32>;

std::string to_hex(const Key& key);
std::optional<Key> key_from_hex(std::string_view text);

// What `get=1` reports.
struct PeerSnapshot {
  Key public_key{};
  Key preshared_key{};
  std::optional<net::Endpoint> endpoint;
  std::optional<std::chrono::system_clock::time_point> last_handshake;
  uint64_t tx_bytes = 0;
  uint64_t rx_bytes = 0;
  uint16_t persistent_keepalive = 0;
  std::vector<net::IpPrefix> allowed_ips;
  // slirpvpn's own keys, sent as `slirpvpn_<name>=<value>` lines: stock `wg` ignores keys it
  // does not know in a get response (checked against wireguard-tools 1.0.20210914).
  std::vector<std::pair<std::string, std::string>> extra;
};

struct DeviceSnapshot {
  Key private_key{};
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<PeerSnapshot> peers;
  std::vector<std::pair<std::string, std::string>> extra;  // as PeerSnapshot::extra
};

// The prefix of slirpvpn's own keys in get responses.
inline constexpr std::string_view kExtraPrefix = "slirpvpn_";

// Serialises a get response, errno=0 and the closing empty line included.
std::string format_get_response(const DeviceSnapshot& device);

// Reads a get response (up to and including `errno=N`) back into a snapshot, for `slirpvpn
// show`. Keys it does not know are skipped, as `wg` does; `slirpvpn_*` keys land in `extra`
// without the prefix. Returns nullopt for malformed text, or when errno is not 0 (`error` then
// holds it).
std::optional<DeviceSnapshot> parse_get_response(std::string_view text, int& error);

// One `public_key=` block of a set request.
struct PeerChange {
  Key public_key{};
  bool remove = false;
  bool update_only = false;
  std::optional<Key> preshared_key;
  std::optional<net::Endpoint> endpoint;
  std::optional<uint16_t> persistent_keepalive;
  bool replace_allowed_ips = false;
  std::vector<net::IpPrefix> allowed_ips;  // added (after clearing when replace_allowed_ips)
  // slirpvpn's own `slirpvpn_name=` (add-peer sends it; wg never does): the label in logs and
  // `slirpvpn show`, 1 to 64 printable characters as the file's Name.
  std::optional<std::string> name;
};

struct SetRequest {
  std::optional<Key> private_key;
  std::optional<uint16_t> listen_port;
  std::optional<uint32_t> fwmark;
  bool replace_peers = false;
  std::vector<PeerChange> peers;
};

enum class Operation : uint8_t { kGet, kSet };

struct Request {
  Operation operation = Operation::kGet;
  SetRequest set;
};

// Parses one whole request (everything up to and including the empty line). Returns the
// request or an errno value (EINVAL for malformed input, EPROTO for an unknown operation).
struct ParseResult {
  std::optional<Request> request;
  int error = 0;
  std::string detail;  // what was wrong, for the log
};
ParseResult parse_request(std::string_view text);

std::string format_errno(int error);

}  // namespace slirpvpn::control
