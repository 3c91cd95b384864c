// SPDX-License-Identifier: MIT
// The client side of the UAPI socket, for `slirpvpn show`, `add-peer` and `remove-peer`.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace slirpvpn::control {

// The socket `wg` would use for NAME: /var/run/wireguard/NAME.sock. Servers that cannot write
// there (rootless services) are linked into it by their service setup.
std::string wg_socket_path(std::string_view interface_name);

// Sends one request (ending in an empty line) and returns the whole response, up to and
// including the `errno=N` line and the empty line after it. Fails when the socket cannot be
// reached (ENOENT, ECONNREFUSED: no server), or after `timeout_ms` without a full response.
Expected<std::string> uapi_exchange(const std::string& path, std::string_view request,
                                    int timeout_ms = 5000);

// The errno value of a response (`errno=N`), or -1 when it has none.
int response_errno(std::string_view response);

}  // namespace slirpvpn::control
