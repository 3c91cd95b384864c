// SPDX-License-Identifier: MIT
// One locked, never-dumped memory arena of fixed 32-byte blocks that holds every long-lived key.
//
// Theory of operation
//   Key material lives in chunks of page-aligned memory, each locked with sodium_mlock (mlock
//   plus MADV_DONTDUMP: never swapped, never in a core dump). A chunk is cut into 32-byte
//   blocks handed out from a LIFO free list; a block is wiped when freed, so every block
//   handed out reads zero. reserve() sizes the arena up front (the server: from its peer
//   count); beyond that it grows a 64 KiB chunk at a time. Locked bytes stay within the limit
//   given by set_lock_limit() (the server passes RLIMIT_MEMLOCK); a chunk that cannot be
//   locked is used unlocked, and the failure handler is called once so the embedder can warn.
//   At exit the global arena wipes all of its memory, live blocks included.
//
//   Why not sodium_malloc per key: each allocation costs its own mprotect'ed guard pages and
//   locked page (3+ pages, 12 KiB, for 32 bytes), so a few thousand peers exhaust the default
//   8 MiB RLIMIT_MEMLOCK. Why not OpenSSL's secure heap: its size is fixed at initialisation
//   and it cannot grow when peers are added at run time.
//
//   Key material per WireGuard peer (32-byte blocks, the server side): handshake 5 (preshared
//   key, static-static DH, chaining key, hash, ephemeral private key), keypairs up to 6 (sending
//   and receiving keys of previous, current and next), cookie generator 1 (cookie key), the
//   configured preshared key 2 (server config and PeerConfig): at most 14 blocks = 448 bytes,
//   so 1000 peers need 448 KiB and 10 000 peers 4.4 MiB, within the default 8 MiB limit.
//   Short-lived temporaries (Noise steps, DH results) come from the arena too.
//
//   Thread-safe (one mutex; only key set-up and handshakes allocate, never the data path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace slirpvpn::crypto {

class SecretArena {
 public:
  static constexpr size_t kBlockSize = 32;
  // Growth step: 2048 blocks, about 146 peers.
  static constexpr size_t kChunkSize = 64 * 1024;
  static constexpr size_t kPageSize = 4096;
  // Blocks per peer, as counted above: what reserve() is given per configured peer.
  static constexpr size_t kBlocksPerPeer = 14;

  // Called once, on the first chunk that could not be locked: the bytes locked so far and
  // the lock limit in force.
  using LockFailureHandler = void (*)(size_t locked_bytes, size_t lock_limit);

  SecretArena() = default;
  ~SecretArena();
  SecretArena(const SecretArena&) = delete;
  SecretArena& operator=(const SecretArena&) = delete;

  // The process's arena; wiped at exit (std::atexit), never destroyed.
  static SecretArena& global() noexcept;

  // A zeroed block of kBlockSize bytes. Never null: aborts only if memory itself runs out.
  uint8_t* allocate() noexcept;
  // Wipes the block and returns it to the free list. `block` must come from allocate().
  void free(uint8_t* block) noexcept;

  // Makes sure `blocks` more blocks can be allocated without growing (one chunk of that size).
  void reserve(size_t blocks) noexcept;
  // Locked bytes will not exceed `bytes` (RLIMIT_MEMLOCK); chunks beyond it stay unlocked.
  void set_lock_limit(size_t bytes) noexcept;
  void set_lock_failure_handler(LockFailureHandler handler) noexcept;
  // Zeroes every block, live ones included: for exit.
  void wipe_all() noexcept;

  struct Stats {
    size_t blocks_in_use = 0;
    size_t blocks_total = 0;
    size_t locked_bytes = 0;
    size_t unlocked_bytes = 0;
  };
  Stats stats() const noexcept;

 private:
  struct Chunk {
    uint8_t* base;
    size_t bytes;
    bool locked;
  };
  // Called with mutex_ held.
  void add_chunk(size_t bytes) noexcept;

  mutable std::mutex mutex_;
  std::vector<Chunk> chunks_;
  std::vector<uint8_t*> free_;  // capacity kept at blocks_total: free() never allocates
  size_t blocks_total_ = 0;
  size_t locked_bytes_ = 0;
  size_t unlocked_bytes_ = 0;
  size_t lock_limit_ = SIZE_MAX;
  LockFailureHandler on_lock_failure_ = nullptr;
  bool lock_failed_ = false;
};

}  // namespace slirpvpn::crypto
