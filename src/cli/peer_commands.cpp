// SPDX-License-Identifier: MIT
// `slirpvpn add-peer` / `remove-peer`: edit the server file (atomically, nothing else touched)
// and apply the change to the running server through its UAPI socket.
//
// Why the UAPI socket and not SIGHUP: a `set=1` request is answered (errno=N), so the command
// knows the running server took the change; it needs no PID file and no right to signal the
// server's user; and it touches only this peer. The file is written first and stays the
// source of truth: a later SIGHUP reload finds the peer already as the file says.
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/qr.h"
#include "client/interface_name.h"
#include "config/config_edit.h"
#include "config/config_file.h"
#include "config/server_config.h"
#include "control/uapi.h"
#include "control/uapi_client.h"
#include "crypto/x25519.h"

namespace slirpvpn::cli {
namespace {

struct PeerArguments {
  std::string config_path;
  std::string name;
  std::string endpoint;
  std::vector<std::string> addresses;
  std::string public_key;
  std::string interface;
  std::string socket;
  std::string qr_png;
  std::string client_config;
  bool qr = false;
  bool no_qr = false;
};

int error(const std::string& message) {
  std::fprintf(stderr, "slirpvpn: %s\n", message.c_str());
  return 1;
}

std::string socket_path(const PeerArguments& arguments) {
  if (!arguments.socket.empty()) return arguments.socket;
  const auto name = arguments.interface.empty()
                        ? client::interface_name_from_config(arguments.config_path)
                        : std::optional<std::string>(arguments.interface);
  return control::wg_socket_path(name.value_or("wg0"));
}

// Sends `request` to the running server. A missing server is not an error: the file is
// already changed and the server reads it when it starts.
int apply(const PeerArguments& arguments, const std::string& request, const char* what) {
  const std::string path = socket_path(arguments);
  auto response = control::uapi_exchange(path, request);
  if (!response) {
    const int number = response.error().error_number;
    if (number == ENOENT || number == ECONNREFUSED) {
      std::fprintf(stderr,
                   "slirpvpn: no running server at %s: the file is changed and takes effect "
                   "when the server starts\n",
                   path.c_str());
      return 0;
    }
    return error(std::string(what) + ": the file is changed but the running server was not: " +
                 response.error().message() + " (reload it: systemctl reload or kill -HUP)");
  }
  const int number = control::response_errno(*response);
  if (number != 0) {
    return error(std::string(what) + ": the running server refused the change (errno " +
                 std::to_string(number) + ": " + std::strerror(number) +
                 "); the file is changed: reload the server (kill -HUP)");
  }
  std::fprintf(stderr, "slirpvpn: %s: applied to the running server (%s)\n", what, path.c_str());
  return 0;
}

std::string render_client_config(const std::string& private_key,
                                 const std::vector<std::string>& addresses, const std::string& dns,
                                 const std::string& server_public_key,
                                 const std::string& endpoint) {
  std::string out = "[Interface]\nPrivateKey = " + private_key + "\nAddress = ";
  for (size_t i = 0; i < addresses.size(); ++i) out += (i ? ", " : "") + addresses[i];
  out += "\nDNS = " + dns + "\n\n[Peer]\nPublicKey = " + server_public_key +
         "\nEndpoint = " + endpoint + "\nAllowedIPs = 0.0.0.0/0, ::/0\nPersistentKeepalive = 25\n";
  return out;
}

std::string today() {
  char text[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

int run_add_peer(const PeerArguments& arguments) {
  if (!crypto::initialize()) return error("libsodium failed to initialise");
  const std::string& path = arguments.config_path;
  auto current = config::load_server_config(path);
  if (!current) return error(current.error().to_string());
  if (!arguments.name.empty()) {
    for (const auto& peer : current->peers) {
      if (peer.name == arguments.name) {
        return error(path + ":" + std::to_string(peer.line) + ": a peer named '" + arguments.name +
                     "' exists already");
      }
    }
  }
  std::string endpoint = arguments.endpoint;
  if (endpoint.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    endpoint = std::string(host) + ":" + std::to_string(current->interface.listen_port);
    std::fprintf(stderr, "slirpvpn: no --endpoint: the client config uses %s\n", endpoint.c_str());
  } else if (!net::HostPort::parse(endpoint)) {
    return error("--endpoint '" + endpoint + "': expected HOST:PORT or [IPv6]:PORT");
  }
  std::vector<net::IpPrefix> allowed;
  for (const auto& text : arguments.addresses) {
    const auto address = net::InterfaceAddress::parse(text);
    if (!address) return error("--address '" + text + "': expected an address like 10.0.2.15/24");
    allowed.emplace_back(address->address, address->address.bit_length());
  }

  crypto::Secret<crypto::kKeyLen> random;
  randombytes_buf(random.data(), random.size());
  const auto private_key = crypto::PrivateKey::from_random(random.span());
  const auto public_key = crypto::derive_public_key(private_key);

  auto text = config::read_config_file(path);
  if (!text) return error(text.error().to_string());
  const std::string section = config::render_peer_section(
      arguments.name, public_key, allowed, "added by slirpvpn add-peer on " + today());
  std::string updated = config::append_section(text->text, section);
  // The new file must load as it is, before it replaces the old one.
  auto parsed = config::parse_server_config(updated, path);
  if (!parsed) {
    sodium_memzero(updated.data(), updated.size());
    return error("the new peer would make the file invalid: " + parsed.error().to_string());
  }
  const config::ServerPeer& added = parsed->peers.back();
  auto written = config::write_file_atomically(path, updated);
  sodium_memzero(updated.data(), updated.size());
  if (!written) return error(written.error().message());
  std::fprintf(stderr, "slirpvpn: added [Peer] %s to %s\n",
               crypto::encode_key(public_key.span()).c_str(), path.c_str());

  std::string request = "set=1\npublic_key=" + control::to_hex(public_key.bytes) + "\n";
  if (!arguments.name.empty()) request += "slirpvpn_name=" + arguments.name + "\n";
  for (const auto& prefix : added.allowed_ips) request += "allowed_ip=" + prefix.to_string() + "\n";
  request += "\n";
  const int applied = apply(arguments, request, "add-peer");

  std::vector<std::string> addresses = arguments.addresses;
  if (addresses.empty()) {
    for (const auto& prefix : added.allowed_ips) addresses.push_back(prefix.to_string());
  }
  const std::string dns =
      parsed->interface.dns_v4 ? parsed->interface.dns_v4->to_string() : "10.0.2.3";
  std::string client_config = render_client_config(
      crypto::encode_key(private_key.span()), addresses, dns,
      crypto::encode_key(crypto::derive_public_key(parsed->interface.private_key).span()),
      endpoint);
  int status = applied;
  if (!arguments.client_config.empty()) {
    const mode_t previous = ::umask(0077);  // it holds the client's private key
    std::FILE* file = std::fopen(arguments.client_config.c_str(), "wx");
    ::umask(previous);
    if (!file || std::fputs(client_config.c_str(), file) < 0 || std::fclose(file) != 0) {
      status = error("cannot write " + arguments.client_config + ": " + std::strerror(errno) +
                     " (it must not exist yet)");
    }
  }
  std::cout << client_config << std::flush;
  if (!arguments.qr_png.empty()) {
    if (auto png = qr_png(client_config, arguments.qr_png); !png) {
      status = error(png.error().message());
    }
  }
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  if ((terminal || arguments.qr) && !arguments.no_qr) {
    auto qr = qr_terminal(client_config);
    if (qr) {
      std::cout << "\n" << *qr << std::flush;
    } else {
      status = error(qr.error().message());
    }
  }
  sodium_memzero(client_config.data(), client_config.size());
  return status;
}

int run_remove_peer(const PeerArguments& arguments) {
  if (!crypto::initialize()) return error("libsodium failed to initialise");
  if (arguments.public_key.empty() == arguments.name.empty())
    return error("remove-peer: give --name or --public-key");
  config::PeerSelector selector;
  if (!arguments.public_key.empty()) {
    auto key = crypto::decode_key(arguments.public_key);
    if (!key) return error("--public-key: not a base64 key of 32 bytes");
    selector.public_key = crypto::PublicKey{*key};
  } else {
    selector.name = arguments.name;
  }
  const std::string& path = arguments.config_path;
  auto text = config::read_config_file(path);
  if (!text) return error(text.error().to_string());
  auto removed = config::remove_peer_section(text->text, path, selector);
  if (!removed) return error(removed.error().to_string());
  if (auto parsed = config::parse_server_config(removed->text, path); !parsed) {
    sodium_memzero(removed->text.data(), removed->text.size());
    return error("the file would be invalid without that peer: " + parsed.error().to_string());
  }
  auto written = config::write_file_atomically(path, removed->text);
  sodium_memzero(removed->text.data(), removed->text.size());
  if (!written) return error(written.error().message());
  std::fprintf(stderr, "slirpvpn: removed the [Peer] at line %d (%s) from %s\n", removed->line,
               crypto::encode_key(removed->public_key.span()).c_str(), path.c_str());
  return apply(
      arguments,
      "set=1\npublic_key=" + control::to_hex(removed->public_key.bytes) + "\nremove=true\n\n",
      "remove-peer");
}

void add_target_options(CLI::App* command, PeerArguments& arguments) {
  command->add_option("-c,--config", arguments.config_path, "the server's configuration file")
      ->required();
  command->add_option("--interface", arguments.interface,
                      "the running server's interface name (default: the file's name without "
                      ".conf), for /var/run/wireguard/NAME.sock");
  command->add_option("--socket", arguments.socket, "the running server's UAPI socket path");
}

}  // namespace

void register_peer_commands(CLI::App& app, int& exit_code) {
  auto add_arguments = std::make_shared<PeerArguments>();
  auto* add = app.add_subcommand(
      "add-peer",
      "Add a client to a server: new keys, a [Peer] in the file, the running server told; "
      "prints the client's wg-quick configuration and a QR code");
  add_target_options(add, *add_arguments);
  add->add_option("--name", add_arguments->name, "a name for the peer (Name = in the file)");
  add->add_option("--endpoint", add_arguments->endpoint,
                  "HOST:PORT clients reach the server at (default: this host's name and the "
                  "ListenPort)");
  add->add_option("--address", add_arguments->addresses,
                  "the client's tunnel address(es) (default: the network's .15: 10.0.2.15/32, "
                  "fec0::15/128)");
  add->add_option("--client-config", add_arguments->client_config,
                  "also write the client configuration to this new file (mode 0600)");
  add->add_option("--qr-png", add_arguments->qr_png, "write the QR code as a PNG image");
  add->add_flag("--qr", add_arguments->qr, "print the QR code even when stdout is not a terminal");
  add->add_flag("--no-qr", add_arguments->no_qr, "never print the QR code");
  add->footer(
      "Example: slirpvpn add-peer -c /etc/slirpvpn/wg0.conf --name laptop \\\n"
      "             --endpoint vpn.example.org:51820 --qr-png laptop.png > laptop.conf\n"
      "The client's private key is printed, never stored on the server. The QR code is\n"
      "printed when stdout is a terminal (for the WireGuard phone apps).");
  add->callback([&exit_code, add_arguments] { exit_code = run_add_peer(*add_arguments); });

  auto remove_arguments = std::make_shared<PeerArguments>();
  auto* remove = app.add_subcommand(
      "remove-peer",
      "Remove a client from a server: its [Peer] out of the file and the running "
      "server (its session and slirp network end)");
  add_target_options(remove, *remove_arguments);
  auto* name = remove->add_option("--name", remove_arguments->name, "the peer's Name");
  auto* key = remove->add_option("--public-key", remove_arguments->public_key,
                                 "the peer's public key (base64)");
  name->excludes(key);
  remove->footer(
      "Example: slirpvpn remove-peer -c /etc/slirpvpn/wg0.conf --name laptop\n"
      "         slirpvpn remove-peer -c /etc/slirpvpn/wg0.conf --public-key 'AbC...='");
  remove->callback(
      [&exit_code, remove_arguments] { exit_code = run_remove_peer(*remove_arguments); });
}

}  // namespace slirpvpn::cli
