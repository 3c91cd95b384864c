// SPDX-License-Identifier: MIT
// Configuration errors as values: which file, which line, what is wrong.
#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace slirpvpn::config {

// A problem in a configuration file. `line` is 1-based; 0 means the whole file (a missing
// section, an unreadable file). The message never contains key material.
struct ConfigError {
  std::string file;
  int line = 0;
  std::string message;

  // "file:line: message", or "file: message" when line is 0.
  std::string to_string() const;
};

template <typename T>
using ConfigExpected = tl::expected<T, ConfigError>;

inline tl::unexpected<ConfigError> config_fail(std::string file, int line, std::string message) {
  return tl::unexpected<ConfigError>(ConfigError{std::move(file), line, std::move(message)});
}

}  // namespace slirpvpn::config
