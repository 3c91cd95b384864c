// SPDX-License-Identifier: MIT
// A peer's WireGuard timer state machine (whitepaper §6), sans-I/O: time is an argument.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "wireguard/constants.h"

// Theory of Operation
// ===================
//
// One Timers object per peer holds five one-shot timers as deadlines (no OS timers): the
// tunnel reports events through the on_*() hooks, arms one OS timer at next_expiry(), and on
// wake-up calls expire(now), which runs every timer due and answers with TimerActions (what
// the tunnel must do: send an initiation or a keepalive, wipe keys, drop staged packets). The
// semantics are those of the Linux kernel's timers.c and wireguard-go's device/timers.go, so a
// slirpvpn peer paces itself exactly like the implementations it talks to.
//
// Timers (all re-armed relative to the `now` of the event that arms them):
//
//  retransmit_handshake  armed by on_handshake_initiated() at REKEY_TIMEOUT + jitter (5 s +
//                        [0, 333 ms], §6.4); disarmed by on_handshake_complete(). On expiry:
//                        another initiation, up to kMaxTimerHandshakes (18) retries after the
//                        first; the next expiry after that gives up (§6.4: "after
//                        REKEY_ATTEMPT_TIME"): no initiation, staged packets dropped, the send
//                        keepalive timer disarmed, key zeroing armed if it was not. So
//                        kMaxTimerHandshakes + 2 = 20 initiations go out, the give-up comes
//                        about 100 s (20 × 5 s + jitter) after the first — as in the kernel and
//                        wireguard-go, which log "did not complete after 20 attempts".
//  send_keepalive        armed by on_data_received() at KEEPALIVE_TIMEOUT (10 s, §6.5) unless
//                        already armed (then: "need another keepalive"); disarmed by
//                        on_any_authenticated_packet_sent(). On expiry: a keepalive; if more
//                        data arrived meanwhile, one more KEEPALIVE_TIMEOUT after that one.
//  new_handshake         armed by on_data_sent() at KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter
//                        (15 s, §6.5) unless already armed; disarmed by
//                        on_any_authenticated_packet_received(). On expiry: a new handshake
//                        (the peer is silent although it owes us at least a keepalive).
//  zero_key_material     armed by on_session_derived() at 3 × REJECT_AFTER_TIME (540 s, §6.3);
//                        on expiry the tunnel wipes every keypair and the handshake state.
//  persistent_keepalive  armed by on_any_authenticated_packet_traversal() at the configured
//                        interval (wg(8) PersistentKeepalive) when non-zero; on expiry a
//                        keepalive, for NAT mappings that would otherwise expire.
//
// Initiation pacing: every initiation, whatever asked for it, is at least REKEY_TIMEOUT after
// the previous one (the kernel's last_sent_handshake check, §6.4). on_handshake_wanted() and
// an expiring new_handshake timer start a fresh cycle (the attempt count goes back to 0, so a
// peer that keeps queueing data keeps retrying); only retransmissions count attempts.
//
// Key lifetimes belong to a keypair, not to the peer, so they are pure functions here for the
// session module: should_rekey_on_send() (REKEY_AFTER_TIME 120 s for the initiator,
// REKEY_AFTER_MESSAGES for both, §6.2–6.3), should_rekey_on_receive() (the initiator's "last
// minute" handshake at REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT = 165 s, sent
// once per handshake: take_last_minute_handshake()), keypair_expired() (REJECT_AFTER_TIME
// 180 s or REJECT_AFTER_MESSAGES, §6.2).
//
// Left out on purpose: randomness (jitter is an argument from the caller's RNG, so tests are
// exact); clearing a sticky source address on retry (the kernel's
// wg_socket_clear_peer_endpoint_src: that is the socket layer's business); wall-clock time
// for `wg show` (last_handshake() is a steady TimePoint; the caller converts); the cookie
// (§6.6) and initiation-rate (§5.1) limits, which live in the cookie and handshake code.
//
// Thread-safety: none; one event loop owns a peer. No allocation; every member is noexcept.

namespace slirpvpn::wireguard {

// What the tunnel must do after expire(). Several may be set at once.
struct TimerActions {
  // Create and send a handshake initiation now, then call on_handshake_initiated().
  bool send_initiation = false;
  // Send a keepalive (an empty transport message) now if a valid sending keypair exists;
  // without one the tunnel wants a handshake instead (on_handshake_wanted()).
  bool send_keepalive = false;
  // Wipe every keypair and the handshake state of this peer.
  bool zero_key_material = false;
  // The retry cycle gave up: drop the packets staged while waiting for a handshake.
  bool handshake_gave_up = false;

  [[nodiscard]] bool any() const noexcept {
    return send_initiation || send_keepalive || zero_key_material || handshake_gave_up;
  }
};

class Timers {
 public:
  // persistent_keepalive: wg(8) PersistentKeepalive, 0 = off. Nothing is armed until the
  // first event; to send the immediate keepalive wg(8) sends when the option is turned on,
  // use set_persistent_keepalive().
  explicit Timers(std::chrono::seconds persistent_keepalive = std::chrono::seconds(0)) noexcept;

  // Changes the interval. Turning it on (from 0) makes a keepalive due at `now` (as the kernel
  // and wireguard-go do); turning it off disarms the timer; changing a non-zero interval takes
  // effect at the next traversal. Ignored after stop().
  void set_persistent_keepalive(std::chrono::seconds interval, TimePoint now) noexcept;
  [[nodiscard]] std::chrono::seconds persistent_keepalive() const noexcept {
    return persistent_keepalive_;
  }

  // Event hooks (kernel timers.c names). Each is a no-op for arming after stop().

  // Whether on_data_sent() would leave new_handshake as it is (an unanswered packet went
  // already): then its jitter argument is not used.
  bool new_handshake_armed() const noexcept { return armed(kNewHandshake); }
  // An authenticated non-keepalive data packet was sent. jitter in [0, kRekeyTimeoutJitterMax]
  // from the caller's RNG (the kernel adds it here too).
  void on_data_sent(TimePoint now, Duration jitter = Duration::zero()) noexcept;
  // An authenticated non-keepalive data packet was received.
  void on_data_received(TimePoint now) noexcept;
  // Any authenticated packet (data, keepalive or handshake) was sent.
  void on_any_authenticated_packet_sent(TimePoint now) noexcept;
  // Any authenticated packet (data, keepalive or handshake) was received.
  void on_any_authenticated_packet_received(TimePoint now) noexcept;
  // Any authenticated packet is about to be sent or was received: restarts persistent keepalive.
  void on_any_authenticated_packet_traversal(TimePoint now) noexcept;
  // A handshake initiation was created (call it whether or not the socket took the datagram);
  // jitter in [0, kRekeyTimeoutJitterMax] from the caller's RNG.
  void on_handshake_initiated(TimePoint now, Duration jitter) noexcept;
  // A handshake response was consumed, or the first data arrived on a responder's keypair.
  void on_handshake_complete(TimePoint now) noexcept;
  // New transport keys were derived (before sending a response, after consuming one).
  void on_session_derived(TimePoint now) noexcept;
  // Data is waiting and there is no usable sending key, or a rekey is due: starts a fresh
  // retry cycle. True when the caller should send an initiation now; false when one went out
  // less than REKEY_TIMEOUT ago (its retransmission is already scheduled) or after stop().
  [[nodiscard]] bool on_handshake_wanted(TimePoint now) noexcept;

  // The receive-path rekey of the kernel's keep_key_fresh(): true at most once between two
  // completed handshakes, when should_rekey_on_receive() holds for the current keypair. The
  // caller then asks on_handshake_wanted(now).
  [[nodiscard]] bool take_last_minute_handshake(bool we_are_initiator, TimePoint keypair_created,
                                                TimePoint now) noexcept;

  // Earliest armed deadline; TimePoint::max() when nothing is armed.
  [[nodiscard]] TimePoint next_expiry() const noexcept;
  // Runs, in deadline order, each timer due at `now` (once each, even if `now` is late; timers
  // re-armed here count from `now`). Empty actions when nothing is due.
  [[nodiscard]] TimerActions expire(TimePoint now) noexcept;

  // Retransmissions in the current cycle (0 after a completed handshake or a fresh cycle;
  // kMaxTimerHandshakes + 1 once it gave up).
  [[nodiscard]] int handshake_attempts() const noexcept { return handshake_attempts_; }
  // When the last handshake completed, if one ever did.
  [[nodiscard]] std::optional<TimePoint> last_handshake() const noexcept { return last_handshake_; }

  // The peer is being removed: disarms everything; later events arm nothing.
  void stop() noexcept;
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }

 private:
  enum TimerId : size_t {
    kRetransmitHandshake,
    kSendKeepalive,
    kNewHandshake,
    kZeroKeyMaterial,
    kPersistentKeepalive,
    kTimerCount,
  };
  static constexpr TimePoint kDisarmed = TimePoint::max();

  void arm(TimerId id, TimePoint deadline) noexcept;
  void disarm(TimerId id) noexcept { deadlines_[id] = kDisarmed; }
  [[nodiscard]] bool armed(TimerId id) const noexcept { return deadlines_[id] != kDisarmed; }
  [[nodiscard]] bool initiation_allowed(TimePoint now) const noexcept;
  void fire(TimerId id, TimePoint now, TimerActions& actions) noexcept;

  std::array<TimePoint, kTimerCount> deadlines_;
  std::chrono::seconds persistent_keepalive_;
  int handshake_attempts_ = 0;
  bool need_another_keepalive_ = false;
  // Set when the keepalive timer fired with need_another_keepalive_: that keepalive's own
  // on_any_authenticated_packet_sent() re-arms the timer instead of disarming it. (In the
  // kernel and wireguard-go the re-arm and the asynchronous send race; here the order is fixed.)
  bool rearm_keepalive_on_send_ = false;
  bool sent_last_minute_handshake_ = false;
  bool stopped_ = false;
  std::optional<TimePoint> last_initiation_sent_;
  std::optional<TimePoint> last_handshake_;
};

// Send path (§6.2–6.3, kernel keep_key_fresh on send): the keypair in use should be replaced.
// send_counter is the next nonce, i.e. messages already sent with this keypair.
[[nodiscard]] bool should_rekey_on_send(bool we_are_initiator, TimePoint keypair_created,
                                        uint64_t send_counter, TimePoint now) noexcept;
// Receive path (§6.3): the initiator's keypair is within KEEPALIVE_TIMEOUT + REKEY_TIMEOUT of
// REJECT_AFTER_TIME, so a handshake now completes before the keypair dies.
[[nodiscard]] bool should_rekey_on_receive(bool we_are_initiator, TimePoint keypair_created,
                                           TimePoint now) noexcept;
// §6.2: the keypair must neither send nor receive any more (REJECT_AFTER_TIME or
// REJECT_AFTER_MESSAGES reached). counter: for sending, the next nonce; for receiving, the
// highest accepted counter + 1 (the replay window refuses counters past the limit itself).
[[nodiscard]] bool keypair_expired(TimePoint created, uint64_t counter, TimePoint now) noexcept;

}  // namespace slirpvpn::wireguard
