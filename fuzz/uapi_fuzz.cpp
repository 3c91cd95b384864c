// SPDX-License-Identifier: MIT
// Fuzzes the UAPI request parser (`wg set` / `wg show` over the control socket).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.h"
#include "control/uapi.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = slirpvpn::control::parse_request(text);
  // Exactly one of: a request, or an errno explaining the refusal.
  SLIRPVPN_ASSERT(result.request.has_value() == (result.error == 0));
  return 0;
}
