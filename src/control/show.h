// SPDX-License-Identifier: MIT
// `slirpvpn show`: a get response as `wg show` prints it, plus slirpvpn's own counters, or as
// one JSON object. Pure formatting, no I/O.
//
// slirpvpn's keys (uapi.h `extra`, sent by the server): device `drop_<reason>=N` (datagrams the
// WireGuard layer dropped); peer `name`, `slirp_active` (0/1: whether its libslirp network
// exists now), `tcp_flows`, `udp_flows` (host sockets slirp holds for the peer's flows),
// `egress_denied` (flows refused by the egress policy), `drop_<reason>=N` (inner packets
// dropped). Other extra keys are shown as they come.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "control/uapi.h"

namespace slirpvpn::control {

// wg's units: "512 B", "1.50 KiB", "3.20 MiB"...
std::string format_bytes(uint64_t bytes);
// wg's durations: "1 minute, 5 seconds" ("Now" for zero).
std::string format_ago(std::chrono::seconds elapsed);

// The human output: wg's lines (private and preshared keys hidden), ours after them.
std::string format_show(const DeviceSnapshot& device, std::string_view interface_name,
                        std::chrono::system_clock::time_point now);

// One JSON object (no private or preshared key material; `preshared_key` is a boolean).
std::string format_show_json(const DeviceSnapshot& device, std::string_view interface_name);

}  // namespace slirpvpn::control
