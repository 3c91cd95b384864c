// SPDX-License-Identifier: MIT
// The one monotonic clock of the program, shared by the event loop, libslirp and WireGuard.
#pragma once

#include <chrono>

namespace slirpvpn::net {

// steady_clock, the same clock as slirpvpn::wireguard::Clock (src/wireguard/constants.h), so
// protocol deadlines and event-loop timers compare directly. Never the wall clock: a settime
// must not fire or starve timers.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

}  // namespace slirpvpn::net
