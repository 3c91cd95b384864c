// SPDX-License-Identifier: MIT
// The key arena's lock limit from RLIMIT_MEMLOCK and its one warning when locking fails.
#include "cli/secret_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "crypto/secret_arena.h"

namespace slirpvpn::cli {

namespace {

void warn_lock_failure(size_t locked_bytes, size_t lock_limit) {
  if (lock_limit == SIZE_MAX) {
    std::fprintf(stderr,
                 "slirpvpn: warning: cannot lock key memory (mlock failed with %zu KiB locked); "
                 "keys may be swapped to disk. Raise RLIMIT_MEMLOCK: LimitMEMLOCK= in the "
                 "systemd unit, or `ulimit -l`\n",
                 locked_bytes / 1024);
    return;
  }
  std::fprintf(stderr,
               "slirpvpn: warning: key memory beyond RLIMIT_MEMLOCK (%zu KiB, %zu KiB locked) is "
               "not locked and may be swapped to disk. Raise it: LimitMEMLOCK= in the systemd "
               "unit, or `ulimit -l` (%zu bytes per peer)\n",
               lock_limit / 1024, locked_bytes / 1024,
               crypto::SecretArena::kBlocksPerPeer * crypto::SecretArena::kBlockSize);
}

}  // namespace

void configure_secret_memory() {
  auto& arena = crypto::SecretArena::global();
  struct rlimit limit {};
  if (::geteuid() != 0 && ::getrlimit(RLIMIT_MEMLOCK, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    arena.set_lock_limit(size_t(limit.rlim_cur));
  }
  arena.set_lock_failure_handler(warn_lock_failure);
}

void reserve_secret_memory(size_t peers) {
  // The server's own key, cookie secrets and handshake temporaries: a few dozen blocks.
  constexpr size_t kDeviceBlocks = 64;
  crypto::SecretArena::global().reserve(peers * crypto::SecretArena::kBlocksPerPeer +
                                        kDeviceBlocks);
}

}  // namespace slirpvpn::cli
