// SPDX-License-Identifier: MIT
// `slirpvpn client -c client.conf`: bring the tunnel up and run until stopped; `--down` cleans
// up after a client that was killed.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/logging.h"
#include "client/client.h"

namespace slirpvpn::cli {
namespace {

struct ClientArguments {
  client::ClientOptions options;
  bool down = false;
  bool kill_switch_only = false;
  std::string log_level;
};

int run_client_command(const ClientArguments& arguments) {
  setup_logging();
  spdlog::set_level(spdlog::level::info);
  if (!arguments.log_level.empty()) {
    spdlog::set_level(spdlog::level::from_str(arguments.log_level));
  }
  if (arguments.kill_switch_only) return client::arm_kill_switch(arguments.options);
  return arguments.down ? client::down_client(arguments.options)
                        : client::run_client(arguments.options);
}

}  // namespace

void register_client_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "client", "Run the VPN client: a TUN device, routes, DNS and kill switch (needs root)");
  // CLI11 writes the options into storage that must outlive parsing: the callback owns it.
  auto arguments = std::make_shared<ClientArguments>();
  command
      ->add_option("-c,--config", arguments->options.config_path,
                   "client configuration (wg-quick INI format)")
      ->required();
  command->add_option("-i,--interface", arguments->options.interface,
                      "TUN device name (default: the config file's name without .conf)");
  command->add_flag("--down", arguments->down,
                    "undo what a killed client left behind (kill switch, routes, rules, DNS)");
  command
      ->add_flag("--kill-switch-only", arguments->kill_switch_only,
                 "arm only the kill switch and exit (at boot, before the network; the client "
                 "started later takes it over, --down removes it)")
      ->excludes("--down");
  command->add_option("--state-dir", arguments->options.state_dir,
                      "where the lock, the change journal and the endpoint cache live");
  command->add_option("--log-level", arguments->log_level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  command->footer(
      "Example: slirpvpn client -c /etc/slirpvpn/wg0.conf      (interface wg0)\n"
      "         slirpvpn client --down -c /etc/slirpvpn/wg0.conf\n"
      "         slirpvpn client --kill-switch-only -c /etc/slirpvpn/wg0.conf   (at boot)\n"
      "Signals: SIGTERM/SIGINT stop and restore the host, SIGUSR1 prints counters.");
  command->callback([&exit_code, arguments] { exit_code = run_client_command(*arguments); });
}

}  // namespace slirpvpn::cli
