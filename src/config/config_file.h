// SPDX-License-Identifier: MIT
// Reading a configuration file's text: size-limited, and noting whether others may read it.
#pragma once

#include <string>

#include "config/config_error.h"

namespace slirpvpn::config {

// Text of a configuration file. The owner must wipe `text` (it may hold keys) when done.
struct ConfigText {
  std::string text;
  bool readable_by_others = false;  // group or others may read it
  bool world_readable = false;      // others (not only the group) may read it
  unsigned mode = 0;                // permission bits, for messages

  ConfigText() = default;
  ConfigText(ConfigText&&) = default;
  ConfigText& operator=(ConfigText&&) = default;
  ConfigText(const ConfigText&) = delete;
  ConfigText& operator=(const ConfigText&) = delete;
  ~ConfigText();
};

// Fails (line 0) when the file cannot be opened or read, is not a regular file, or is larger
// than 1 MiB (no legitimate config comes close).
ConfigExpected<ConfigText> read_config_file(const std::string& path);

// "0644": a mode as chmod takes it.
std::string octal_mode_text(unsigned mode);

// Reads `path` and parses it with `parse(text, file, has_inline_secrets)`. A file that holds
// keys inline is refused when everyone may read it (as key files are: the key is as good as
// published), and loads with a warning when only its group may (`wg` warns about both; a
// group such as `wheel` or `adm` is a deliberate choice more often than world access is).
template <typename Config, typename Parse>
ConfigExpected<Config> load_config_file(const std::string& path, Parse parse) {
  auto text = read_config_file(path);
  if (!text) return tl::unexpected(text.error());
  bool has_inline_secrets = false;
  ConfigExpected<Config> config = parse(text->text, path, has_inline_secrets);
  if (config && has_inline_secrets && text->world_readable) {
    return config_fail(path, 0,
                       "holds keys inline and is readable by others (mode " +
                           octal_mode_text(text->mode) + "): run chmod 600 " + path +
                           " or use PrivateKeyFile/PresharedKeyFile");
  }
  if (config && has_inline_secrets && text->readable_by_others) {
    config->warnings.push_back(path +
                               " holds keys inline and is readable by its group: run "
                               "chmod 600 " +
                               path + " or use PrivateKeyFile/PresharedKeyFile");
  }
  return config;
}

}  // namespace slirpvpn::config
