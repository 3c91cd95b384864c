// SPDX-License-Identifier: MIT
// Formatting of configuration errors in the compiler style editors jump to.
#include "config/config_error.h"

namespace slirpvpn::config {

std::string ConfigError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ": " + message;
}

}  // namespace slirpvpn::config
