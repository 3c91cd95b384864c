// SPDX-License-Identifier: MIT
// MAC1/MAC2 and cookie replies.
#include "wireguard/cookie.h"

#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "wireguard/noise.h"

namespace slirpvpn::wireguard {
namespace {

constexpr std::string_view kLabelMac1 = "mac1----";
constexpr std::string_view kLabelCookie = "cookie--";

void derive_label_key(std::span<uint8_t, crypto::kHashLen> out, std::string_view label,
                      const crypto::PublicKey& key) noexcept {
  crypto::blake2s_hash(out, {as_bytes(label), key.span()});
}

// mac1 covers everything before it, mac2 everything before it (mac1 included).
std::span<const uint8_t> before_mac1(std::span<const uint8_t> message) noexcept {
  return message.first(message.size() - 2 * kMacLen);
}
std::span<const uint8_t> before_mac2(std::span<const uint8_t> message) noexcept {
  return message.first(message.size() - kMacLen);
}

}  // namespace

CookieChecker::CookieChecker(const crypto::PublicKey& local_public) noexcept {
  derive_label_key(mac1_key_, kLabelMac1, local_public);
  derive_label_key(cookie_key_.span(), kLabelCookie, local_public);
}

bool CookieChecker::check_mac1(std::span<const uint8_t> message) const noexcept {
  if (message.size() < 2 * kMacLen) return false;
  Mac expected;
  crypto::blake2s_mac(expected, mac1_key_, before_mac1(message));
  return crypto::equal_constant_time<kMacLen>(
      expected, message.subspan(message.size() - 2 * kMacLen).first<kMacLen>());
}

void CookieChecker::make_cookie(Mac& cookie, const PeerAddress& source, TimePoint now,
                                RandomSource& random) noexcept {
  if (!has_secret_ || now - secret_birth_ >= kCookieRefreshTime) {
    random.fill(secret_.span());
    secret_birth_ = now;
    has_secret_ = true;
  }
  std::array<uint8_t, 18> input{};
  const size_t length = source.cookie_input(input);
  crypto::blake2s_mac(cookie, secret_.span(), std::span<const uint8_t>(input).first(length));
}

bool CookieChecker::check_mac2(std::span<const uint8_t> message, const PeerAddress& source,
                               TimePoint now, RandomSource& random) noexcept {
  if (message.size() < 2 * kMacLen) return false;
  Mac cookie, expected;
  make_cookie(cookie, source, now, random);
  crypto::blake2s_mac(expected, cookie, before_mac2(message));
  return crypto::equal_constant_time<kMacLen>(
      expected, message.subspan(message.size() - kMacLen).first<kMacLen>());
}

CookieReply CookieChecker::create_reply(std::span<const uint8_t> message, uint32_t sender_index,
                                        const PeerAddress& source, TimePoint now,
                                        RandomSource& random) noexcept {
  CookieReply reply;
  reply.receiver_index = sender_index;
  random.fill(reply.nonce);
  Mac cookie;
  make_cookie(cookie, source, now, random);
  const auto mac1 = message.subspan(message.size() - 2 * kMacLen, kMacLen);
  crypto::xaead_encrypt(reply.encrypted_cookie, cookie, reply.nonce, mac1, cookie_key_);
  return reply;
}

CookieGenerator::CookieGenerator(const crypto::PublicKey& remote_public) noexcept {
  derive_label_key(mac1_key_, kLabelMac1, remote_public);
  derive_label_key(cookie_key_.span(), kLabelCookie, remote_public);
}

void CookieGenerator::add_macs(std::span<uint8_t> message, TimePoint now) noexcept {
  auto mac1 = message.subspan(message.size() - 2 * kMacLen, kMacLen);
  auto mac2 = message.subspan(message.size() - kMacLen, kMacLen);
  crypto::blake2s_mac(mac1, mac1_key_, before_mac1(message));
  std::copy(mac1.begin(), mac1.end(), last_mac1_.begin());
  has_last_mac1_ = true;
  if (has_cookie_ && now - cookie_birth_ < kCookieRefreshTime) {
    crypto::blake2s_mac(mac2, cookie_, before_mac2(message));
  } else {
    std::fill(mac2.begin(), mac2.end(), 0);
  }
}

bool CookieGenerator::consume_reply(const CookieReply& reply, TimePoint now) noexcept {
  if (!has_last_mac1_) return false;
  Mac cookie;
  if (!crypto::xaead_decrypt(cookie, reply.encrypted_cookie, reply.nonce, last_mac1_,
                             cookie_key_)) {
    return false;
  }
  cookie_ = cookie;
  cookie_birth_ = now;
  has_cookie_ = true;
  return true;
}

}  // namespace slirpvpn::wireguard
