// SPDX-License-Identifier: MIT
// The TUN interface name: given, or derived from the configuration file name as wg-quick does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace slirpvpn::client {

// Linux IFNAMSIZ - 1.
inline constexpr size_t kMaxInterfaceName = 15;

// True for 1..15 characters of [A-Za-z0-9_=+.-] (wg-quick's rule, which also keeps the name
// safe in file names and nft identifiers after sanitising).
bool valid_interface_name(std::string_view name) noexcept;

// "/etc/slirpvpn/wg0.conf" → "wg0" (the base name without a trailing ".conf"); nullopt when
// the result is not a valid interface name (too long, odd characters).
std::optional<std::string> interface_name_from_config(std::string_view path);

}  // namespace slirpvpn::client
