// SPDX-License-Identifier: MIT
// Formatting of environment errors.
#include "common/error.h"

#include <cstring>

namespace slirpvpn {

std::string Error::message() const {
  std::string text = operation;
  if (!context.empty()) text += ": " + context;
  if (error_number != 0) text += std::string(": ") + std::strerror(error_number);
  return text;
}

}  // namespace slirpvpn
