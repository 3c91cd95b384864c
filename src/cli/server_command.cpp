// SPDX-License-Identifier: MIT
// `slirpvpn server -c server.conf`: load the configuration and serve until stopped.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "config/server_config.h"
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

int run_server(const std::string& path, const std::string& log_level) {
  auto config = config::load_server_config(path);
  if (!config) {
    std::fprintf(stderr, "slirpvpn server: %s\n", config.error().to_string().c_str());
    return 1;
  }
  // systemd's journal stamps lines itself; a plain pattern avoids timestamps twice.
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(to_spdlog(config->interface.log_level));
  if (!log_level.empty()) spdlog::set_level(spdlog::level::from_str(log_level));
  for (const auto& warning : config->warnings) spdlog::warn("{}", warning);
  auto server = server::Server::create(std::move(*config));
  if (!server) {
    std::fprintf(stderr, "slirpvpn server: %s\n", server.error().message().c_str());
    return 1;
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
  auto path = std::make_shared<std::string>();
  auto level = std::make_shared<std::string>();
  command->add_option("-c,--config", *path, "server configuration (wg-quick INI format)")
      ->required();
  command->add_option("--log-level", *level, "error, warn, info or debug (overrides LogLevel)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  command->footer(
      "Example: slirpvpn server -c /etc/slirpvpn/server.conf\n"
      "Signals: SIGTERM/SIGINT stop, SIGUSR1 prints per-peer stats and drop counters.");
  command->callback([&exit_code, path, level] { exit_code = run_server(*path, *level); });
}

}  // namespace slirpvpn::cli
