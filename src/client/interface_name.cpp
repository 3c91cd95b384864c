// SPDX-License-Identifier: MIT
// Interface name rules (wg-quick's CONFIG_FILE → INTERFACE).
#include "client/interface_name.h"

namespace slirpvpn::client {

bool valid_interface_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxInterfaceName) return false;
  // "." and ".." are refused by the kernel (dev_valid_name).
  if (name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '=' || c == '+' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> interface_name_from_config(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  constexpr std::string_view kSuffix = ".conf";
  if (base == kSuffix) return std::nullopt;  // an empty name with the suffix
  if (base.size() > kSuffix.size() && base.ends_with(kSuffix)) {
    base.remove_suffix(kSuffix.size());
  }
  if (!valid_interface_name(base)) return std::nullopt;
  return std::string(base);
}

}  // namespace slirpvpn::client
