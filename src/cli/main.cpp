// SPDX-License-Identifier: MIT
// slirpvpn: the command-line entry point; each subcommand lives in its own file in src/cli/.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/keys_command.h"

int main(int argc, char** argv) {
  CLI::App app{"slirpvpn: a user-space WireGuard VPN whose server needs no root (libslirp NAT)"};
  app.require_subcommand(1);
  auto* genkey = app.add_subcommand("genkey", "Print a new private key (like `wg genkey`)");
  auto* pubkey = app.add_subcommand(
      "pubkey", "Read a private key on stdin, print its public key (like `wg pubkey`)");
  app.footer("Example: slirpvpn genkey | tee private.key | slirpvpn pubkey > public.key");
  CLI11_PARSE(app, argc, argv);
  if (*genkey) return slirpvpn::cli::run_genkey(std::cout, std::cerr);
  if (*pubkey) return slirpvpn::cli::run_pubkey(std::cin, std::cout, std::cerr);
  return 2;
}
