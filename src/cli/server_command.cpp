// SPDX-License-Identifier: MIT
// `slirpvpn server -c server.conf`: load the configuration and serve until stopped.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/logging.h"
#include "cli/secret_memory.h"
#include "config/server_config.h"
#include "control/uapi_socket.h"
#include "server/sandbox.h"
#include "server/server.h"

namespace slirpvpn::cli {
namespace {

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kError:
      return spdlog::level::err;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    default:
      return spdlog::level::info;
  }
}

struct ServerArguments {
  std::string config_path;
  std::string log_level;
  std::string name;         // the interface name `wg` knows it by
  std::string uapi_socket;  // explicit control socket path
  bool no_uapi = false;
  bool no_sandbox = false;
};

// wg-quick's rule: the configuration file's name without ".conf".
std::string name_from_path(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > 5 && name.ends_with(".conf")) name.resize(name.size() - 5);
  return name;
}

int run_server(const ServerArguments& arguments) {
  const std::string& path = arguments.config_path;
  const std::string& log_level = arguments.log_level;
  auto config = config::load_server_config(path);
  if (!config) {
    std::fprintf(stderr, "slirpvpn server: %s\n", config.error().to_string().c_str());
    return 1;
  }
  // systemd's journal stamps lines itself: no timestamps twice.
  setup_logging();
  spdlog::set_level(to_spdlog(config->interface.log_level));
  if (!log_level.empty()) spdlog::set_level(spdlog::level::from_str(log_level));
  for (const auto& warning : config->warnings) spdlog::warn("{}", warning);
  // Peers added at run time (`slirpvpn peer add`, wg set) grow the arena a chunk at a time.
  reserve_secret_memory(config->peers.size());
  server::ServerOptions options;
  if (!arguments.no_uapi) {
    const std::string name = arguments.name.empty() ? name_from_path(path) : arguments.name;
    options.uapi_path =
        arguments.uapi_socket.empty() ? control::default_socket_path(name) : arguments.uapi_socket;
  }
  auto server = server::Server::create(std::move(*config), options);
  if (!server) {
    std::fprintf(stderr, "slirpvpn server: %s\n", server.error().message().c_str());
    return 1;
  }
  // Everything that needs files or privileges is open now: lock the process down.
  if (!arguments.no_sandbox) {
    auto sandbox = (*server)->apply_sandbox();
    if (!sandbox) {
      std::fprintf(stderr, "slirpvpn server: sandbox: %s (--no-sandbox runs without it)\n",
                   sandbox.error().message().c_str());
      return 1;
    }
    spdlog::info(
        "server: sandbox: seccomp filter with {} rules, no capabilities, no new privileges",
        sandbox->seccomp_rules);
  } else {
    spdlog::warn("server: running without sandbox (--no-sandbox)");
  }
  auto result = (*server)->run();
  if (!result) {
    std::fprintf(stderr, "slirpvpn server: %s\n", result.error().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void register_server_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "server", "Run the VPN server: WireGuard peers into per-peer libslirp networks, no root");
  // CLI11 writes the options into storage that must outlive parsing: the callback owns it.
  auto arguments = std::make_shared<ServerArguments>();
  command
      ->add_option("-c,--config", arguments->config_path,
                   "server configuration (wg-quick INI format)")
      ->required();
  command
      ->add_option("--log-level", arguments->log_level,
                   "error, warn, info or debug (overrides LogLevel)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  command->add_option("--name", arguments->name,
                      "interface name for `wg show NAME` (default: the config file's name)");
  command->add_option("--uapi-socket", arguments->uapi_socket,
                      "control socket path (default: /var/run/wireguard/NAME.sock when "
                      "writable, else the runtime directory)");
  command->add_flag("--no-uapi", arguments->no_uapi, "serve no control socket");
  command->add_flag("--no-sandbox", arguments->no_sandbox,
                    "do not sandbox the server after start-up (by default: no capabilities, "
                    "no new privileges, no core dumps, a seccomp system-call allow list)");
  command->footer(
      "Example: slirpvpn server -c /etc/slirpvpn/wg0.conf   (then: wg show wg0)\n"
      "Signals: SIGTERM/SIGINT stop, SIGUSR1 prints per-peer stats and drop counters.\n"
      "Sandbox: once listening, the server drops all capabilities, sets no_new_privs, disables\n"
      "core dumps and loads a seccomp allow list (execve, ptrace, mount... kill it; other\n"
      "unlisted calls fail with EPERM). --no-sandbox turns this off.");
  command->callback([&exit_code, arguments] { exit_code = run_server(*arguments); });
}

}  // namespace slirpvpn::cli
