// SPDX-License-Identifier: MIT
// Keys in configuration files: base64 text inline, or a key file that only its owner may read.
#pragma once

#include <string>
#include <string_view>

#include "config/values.h"
#include "crypto/secret.h"
#include "crypto/x25519.h"

namespace slirpvpn::config {

// A public key as `wg pubkey` prints it (44 base64 characters).
ValueResult<crypto::PublicKey> parse_public_key(std::string_view text);

// A private or preshared key as `wg genkey` / `wg genpsk` print it. The error never quotes the
// text; the temporary decoded bytes are wiped.
ValueResult<crypto::SymmetricKey> parse_secret_key(std::string_view text);

// Reads a key file as `wg genkey > file` writes it: one base64 key, surrounding whitespace
// allowed. Refuses a file that is not a regular file or that group or others may read or write
// ("... is world accessible: run chmod 600 ..."), as the key would already be exposed. The file
// buffer is wiped before returning. Blocking file I/O; call at start-up.
ValueResult<crypto::SymmetricKey> read_key_file(const std::string& path);

// `path` as written in a config file: absolute, or relative to the config file's directory
// (so a config works whatever the current directory is). A path starting with
// `$CREDENTIALS_DIRECTORY/` is inside that directory (systemd's LoadCredential=).
std::string resolve_relative_to(std::string_view config_file, std::string_view path);

}  // namespace slirpvpn::config
