// SPDX-License-Identifier: MIT
// Key generation and derivation commands.
#include "cli/keys_command.h"

#include <sodium.h>

#include <array>
#include <istream>
#include <ostream>
#include <string>

#include "crypto/x25519.h"

namespace slirpvpn::cli {

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

}  // namespace slirpvpn::cli
