// SPDX-License-Identifier: MIT
// Editing a configuration file's text for `slirpvpn add-peer` / `remove-peer`: whole [Peer]
// sections are appended or cut out; every other byte (comments, order, spacing) stays as it
// was. And writing it back atomically.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "config/config_error.h"
#include "crypto/x25519.h"
#include "net/ip_address.h"

namespace slirpvpn::config {

// `text` with `section` appended, separated by one blank line; a last line without a newline
// gets one first.
std::string append_section(std::string_view text, std::string_view section);

// The [Peer] section `add-peer` writes: a comment, Name (when not empty), PublicKey and
// AllowedIPs (when not empty: else the server's default, the network's .15).
std::string render_peer_section(std::string_view name, const crypto::PublicKey& public_key,
                                const std::vector<net::IpPrefix>& allowed_ips,
                                std::string_view comment);

// Which peer to remove: by its Name or its PublicKey (exactly one of them).
struct PeerSelector {
  std::optional<std::string> name;
  std::optional<crypto::PublicKey> public_key;
};

struct RemovedPeer {
  std::string text;  // the file without the section
  crypto::PublicKey public_key;
  int line = 0;  // of the removed [Peer] header
};

// Cuts out the one [Peer] section that `selector` names: from its header (with the comment
// lines right above it and one blank line before those) to the next section, leaving the blank
// and comment lines that lead into the next section. Fails naming the file when no peer or more
// than one matches, or when the text does not parse.
ConfigExpected<RemovedPeer> remove_peer_section(std::string_view text, std::string_view file,
                                                const PeerSelector& selector);

// Replaces `path` (following a symlink to the real file) with `text`: a temporary file in the
// same directory, the original's mode and owner, fsync, rename over, fsync of the directory. A
// reader sees the old file or the new one, never a mix; a crash leaves one of them whole.
Expected<void> write_file_atomically(const std::string& path, std::string_view text);

}  // namespace slirpvpn::config
