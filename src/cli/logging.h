// SPDX-License-Identifier: MIT
// Log line format: journald stamps and colours lines itself, a terminal or file gets our time.
#pragma once

namespace slirpvpn::cli {

// True when stderr is connected to the journal ($JOURNAL_STREAM names stderr's device:inode,
// as systemd sets it for services whose StandardError= is the journal).
bool stderr_is_journal();

// spdlog's pattern for the server and client: "LEVEL: message" under journald, with a
// timestamp in front otherwise. Logs never carry the destinations or contents of clients'
// traffic below debug level (the server and slirp code keep to that).
void setup_logging();

}  // namespace slirpvpn::cli
