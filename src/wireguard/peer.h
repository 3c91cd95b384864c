// SPDX-License-Identifier: MIT
// One remote WireGuard peer's protocol state: handshake, keypairs, timers, cookies, endpoint.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "crypto/x25519.h"
#include "wireguard/cookie.h"
#include "wireguard/handshake.h"
#include "wireguard/keypair.h"
#include "wireguard/peer_address.h"
#include "wireguard/timers.h"

namespace slirpvpn::wireguard {

struct PeerConfig {
  crypto::PublicKey public_key;
  crypto::SymmetricKey preshared_key;  // all zeros = none (§5.4.3: Q defaults to zero)
  std::chrono::seconds persistent_keepalive{0};
  PeerAddress endpoint;  // may be empty: learnt from the first authenticated packet
};

// Counters an operator sees (`wg show`): bytes are UDP payload bytes, as wireguard-go counts.
struct PeerStats {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t handshakes_completed = 0;
  std::optional<std::chrono::system_clock::time_point> last_handshake_wall;
};

// Owned by a Device; not thread-safe. The device drives it; embedders read it and attach
// their own state through `context`.
class Peer {
 public:
  // Packets queued while no keypair is usable: WireGuard sends them once a handshake
  // completes (wireguard-go keeps 128; a handful covers a TCP SYN and its retries).
  static constexpr size_t kStagedPackets = 16;
  static constexpr size_t kStagedBytes = 64 * 1024;

  Peer(const StaticIdentity& local, const PeerConfig& config) noexcept;

  const crypto::PublicKey& public_key() const noexcept { return public_key_; }
  const PeerAddress& endpoint() const noexcept { return endpoint_; }
  void set_endpoint(const PeerAddress& endpoint) noexcept { endpoint_ = endpoint; }
  const PeerStats& stats() const noexcept { return stats_; }
  const Timers& timers() const noexcept { return timers_; }
  bool has_session() const noexcept { return keypairs_.current() != nullptr; }
  void set_preshared_key(const crypto::SymmetricKey& key) noexcept;

  // For the embedder (e.g. the server's slirp session of this peer).
  void* context = nullptr;

 private:
  friend class Device;

  // Copies a packet into the staged queue (allocated on first use); false when full.
  bool stage(std::span<const uint8_t> packet);

  crypto::PublicKey public_key_;
  Handshake handshake_;
  Keypairs keypairs_;
  Timers timers_;
  CookieGenerator cookies_;
  PeerAddress endpoint_;
  PeerStats stats_;

  struct StagedPacket {
    uint32_t offset;
    uint32_t length;
  };
  std::unique_ptr<uint8_t[]> staged_storage_;  // kStagedBytes, allocated on first use
  std::array<StagedPacket, kStagedPackets> staged_{};
  size_t staged_count_ = 0;
  size_t staged_used_ = 0;
};

}  // namespace slirpvpn::wireguard
