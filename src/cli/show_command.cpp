// SPDX-License-Identifier: MIT
// `slirpvpn show [NAME] [--json]`: what `wg show` prints, plus the server's slirp flows, egress
// denials and drops by reason (UAPI keys that stock `wg` skips).
#include <dirent.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "control/show.h"
#include "control/uapi.h"
#include "control/uapi_client.h"

namespace slirpvpn::cli {
namespace {

struct ShowArguments {
  std::string name;
  std::string socket;
  bool json = false;
};

// Every NAME with a socket in /var/run/wireguard (`wg show` with no name lists them all).
std::vector<std::string> all_interfaces() {
  std::vector<std::string> names;
  DIR* directory = ::opendir("/var/run/wireguard");
  if (!directory) return names;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string file = entry->d_name;
    if (file.size() > 5 && file.ends_with(".sock"))
      names.push_back(file.substr(0, file.size() - 5));
  }
  ::closedir(directory);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<control::DeviceSnapshot> fetch(const std::string& path, const std::string& name) {
  auto response = control::uapi_exchange(path, "get=1\n\n");
  if (!response) {
    std::fprintf(stderr, "slirpvpn show: %s: %s\n", name.c_str(),
                 response.error().message().c_str());
    return std::nullopt;
  }
  int error = 0;
  auto device = control::parse_get_response(*response, error);
  if (!device) {
    std::fprintf(stderr, "slirpvpn show: %s: %s\n", name.c_str(),
                 error ? ("the server answered errno " + std::to_string(error)).c_str()
                       : "malformed answer");
  }
  return device;
}

int run_show(const ShowArguments& arguments) {
  std::vector<std::string> names;
  if (!arguments.name.empty()) {
    names.push_back(arguments.name);
  } else if (!arguments.socket.empty()) {
    names.push_back("(socket)");
  } else {
    names = all_interfaces();
    if (names.empty()) {
      std::fprintf(stderr, "slirpvpn show: no interfaces in /var/run/wireguard\n");
      return 1;
    }
  }
  int status = 0;
  std::vector<std::string> outputs;
  for (const auto& name : names) {
    const std::string path =
        arguments.socket.empty() ? control::wg_socket_path(name) : arguments.socket;
    auto device = fetch(path, name);
    if (!device) {
      status = 1;
      continue;
    }
    outputs.push_back(arguments.json
                          ? control::format_show_json(*device, name)
                          : control::format_show(*device, name, std::chrono::system_clock::now()));
  }
  if (arguments.json && outputs.size() != 1) {
    // Several interfaces: one object that holds them all.
    std::cout << "{\"interfaces\": [";
    for (size_t i = 0; i < outputs.size(); ++i) std::cout << (i ? ",\n" : "\n") << outputs[i];
    std::cout << "]}\n";
  } else {
    for (size_t i = 0; i < outputs.size(); ++i) std::cout << (i ? "\n" : "") << outputs[i];
  }
  return status;
}

}  // namespace

void register_show_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<ShowArguments>();
  auto* command = app.add_subcommand(
      "show", "Show an interface as `wg show` does, plus slirp flows, egress denials and drops");
  command->add_option("NAME", arguments->name,
                      "interface name (its socket: /var/run/wireguard/NAME.sock); default: all");
  command->add_option("--socket", arguments->socket, "the UAPI socket path, instead of NAME's");
  command->add_flag("--json", arguments->json,
                    "one JSON object (keys hidden, counters as numbers)");
  command->footer(
      "Example: slirpvpn show wg0\n"
      "         slirpvpn show wg0 --json | jq '.peers[] | {name, tcp_flows, rx_bytes}'");
  command->callback([&exit_code, arguments] { exit_code = run_show(*arguments); });
}

}  // namespace slirpvpn::cli
