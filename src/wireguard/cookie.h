// SPDX-License-Identifier: MIT
// MAC1, MAC2 and cookie replies (whitepaper §5.4.4, §5.4.7): DoS mitigation for handshakes.
//
// Theory of operation
//   Every handshake message carries mac1 = MAC(HASH("mac1----" ‖ Spub_receiver), msg[:mac1]),
//   so a responder can drop messages not meant for it with one BLAKE2s and no DH. Under load
//   the responder also demands mac2 = MAC(cookie, msg[:mac2]) where cookie = MAC(Rm, source
//   address ‖ port) and Rm is a secret rotated every two minutes; a message without a valid
//   mac2 gets a cookie reply (the cookie, XChaCha20-Poly1305-encrypted under
//   HASH("cookie--" ‖ Spub_responder) with mac1 as associated data) instead of a response.
//   The initiator keeps the decrypted cookie for two minutes and adds mac2 to later messages.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/blake2s.h"
#include "crypto/secret.h"
#include "crypto/x25519.h"
#include "wireguard/constants.h"
#include "wireguard/messages.h"
#include "wireguard/peer_address.h"
#include "wireguard/random_source.h"

namespace slirpvpn::wireguard {

// The responder's side, one per local identity. Not thread-safe.
class CookieChecker {
 public:
  explicit CookieChecker(const crypto::PublicKey& local_public) noexcept;

  // `message` is a whole initiation or response; mac1 sits 32 bytes before its end.
  bool check_mac1(std::span<const uint8_t> message) const noexcept;
  // True when mac2 matches the cookie this source would get now.
  bool check_mac2(std::span<const uint8_t> message, const PeerAddress& source, TimePoint now,
                  RandomSource& random) noexcept;
  // The cookie reply answering `message` (whose mac1 was valid) from `source`.
  CookieReply create_reply(std::span<const uint8_t> message, uint32_t sender_index,
                           const PeerAddress& source, TimePoint now, RandomSource& random) noexcept;

 private:
  void make_cookie(Mac& cookie, const PeerAddress& source, TimePoint now,
                   RandomSource& random) noexcept;

  std::array<uint8_t, crypto::kHashLen> mac1_key_{};
  crypto::SymmetricKey cookie_key_;
  crypto::SymmetricKey secret_;
  TimePoint secret_birth_{};
  bool has_secret_ = false;
};

// The initiator's side, one per peer: adds macs to what we send that peer. Not thread-safe.
class CookieGenerator {
 public:
  explicit CookieGenerator(const crypto::PublicKey& remote_public) noexcept;

  // Writes mac1 and mac2 (zeros unless a cookie younger than two minutes is held) into the
  // last 32 bytes of `message`.
  void add_macs(std::span<uint8_t> message, TimePoint now) noexcept;
  // Accepts a cookie reply to the last message we sent; false if it does not decrypt.
  bool consume_reply(const CookieReply& reply, TimePoint now) noexcept;

 private:
  std::array<uint8_t, crypto::kHashLen> mac1_key_{};
  crypto::SymmetricKey cookie_key_;
  Mac cookie_{};
  TimePoint cookie_birth_{};
  bool has_cookie_ = false;
  Mac last_mac1_{};
  bool has_last_mac1_ = false;
};

}  // namespace slirpvpn::wireguard
