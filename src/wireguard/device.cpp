// SPDX-License-Identifier: MIT
// The protocol's receive and send paths over peers, keypairs, timers and cookies.
#include "wireguard/device.h"

#include <cstring>

#include "common/assert.h"
#include "common/endian.h"
#include "crypto/aead.h"
#include "crypto/tai64n.h"

namespace slirpvpn::wireguard {
namespace {

// The length of the IP packet at the start of `plaintext`, or 0 when it is not one.
size_t inner_packet_length(std::span<const uint8_t> plaintext) noexcept {
  if (plaintext.empty()) return 0;
  const uint8_t version = plaintext[0] >> 4;
  if (version == 4 && plaintext.size() >= 20) {
    const size_t length = load_be16(plaintext.data() + 2);
    return length >= 20 && length <= plaintext.size() ? length : 0;
  }
  if (version == 6 && plaintext.size() >= 40) {
    const size_t length = 40 + size_t(load_be16(plaintext.data() + 4));
    return length <= plaintext.size() ? length : 0;
  }
  return 0;
}

}  // namespace

size_t Device::KeyHash::operator()(const crypto::PublicKey& key) const noexcept {
  size_t hash;
  std::memcpy(&hash, key.bytes.data(), sizeof hash);
  return hash;
}

Device::Device(const crypto::PrivateKey& private_key, RandomSource& random, DeviceOutput& output,
               WallClock wall_clock)
    : identity_(StaticIdentity::from_private(private_key)),
      random_(random),
      output_(output),
      wall_clock_(std::move(wall_clock)),
      cookie_checker_(identity_.public_key),
      initial_state_(wireguard_initial_state(identity_.public_key)),
      scratch_(std::make_unique<uint8_t[]>(kMaxDatagram)) {}

Device::~Device() = default;

Peer& Device::add_peer(const PeerConfig& config) {
  auto peer = std::make_unique<Peer>(identity_, config);
  Peer& result = *peer;
  peers_by_key_[config.public_key] = &result;
  peers_.push_back(std::move(peer));
  return result;
}

void Device::remove_peer(const crypto::PublicKey& key) {
  Peer* peer = find_peer(key);
  if (!peer) return;
  zero_key_material(*peer);
  peer->timers_.stop();
  peers_by_key_.erase(key);
  std::erase_if(peers_, [&](const auto& candidate) { return candidate.get() == peer; });
}

Peer* Device::find_peer(const crypto::PublicKey& key) noexcept {
  const auto found = peers_by_key_.find(key);
  return found == peers_by_key_.end() ? nullptr : found->second;
}

DropReason Device::receive(std::span<uint8_t> datagram, const PeerAddress& from,
                           TimePoint now) noexcept {
  const auto type = message_type(datagram);
  DropReason reason;
  if (!type) {
    reason = type.error();
  } else {
    switch (*type) {
      case kMessageInitiation:
        reason = receive_initiation(datagram, from, now);
        break;
      case kMessageResponse:
        reason = receive_response(datagram, from, now);
        break;
      case kMessageCookieReply:
        reason = receive_cookie_reply(datagram, now);
        break;
      default:
        reason = receive_transport(datagram, from, now);
        break;
    }
  }
  if (reason != DropReason::kNone) drops_.add(reason);
  if (touched_) {
    Peer* peer = touched_;
    touched_ = nullptr;
    output_.on_timers_changed(*peer);
  }
  return reason;
}

DropReason Device::check_macs(std::span<const uint8_t> message, uint32_t sender_index,
                              const PeerAddress& from, TimePoint now) noexcept {
  if (!cookie_checker_.check_mac1(message)) return DropReason::kInvalidMac1;
  const bool under_load = guard_.note_demand(now) || under_load_forced_;
  if (under_load) {
    // The source's share first: a flood from one address then costs neither a cookie reply
    // (a random nonce, two MACs, an AEAD and a send each) nor a mac2 check.
    if (!guard_.allow_source(from, now)) return DropReason::kHandshakeRateLimited;
    if (!cookie_checker_.check_mac2(message, from, now, random_)) {
      const CookieReply reply =
          cookie_checker_.create_reply(message, sender_index, from, now, random_);
      std::array<uint8_t, kCookieReplySize> bytes;
      write_cookie_reply(reply, bytes);
      output_.send_datagram(from, bytes);
      return DropReason::kInvalidMac2;
    }
  }
  if (!guard_.take_work(now)) return DropReason::kHandshakeBudget;
  return DropReason::kNone;
}

DropReason Device::receive_initiation(std::span<uint8_t> datagram, const PeerAddress& from,
                                      TimePoint now) noexcept {
  const auto message = parse_initiation(datagram);
  if (!message) return message.error();
  if (auto reason = check_macs(datagram, message->sender_index, from, now);
      reason != DropReason::kNone) {
    return reason;
  }
  auto start = begin_consume_initiation(identity_, initial_state_, *message);
  if (!start) return DropReason::kHandshakeDecryptFailed;
  Peer* peer = find_peer(start->initiator_static);
  if (!peer) return DropReason::kUnknownPeer;
  const uint32_t previous_index = peer->handshake_.local_index();
  touched_ = peer;
  if (auto reason = peer->handshake_.consume_initiation(*message, std::move(*start), now);
      reason != DropReason::kNone) {
    return reason;
  }
  // A half-done initiation of ours is abandoned in favour of the peer's.
  if (previous_index != 0) release_index(previous_index);
  peer->endpoint_ = from;
  peer->stats_.rx_bytes += datagram.size();
  peer->timers_.on_any_authenticated_packet_traversal(now);
  peer->timers_.on_any_authenticated_packet_received(now);

  Response response;
  const uint32_t index = allocate_index(*peer);
  if (!peer->handshake_.create_response(response, index, new_ephemeral())) {
    release_index(index);
    return DropReason::kLowOrderKey;
  }
  std::array<uint8_t, kResponseSize> bytes;
  write_response(response, bytes);
  DerivedKeys keys;
  peer->handshake_.derive_keys(keys);
  install_keypair(*peer, std::move(keys), now);
  send_handshake_message(*peer, bytes, now);
  return DropReason::kNone;
}

DropReason Device::receive_response(std::span<uint8_t> datagram, const PeerAddress& from,
                                    TimePoint now) noexcept {
  const auto message = parse_response(datagram);
  if (!message) return message.error();
  if (auto reason = check_macs(datagram, message->sender_index, from, now);
      reason != DropReason::kNone) {
    return reason;
  }
  const auto entry = index_table_.find(message->receiver_index);
  if (entry == index_table_.end()) return DropReason::kUnknownIndex;
  Peer& peer = *entry->second;
  touched_ = &peer;
  if (auto reason = peer.handshake_.consume_response(*message); reason != DropReason::kNone) {
    return reason;
  }
  peer.endpoint_ = from;
  peer.stats_.rx_bytes += datagram.size();
  peer.timers_.on_any_authenticated_packet_traversal(now);
  peer.timers_.on_any_authenticated_packet_received(now);
  DerivedKeys keys;
  peer.handshake_.derive_keys(keys);
  install_keypair(peer, std::move(keys), now);
  peer.timers_.on_handshake_complete(now);
  ++peer.stats_.handshakes_completed;
  peer.stats_.last_handshake_wall = wall_clock_();
  output_.on_peer_event(peer, PeerEvent::kHandshakeComplete);
  // The initiator must speak first so the responder can confirm its keypair (§5.4.5).
  if (peer.staged_count_ > 0) {
    send_staged(peer, now);
  } else {
    send_keepalive(peer, now);
  }
  return DropReason::kNone;
}

DropReason Device::receive_cookie_reply(std::span<uint8_t> datagram, TimePoint now) noexcept {
  const auto message = parse_cookie_reply(datagram);
  if (!message) return message.error();
  const auto entry = index_table_.find(message->receiver_index);
  if (entry == index_table_.end()) return DropReason::kUnknownIndex;
  Peer& peer = *entry->second;
  if (!peer.cookies_.consume_reply(*message, now)) return DropReason::kHandshakeDecryptFailed;
  return DropReason::kNone;
}

DropReason Device::receive_transport(std::span<uint8_t> datagram, const PeerAddress& from,
                                     TimePoint now) noexcept {
  const auto view = parse_transport(datagram);
  if (!view) return view.error();
  const auto entry = index_table_.find(view->receiver_index);
  if (entry == index_table_.end()) return DropReason::kUnknownIndex;
  Peer& peer = *entry->second;
  Keypair* keypair = peer.keypairs_.find(view->receiver_index);
  if (!keypair) return DropReason::kUnknownIndex;
  touched_ = &peer;
  if (keypair_expired(keypair->birth, 0, now)) return DropReason::kKeyExpired;
  if (!keypair->replay.check(view->counter)) return DropReason::kReplayedCounter;

  auto ciphertext = datagram.subspan(kTransportHeaderSize);
  auto plaintext = ciphertext.first(ciphertext.size() - crypto::kAeadTagLen);
  if (!crypto::aead_decrypt(plaintext, ciphertext, view->counter, {}, keypair->receiving)) {
    return DropReason::kDecryptFailed;
  }
  if (!keypair->replay.mark(view->counter)) return DropReason::kReplayedCounter;

  ReleasedIndices released{};
  if (peer.keypairs_.confirm(keypair, released)) {
    release_indices(released);
    keypair = peer.keypairs_.current();
    peer.timers_.on_handshake_complete(now);
    ++peer.stats_.handshakes_completed;
    peer.stats_.last_handshake_wall = wall_clock_();
    output_.on_peer_event(peer, PeerEvent::kHandshakeComplete);
    send_staged(peer, now);
  }
  peer.endpoint_ = from;
  peer.stats_.rx_bytes += datagram.size();
  ++peer.stats_.rx_packets;
  peer.timers_.on_any_authenticated_packet_received(now);
  peer.timers_.on_any_authenticated_packet_traversal(now);
  if (keypair == peer.keypairs_.current() &&
      peer.timers_.take_last_minute_handshake(keypair->initiator, keypair->birth, now)) {
    initiate_handshake(peer, now);
  }

  if (plaintext.empty()) return DropReason::kNone;  // a keepalive
  peer.timers_.on_data_received(now);
  const size_t length = inner_packet_length(plaintext);
  if (length == 0) return DropReason::kMalformedInnerPacket;
  output_.deliver_packet(peer, plaintext.first(length));
  return DropReason::kNone;
}

EncapsulateResult Device::encapsulate(Peer& peer, std::span<const uint8_t> packet,
                                      std::span<uint8_t> out, TimePoint now) noexcept {
  Keypair* keypair = peer.keypairs_.current();
  if (!keypair || keypair->expired(now)) {
    if (!peer.stage(packet)) {
      drops_.add(DropReason::kQueueFull);
      return {0, DropReason::kQueueFull};
    }
    initiate_handshake(peer, now);
    output_.on_timers_changed(peer);
    return {0, DropReason::kNoSession};
  }
  const size_t length = seal(peer, *keypair, packet, out, now);
  if (!packet.empty()) note_data_sent(peer, now);
  if (should_rekey_on_send(keypair->initiator, keypair->birth, keypair->sending_counter, now)) {
    initiate_handshake(peer, now);
  }
  output_.on_timers_changed(peer);
  return {length, DropReason::kNone};
}

size_t Device::seal(Peer& peer, Keypair& keypair, std::span<const uint8_t> packet,
                    std::span<uint8_t> out, TimePoint now) noexcept {
  const size_t padded = packet.size() + padding_length(packet.size(), 0);
  const size_t length = kTransportHeaderSize + padded + crypto::kAeadTagLen;
  SLIRPVPN_ASSERT(out.size() >= length);
  auto body = out.subspan(kTransportHeaderSize, padded);
  if (!packet.empty() && packet.data() != body.data()) {
    std::memmove(body.data(), packet.data(), packet.size());
  }
  std::memset(body.data() + packet.size(), 0, padded - packet.size());
  const uint64_t counter = keypair.sending_counter++;
  write_transport_header(keypair.remote_index, counter, out.first<kTransportHeaderSize>());
  crypto::aead_encrypt(out.subspan(kTransportHeaderSize, padded + crypto::kAeadTagLen), body,
                       counter, {}, keypair.sending);
  peer.stats_.tx_bytes += length;
  ++peer.stats_.tx_packets;
  peer.timers_.on_any_authenticated_packet_traversal(now);
  peer.timers_.on_any_authenticated_packet_sent(now);
  return length;
}

void Device::initiate_handshake(Peer& peer, TimePoint now) noexcept {
  if (peer.timers_.on_handshake_wanted(now)) send_initiation(peer, now);
  output_.on_timers_changed(peer);
}

void Device::send_initiation(Peer& peer, TimePoint now) noexcept {
  if (peer.handshake_.local_index() != 0) release_index(peer.handshake_.local_index());
  Initiation initiation;
  const uint32_t index = allocate_index(peer);
  if (!peer.handshake_.create_initiation(initiation, index, new_ephemeral(),
                                         crypto::tai64n(wall_clock_()))) {
    release_index(index);
    return;
  }
  std::array<uint8_t, kInitiationSize> bytes;
  write_initiation(initiation, bytes);
  peer.timers_.on_handshake_initiated(now, jitter());
  send_handshake_message(peer, bytes, now);
}

void Device::send_handshake_message(Peer& peer, std::span<const uint8_t> message,
                                    TimePoint now) noexcept {
  std::array<uint8_t, kInitiationSize> bytes;
  auto out = std::span<uint8_t>(bytes).first(message.size());
  std::memcpy(out.data(), message.data(), message.size());
  peer.cookies_.add_macs(out, now);
  peer.timers_.on_any_authenticated_packet_traversal(now);
  peer.timers_.on_any_authenticated_packet_sent(now);
  if (peer.endpoint_.empty()) return;  // no address yet: the peer must call us first
  peer.stats_.tx_bytes += out.size();
  output_.send_datagram(peer.endpoint_, out);
}

void Device::send_keepalive(Peer& peer, TimePoint now) noexcept {
  Keypair* keypair = peer.keypairs_.current();
  if (!keypair || keypair->expired(now)) {
    initiate_handshake(peer, now);
    return;
  }
  if (peer.endpoint_.empty()) return;
  const size_t length = seal(peer, *keypair, {}, {scratch_.get(), kMaxDatagram}, now);
  output_.send_datagram(peer.endpoint_, {scratch_.get(), length});
}

void Device::send_staged(Peer& peer, TimePoint now) noexcept {
  Keypair* keypair = peer.keypairs_.current();
  if (!keypair || peer.endpoint_.empty()) return;
  for (size_t i = 0; i < peer.staged_count_; ++i) {
    const auto& staged = peer.staged_[i];
    const std::span<const uint8_t> packet(peer.staged_storage_.get() + staged.offset,
                                          staged.length);
    const size_t length = seal(peer, *keypair, packet, {scratch_.get(), kMaxDatagram}, now);
    note_data_sent(peer, now);
    output_.send_datagram(peer.endpoint_, {scratch_.get(), length});
  }
  peer.staged_count_ = 0;
  peer.staged_used_ = 0;
}

void Device::drop_staged(Peer& peer) noexcept {
  peer.staged_count_ = 0;
  peer.staged_used_ = 0;
}

void Device::install_keypair(Peer& peer, DerivedKeys&& keys, TimePoint now) noexcept {
  release_indices(peer.keypairs_.add(Keypair::from(std::move(keys), now)));
  peer.timers_.on_session_derived(now);
}

void Device::zero_key_material(Peer& peer) noexcept {
  release_indices(peer.keypairs_.clear());
  if (peer.handshake_.local_index() != 0) release_index(peer.handshake_.local_index());
  peer.handshake_.clear();
  output_.on_peer_event(peer, PeerEvent::kSessionExpired);
}

void Device::set_persistent_keepalive(Peer& peer, std::chrono::seconds interval,
                                      TimePoint now) noexcept {
  peer.timers_.set_persistent_keepalive(interval, now);
  output_.on_timers_changed(peer);
}

void Device::on_timer(Peer& peer, TimePoint now) noexcept {
  const TimerActions actions = peer.timers_.expire(now);
  if (actions.handshake_gave_up) drop_staged(peer);
  if (actions.zero_key_material) zero_key_material(peer);
  if (actions.send_initiation) send_initiation(peer, now);
  if (actions.send_keepalive) send_keepalive(peer, now);
  output_.on_timers_changed(peer);
}

uint32_t Device::allocate_index(Peer& peer) noexcept {
  uint32_t index = 0;
  do {
    random_.fill({reinterpret_cast<uint8_t*>(&index), sizeof index});
  } while (index == 0 || index_table_.contains(index));
  index_table_[index] = &peer;
  return index;
}

void Device::release_index(uint32_t index) noexcept {
  if (index != 0) index_table_.erase(index);
}

void Device::release_indices(const ReleasedIndices& indices) noexcept {
  for (uint32_t index : indices) release_index(index);
}

crypto::PrivateKey Device::new_ephemeral() noexcept {
  crypto::Secret<crypto::kKeyLen> bytes;
  random_.fill(bytes.span());
  return crypto::PrivateKey::from_random(bytes.span());
}

void Device::note_data_sent(Peer& peer, TimePoint now) noexcept {
  // Only a packet that arms new_handshake uses the jitter: drawing it for every packet cost a
  // getrandom system call per packet (5-7 % of the server's cycles at full load).
  const bool arms = !peer.timers_.new_handshake_armed();
  peer.timers_.on_data_sent(now, arms ? jitter() : Duration::zero());
}

Duration Device::jitter() noexcept {
  uint32_t value = 0;
  random_.fill({reinterpret_cast<uint8_t*>(&value), sizeof value});
  const auto max_us = std::chrono::duration_cast<std::chrono::microseconds>(kRekeyTimeoutJitterMax);
  return std::chrono::microseconds(value % (max_us.count() + 1));
}

}  // namespace slirpvpn::wireguard
