// SPDX-License-Identifier: MIT
// Each subcommand registers itself on the application; its callback stores the exit code.
#pragma once

namespace CLI {
class App;
}

namespace slirpvpn::cli {

// genkey, pubkey
void register_key_commands(CLI::App& app, int& exit_code);
// server -c FILE
void register_server_command(CLI::App& app, int& exit_code);
// client -c FILE [--down]
void register_client_command(CLI::App& app, int& exit_code);
// show [NAME] [--json]
void register_show_command(CLI::App& app, int& exit_code);
// add-peer -c FILE ..., remove-peer -c FILE (--name N | --public-key K)
void register_peer_commands(CLI::App& app, int& exit_code);

}  // namespace slirpvpn::cli
