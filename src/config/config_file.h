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

}  // namespace slirpvpn::config
