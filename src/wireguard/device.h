// SPDX-License-Identifier: MIT
// A WireGuard interface without I/O: one local identity, its peers, the index table, and the
// receive and send paths of the protocol (whitepaper §5–6).
//
// Theory of operation
//   The embedder owns sockets, the TUN device or libslirp, clocks and randomness. It feeds
//   every UDP datagram to receive(), every outgoing IP packet to encapsulate(), and calls
//   on_timer() for a peer when next_expiry(peer) has passed. The device answers through
//   DeviceOutput: datagrams to send (handshake messages, keepalives, staged packets, cookie
//   replies) and decrypted IP packets to deliver. encapsulate() writes straight into the
//   caller's buffer so the data path can fill a sendmmsg batch without copies; receive()
//   decrypts in place.
//
//   Receive: type 1 → mac1, (under load) the per-source limit and mac2 or a cookie reply, the
//   handshake work budget (ratelimiter.h), decrypt the static key, find the peer, timestamp and
//   rate checks, then a response and a responder keypair in `next`.
//   Type 2 → the handshake waiting on that index, then an initiator keypair in `current` and
//   the staged packets (or a keepalive: the initiator speaks first). Type 3 → the cookie for
//   our next initiation. Type 4 → keypair by index, replay window check, AEAD, window mark,
//   roaming (the endpoint follows the newest authenticated packet), keepalive or delivery.
//   Anything wrong is dropped with a DropReason and counted; no state changes.
//
//   Left out on purpose: AllowedIPs (the embedder checks the inner source: our server gives
//   every peer its own network, so the table is per peer, not per device); threads (one
//   device per thread; the data path batches around it).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "wireguard/cookie.h"
#include "wireguard/drop_reason.h"
#include "wireguard/noise.h"
#include "wireguard/peer.h"
#include "wireguard/random_source.h"
#include "wireguard/ratelimiter.h"

namespace slirpvpn::wireguard {

enum class PeerEvent : uint8_t { kHandshakeComplete, kSessionExpired };

class DeviceOutput {
 public:
  virtual ~DeviceOutput() = default;
  // A datagram for `to`; the bytes are valid only during the call.
  virtual void send_datagram(const PeerAddress& to, std::span<const uint8_t> datagram) noexcept = 0;
  // A decrypted IP packet from `peer`, trimmed to the IP header's length. The embedder may
  // modify it in place; valid only during the call.
  virtual void deliver_packet(Peer& peer, std::span<uint8_t> packet) noexcept = 0;
  virtual void on_peer_event(Peer& /*peer*/, PeerEvent /*event*/) noexcept {}
  // The peer's next_expiry() may have moved: re-arm its timer.
  virtual void on_timers_changed(Peer& /*peer*/) noexcept {}
};

// What encapsulate() did.
struct EncapsulateResult {
  size_t length = 0;  // datagram bytes written to `out`; 0 when nothing is to be sent now
  DropReason reason = DropReason::kNone;  // kNoSession when staged for a handshake
};

class Device {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  // Largest datagram encapsulate() can produce from a 65535-byte packet.
  static constexpr size_t kMaxDatagram = 65535 + kTransportHeaderSize + kPaddingMultiple + 16;

  // `random` and `output` must outlive the device. `wall_clock` stamps initiations (TAI64N).
  Device(const crypto::PrivateKey& private_key, RandomSource& random, DeviceOutput& output,
         WallClock wall_clock);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const StaticIdentity& identity() const noexcept { return identity_; }

  Peer& add_peer(const PeerConfig& config);
  void remove_peer(const crypto::PublicKey& key);
  Peer* find_peer(const crypto::PublicKey& key) noexcept;
  const std::vector<std::unique_ptr<Peer>>& peers() const noexcept { return peers_; }

  // Processes one datagram from `from`; may decrypt in place. kNone when it was accepted.
  DropReason receive(std::span<uint8_t> datagram, const PeerAddress& from, TimePoint now) noexcept;

  // Encrypts `packet` for `peer` into `out` (size ≥ packet.size() + 32 + 16). With no usable
  // keypair the packet is staged, a handshake started, and the result's length is 0.
  EncapsulateResult encapsulate(Peer& peer, std::span<const uint8_t> packet, std::span<uint8_t> out,
                                TimePoint now) noexcept;

  // Starts a handshake now unless one went out within REKEY_TIMEOUT.
  void initiate_handshake(Peer& peer, TimePoint now) noexcept;

  // wg(8) PersistentKeepalive changed at run time.
  void set_persistent_keepalive(Peer& peer, std::chrono::seconds interval, TimePoint now) noexcept;

  TimePoint next_expiry(const Peer& peer) const noexcept { return peer.timers_.next_expiry(); }
  void on_timer(Peer& peer, TimePoint now) noexcept;

  // Under load initiations and responses need a valid mac2 or get a cookie reply (§5.4.7),
  // and pass a per-source limit. The device switches it on itself from the rate of handshake
  // messages (ratelimiter.h); this forces it on as well (tests, an embedder that knows more).
  void set_under_load(bool under_load) noexcept { under_load_forced_ = under_load; }
  bool under_load(TimePoint now) const noexcept {
    return under_load_forced_ || guard_.under_load(now);
  }
  // Replaces the flood defence's rates (and resets its state).
  void set_handshake_limits(const HandshakeLimits& limits) { guard_ = HandshakeGuard(limits); }

  const DropCounters& drops() const noexcept { return drops_; }
  DropCounters& drops() noexcept { return drops_; }

 private:
  DropReason receive_initiation(std::span<uint8_t> datagram, const PeerAddress& from,
                                TimePoint now) noexcept;
  DropReason receive_response(std::span<uint8_t> datagram, const PeerAddress& from,
                              TimePoint now) noexcept;
  DropReason receive_cookie_reply(std::span<uint8_t> datagram, TimePoint now) noexcept;
  DropReason receive_transport(std::span<uint8_t> datagram, const PeerAddress& from,
                               TimePoint now) noexcept;
  // mac1 always; under load the source's share, then mac2 (kInvalidMac2 means a cookie reply
  // was sent); then the work budget. kNone: the message may cost Diffie-Hellman work.
  DropReason check_macs(std::span<const uint8_t> message, uint32_t sender_index,
                        const PeerAddress& from, TimePoint now) noexcept;

  void send_initiation(Peer& peer, TimePoint now) noexcept;
  void send_keepalive(Peer& peer, TimePoint now) noexcept;
  void send_staged(Peer& peer, TimePoint now) noexcept;
  void drop_staged(Peer& peer) noexcept;
  void send_handshake_message(Peer& peer, std::span<const uint8_t> message, TimePoint now) noexcept;
  void install_keypair(Peer& peer, DerivedKeys&& keys, TimePoint now) noexcept;
  void zero_key_material(Peer& peer) noexcept;
  // Encrypts with the current keypair; no staging, no handshake side effects.
  size_t seal(Peer& peer, Keypair& keypair, std::span<const uint8_t> packet, std::span<uint8_t> out,
              TimePoint now) noexcept;

  uint32_t allocate_index(Peer& peer) noexcept;
  void release_index(uint32_t index) noexcept;
  void release_indices(const ReleasedIndices& indices) noexcept;
  crypto::PrivateKey new_ephemeral() noexcept;
  Duration jitter() noexcept;
  // Timers::on_data_sent with a jitter drawn only when the packet arms new_handshake.
  void note_data_sent(Peer& peer, TimePoint now) noexcept;

  StaticIdentity identity_;
  RandomSource& random_;
  DeviceOutput& output_;
  WallClock wall_clock_;
  CookieChecker cookie_checker_;
  SymmetricState initial_state_;  // wireguard_initial_state(our public key)
  bool under_load_forced_ = false;
  HandshakeGuard guard_;
  DropCounters drops_;

  std::vector<std::unique_ptr<Peer>> peers_;
  struct KeyHash {
    size_t operator()(const crypto::PublicKey& key) const noexcept;
  };
  std::unordered_map<crypto::PublicKey, Peer*, KeyHash> peers_by_key_;
  std::unordered_map<uint32_t, Peer*> index_table_;
  Peer* touched_ = nullptr;             // the peer the datagram being received concerned
  std::unique_ptr<uint8_t[]> scratch_;  // kMaxDatagram bytes for keepalives and staged packets
};

}  // namespace slirpvpn::wireguard
