// SPDX-License-Identifier: MIT
// The WireGuard handshake state machine over the Noise functions.
#include "wireguard/handshake.h"

namespace slirpvpn::wireguard {

SymmetricState wireguard_initial_state(const crypto::PublicKey& responder_static) noexcept {
  return initial_state(as_bytes(kConstruction), as_bytes(kIdentifier), responder_static);
}

std::optional<InitiationStart> begin_consume_initiation(const StaticIdentity& local,
                                                        const SymmetricState& initial,
                                                        const Initiation& message) noexcept {
  InitiationStart start{initial, {}};
  if (!read_message1_static(start.state, local, message.unencrypted_ephemeral,
                            message.encrypted_static, start.initiator_static)) {
    return std::nullopt;
  }
  return start;
}

Handshake::Handshake(const StaticIdentity& local, const crypto::PublicKey& remote_static,
                     const crypto::SymmetricKey& preshared_key) noexcept
    : local_(local),
      remote_static_(remote_static),
      preshared_key_(preshared_key),
      initial_(wireguard_initial_state(remote_static)) {
  if (!crypto::x25519(static_static_, local.private_key, remote_static)) static_static_.wipe();
}

bool Handshake::create_initiation(Initiation& out, uint32_t local_index,
                                  const crypto::PrivateKey& ephemeral,
                                  const crypto::Timestamp& timestamp) noexcept {
  SymmetricState state = initial_;
  if (!write_message1(state, ephemeral, local_.public_key, remote_static_, static_static_,
                      timestamp, out.unencrypted_ephemeral, out.encrypted_static,
                      out.encrypted_timestamp)) {
    return false;
  }
  out.sender_index = local_index;
  symmetric_ = std::move(state);
  ephemeral_ = ephemeral;
  local_index_ = local_index;
  state_ = State::kCreatedInitiation;
  return true;
}

DropReason Handshake::consume_initiation(const Initiation& message, InitiationStart&& start,
                                         TimePoint now) noexcept {
  if (start.initiator_static != remote_static_) return DropReason::kUnknownPeer;
  crypto::Timestamp timestamp{};
  if (!read_message1_payload(start.state, static_static_, message.encrypted_timestamp, timestamp)) {
    return DropReason::kHandshakeDecryptFailed;
  }
  if (!crypto::timestamp_after(timestamp, latest_timestamp_)) return DropReason::kStaleTimestamp;
  if (last_initiation_consumed_ && now - *last_initiation_consumed_ < kHandshakeInitiationRate) {
    return DropReason::kInitiationFlood;
  }
  latest_timestamp_ = timestamp;
  last_initiation_consumed_ = now;
  symmetric_ = std::move(start.state);
  std::copy(message.unencrypted_ephemeral.begin(), message.unencrypted_ephemeral.end(),
            remote_ephemeral_.bytes.begin());
  remote_index_ = message.sender_index;
  state_ = State::kConsumedInitiation;
  return DropReason::kNone;
}

bool Handshake::create_response(Response& out, uint32_t local_index,
                                const crypto::PrivateKey& ephemeral) noexcept {
  if (state_ != State::kConsumedInitiation) return false;
  if (!write_message2(symmetric_, ephemeral, remote_ephemeral_, remote_static_, preshared_key_, {},
                      out.unencrypted_ephemeral, out.encrypted_nothing)) {
    clear();
    return false;
  }
  out.sender_index = local_index;
  out.receiver_index = remote_index_;
  local_index_ = local_index;
  state_ = State::kCreatedResponse;
  return true;
}

DropReason Handshake::consume_response(const Response& message) noexcept {
  if (state_ != State::kCreatedInitiation || message.receiver_index != local_index_) {
    return DropReason::kUnexpectedResponse;
  }
  SymmetricState state = symmetric_;
  if (!read_message2(state, ephemeral_, local_.private_key, message.unencrypted_ephemeral,
                     preshared_key_, message.encrypted_nothing, {})) {
    return DropReason::kHandshakeDecryptFailed;
  }
  symmetric_ = std::move(state);
  remote_index_ = message.sender_index;
  state_ = State::kConsumedResponse;
  return DropReason::kNone;
}

bool Handshake::derive_keys(DerivedKeys& out) noexcept {
  if (state_ != State::kCreatedResponse && state_ != State::kConsumedResponse) return false;
  out.initiator = state_ == State::kConsumedResponse;
  if (out.initiator) {
    split(symmetric_, out.sending, out.receiving);
  } else {
    split(symmetric_, out.receiving, out.sending);
  }
  out.local_index = local_index_;
  out.remote_index = remote_index_;
  clear();
  return true;
}

void Handshake::clear() noexcept {
  symmetric_.hash.wipe();
  symmetric_.chaining_key.wipe();
  ephemeral_.wipe();
  remote_ephemeral_ = {};
  state_ = State::kZeroed;
  local_index_ = 0;
  remote_index_ = 0;
}

}  // namespace slirpvpn::wireguard
