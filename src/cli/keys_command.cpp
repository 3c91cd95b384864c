// SPDX-License-Identifier: MIT
// Key generation and derivation commands.
#include "cli/keys_command.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <iostream>
#include <istream>
#include <ostream>
#include <string>

#include "cli/commands.h"
#include "crypto/x25519.h"

namespace slirpvpn::cli {

namespace {

// `slirpvpn genkey > key` with the usual umask 022 leaves the key world-readable, and the
// server would then refuse it: say so now, as `wg genkey` does.
void warn_if_stdout_world_accessible(std::ostream& err) {
  struct stat status {};
  if (::fstat(STDOUT_FILENO, &status) == 0 && S_ISREG(status.st_mode) &&
      (status.st_mode & 007) != 0) {
    err << "genkey: warning: writing to a world accessible file; run `umask 077` first, or "
           "chmod 600 the file\n";
  }
}

}  // namespace

int run_genkey(std::ostream& out, std::ostream& err) {
  if (!crypto::initialize()) {
    err << "genkey: libsodium failed to initialise\n";
    return 1;
  }
  crypto::Secret<crypto::kKeyLen> random;
  randombytes_buf(random.data(), random.size());
  const auto key = crypto::PrivateKey::from_random(random.span());
  out << crypto::encode_key(key.span()) << '\n';
  return 0;
}

int run_pubkey(std::istream& in, std::ostream& out, std::ostream& err) {
  if (!crypto::initialize()) {
    err << "pubkey: libsodium failed to initialise\n";
    return 1;
  }
  std::string line;
  std::getline(in, line);
  // `wg pubkey` accepts surrounding white space, as left by `echo` or a file.
  const auto first = line.find_first_not_of(" \t\r\n");
  const auto last = line.find_last_not_of(" \t\r\n");
  const std::string text = first == std::string::npos ? "" : line.substr(first, last - first + 1);
  auto bytes = crypto::decode_key(text);
  sodium_memzero(line.data(), line.size());
  if (!bytes) {
    err << "pubkey: the input is not a base64 key of 32 bytes (as `slirpvpn genkey` prints)\n";
    return 1;
  }
  const auto key = crypto::PrivateKey::from_bytes(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  out << crypto::encode_key(crypto::derive_public_key(key).span()) << '\n';
  return 0;
}

void register_key_commands(CLI::App& app, int& exit_code) {
  auto* genkey = app.add_subcommand("genkey", "Print a new private key (like `wg genkey`)");
  genkey->footer("Example: slirpvpn genkey | tee private.key | slirpvpn pubkey > public.key");
  genkey->callback([&exit_code] {
    warn_if_stdout_world_accessible(std::cerr);
    exit_code = run_genkey(std::cout, std::cerr);
  });
  auto* pubkey = app.add_subcommand(
      "pubkey", "Read a private key on stdin, print its public key (like `wg pubkey`)");
  pubkey->footer("Example: slirpvpn pubkey < private.key");
  pubkey->callback([&exit_code] { exit_code = run_pubkey(std::cin, std::cout, std::cerr); });
}

}  // namespace slirpvpn::cli
