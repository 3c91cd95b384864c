// SPDX-License-Identifier: MIT
// libFuzzer target for the configuration parsers (src/config/) and the address text parsers.
//
// Properties checked on every input, each a crash when violated:
//  - neither parse_server_config nor parse_client_config crashes, reads out of bounds (ASan) or
//    hits undefined behaviour (UBSan), whatever the bytes;
//  - an error names the file given and a line within the text (0 for whole-file errors), with a
//    non-empty, NUL-free message;
//  - each line's text, when it parses as an IpPrefix, Endpoint, DestinationRule or ForwardPort,
//    prints to text that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/client_config.h"
#include "config/server_config.h"
#include "config/values.h"
#include "net/ip_address.h"

namespace {

using namespace slirpvpn;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "config_fuzz: %s\n", what);
  std::abort();
}

void check(bool condition, const char* what) {
  if (!condition) fail(what);
}

constexpr std::string_view kFile = "fuzz.conf";

void check_error(const config::ConfigError& error, int line_count) {
  check(error.file == kFile, "error names another file");
  check(error.line >= 0 && error.line <= line_count, "error line outside the text");
  check(!error.message.empty(), "empty error message");
  check(error.message.find('\0') == std::string::npos, "NUL in error message");
}

void check_round_trips(std::string_view text) {
  if (auto prefix = net::IpPrefix::parse(text)) {
    check(net::IpPrefix::parse(prefix->to_string()) == prefix, "IpPrefix round trip");
  }
  if (auto endpoint = net::Endpoint::parse(text)) {
    check(net::Endpoint::parse(endpoint->to_string()) == endpoint, "Endpoint round trip");
  }
  if (auto rule = config::parse_destination_rule(text)) {
    auto again = config::parse_destination_rule(rule->to_string());
    check(again && *again == *rule, "DestinationRule round trip");
  }
  if (auto forward = config::parse_forward_port(text)) {
    auto again = config::parse_forward_port(forward->to_string());
    check(again && *again == *forward, "ForwardPort round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  int line_count = 0;
  size_t position = 0;
  while (position < text.size()) {
    ++line_count;
    const size_t end = std::min(text.find('\n', position), text.size());
    check_round_trips(text.substr(position, end - position));
    position = end + 1;
  }

  if (auto server = config::parse_server_config(text, kFile); !server) {
    check_error(server.error(), line_count);
  } else {
    check(server->interface.address_v4.has_value(), "server without an IPv4 gateway");
    check(server->interface.dns_v4.has_value(), "server without an IPv4 DNS address");
    for (const auto& peer : server->peers) {
      check(!peer.allowed_ips.empty(), "server peer without AllowedIPs");
      for (const auto& prefix : peer.allowed_ips) {
        const auto network =
            prefix.is_v4() ? server->interface.network_v4() : server->interface.network_v6();
        check(network && network->contains(prefix), "AllowedIPs outside the network");
      }
    }
  }
  if (auto client = config::parse_client_config(text, kFile); !client) {
    check_error(client.error(), line_count);
  } else {
    check(!client->interface.addresses.empty(), "client without an Address");
    check(!client->peer.allowed_ips.empty(), "client without AllowedIPs");
  }
  return 0;
}
