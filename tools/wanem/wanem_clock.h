// SPDX-License-Identifier: MIT
// The emulator's clock and its bottleneck: the program's monotonic clock and net::TokenBucket.
#pragma once

#include <chrono>

#include "net/clock.h"
#include "net/token_bucket.h"

namespace slirpvpn::wanem {

using Clock = net::Clock;
using TimePoint = net::TimePoint;
using Nanos = std::chrono::nanoseconds;
using net::TokenBucket;

}  // namespace slirpvpn::wanem
