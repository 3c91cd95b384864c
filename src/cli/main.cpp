// SPDX-License-Identifier: MIT
// slirpvpn: the command-line entry point; each subcommand lives in its own file in src/cli/.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/secret_memory.h"

int main(int argc, char** argv) {
  CLI::App app{"slirpvpn: a user-space WireGuard VPN whose server needs no root (libslirp NAT)"};
  app.require_subcommand(1);
  slirpvpn::cli::configure_secret_memory();
  int exit_code = 0;
  slirpvpn::cli::register_key_commands(app, exit_code);
  slirpvpn::cli::register_server_command(app, exit_code);
  slirpvpn::cli::register_client_command(app, exit_code);
  slirpvpn::cli::register_show_command(app, exit_code);
  slirpvpn::cli::register_peer_commands(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
