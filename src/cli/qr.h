// SPDX-License-Identifier: MIT
// QR codes of client configurations (libqrencode): UTF-8 half blocks for a terminal, PNG
// (libpng) for a file.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace slirpvpn::cli {

// Two module rows per text line with ▀ ▄ █ and spaces, a 2-module quiet zone; light modules
// are drawn (as `qrencode -t UTF8` does, for terminals with a dark background).
Expected<std::string> qr_terminal(std::string_view text);

// An 8-bit greyscale PNG, `scale` pixels per module, a 4-module quiet zone (the standard's).
Expected<void> qr_png(std::string_view text, const std::string& path, int scale = 8);

}  // namespace slirpvpn::cli
