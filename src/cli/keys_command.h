// SPDX-License-Identifier: MIT
// `slirpvpn genkey` and `slirpvpn pubkey`: byte-compatible with `wg genkey` / `wg pubkey`.
#pragma once

#include <iosfwd>

namespace slirpvpn::cli {

// Prints a new base64 private key and a newline. Returns the process exit code.
int run_genkey(std::ostream& out, std::ostream& err);

// Reads a base64 private key from `in`, prints its public key. Returns the exit code.
int run_pubkey(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace slirpvpn::cli
