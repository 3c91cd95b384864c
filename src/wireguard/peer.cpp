// SPDX-License-Identifier: MIT
// Peer state construction and the staged-packet queue.
#include "wireguard/peer.h"

#include <cstring>

namespace slirpvpn::wireguard {

Peer::Peer(const StaticIdentity& local, const PeerConfig& config) noexcept
    : public_key_(config.public_key),
      handshake_(local, config.public_key, config.preshared_key),
      timers_(config.persistent_keepalive),
      cookies_(config.public_key),
      endpoint_(config.endpoint) {}

void Peer::set_preshared_key(const crypto::SymmetricKey& key) noexcept {
  handshake_.set_preshared_key(key);
}

bool Peer::stage(std::span<const uint8_t> packet) {
  if (staged_count_ == kStagedPackets || staged_used_ + packet.size() > kStagedBytes) return false;
  if (!staged_storage_) staged_storage_ = std::make_unique<uint8_t[]>(kStagedBytes);
  std::memcpy(staged_storage_.get() + staged_used_, packet.data(), packet.size());
  staged_[staged_count_++] = {uint32_t(staged_used_), uint32_t(packet.size())};
  staged_used_ += packet.size();
  return true;
}

}  // namespace slirpvpn::wireguard
