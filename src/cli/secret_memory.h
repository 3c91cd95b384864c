// SPDX-License-Identifier: MIT
// Sets up the locked key arena for this process: its limit from RLIMIT_MEMLOCK, one warning.
#pragma once

#include <cstddef>

namespace slirpvpn::cli {

// Before any key is read: locked key memory stays within RLIMIT_MEMLOCK (unbounded for root,
// whose CAP_IPC_LOCK ignores it), and the first chunk that cannot be locked prints one warning
// on stderr naming the limit and how to raise it (never stdout: `genkey > key` writes there).
void configure_secret_memory();

// Room for the key material of `peers` peers up front (one chunk, not many small ones).
void reserve_secret_memory(size_t peers);

}  // namespace slirpvpn::cli
