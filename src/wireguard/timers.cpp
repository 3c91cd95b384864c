// SPDX-License-Identifier: MIT
// Timer hooks and expiry handlers of a peer; see the Theory of Operation in timers.h.
#include "wireguard/timers.h"

#include <algorithm>

#include "common/assert.h"

namespace slirpvpn::wireguard {

namespace {

bool valid_jitter(Duration jitter) {
  return jitter >= Duration::zero() && jitter <= kRekeyTimeoutJitterMax;
}

// The kernel's wg_birthdate_has_expired(): expired once the age reaches the limit.
bool has_expired(TimePoint birth, Duration limit, TimePoint now) {
  return now - birth >= limit;
}

}  // namespace

Timers::Timers(std::chrono::seconds persistent_keepalive) noexcept
    : persistent_keepalive_(persistent_keepalive) {
  SLIRPVPN_ASSERT(persistent_keepalive >= std::chrono::seconds(0));
  deadlines_.fill(kDisarmed);
}

void Timers::arm(TimerId id, TimePoint deadline) noexcept {
  // Like the kernel's mod_peer_timer(): a removed peer's timers stay down.
  if (!stopped_) deadlines_[id] = deadline;
}

bool Timers::initiation_allowed(TimePoint now) const noexcept {
  return !last_initiation_sent_ || has_expired(*last_initiation_sent_, kRekeyTimeout, now);
}

void Timers::set_persistent_keepalive(std::chrono::seconds interval, TimePoint now) noexcept {
  SLIRPVPN_ASSERT(interval >= std::chrono::seconds(0));
  const bool was_off = persistent_keepalive_ == std::chrono::seconds(0);
  persistent_keepalive_ = interval;
  if (interval == std::chrono::seconds(0)) {
    disarm(kPersistentKeepalive);
  } else if (was_off) {
    arm(kPersistentKeepalive, now);
  }
}

void Timers::on_data_sent(TimePoint now, Duration jitter) noexcept {
  SLIRPVPN_ASSERT(valid_jitter(jitter));
  // Only the first unanswered packet counts: later ones must not push the deadline away.
  if (!armed(kNewHandshake)) arm(kNewHandshake, now + kKeepaliveTimeout + kRekeyTimeout + jitter);
}

void Timers::on_data_received(TimePoint now) noexcept {
  if (stopped_) return;
  if (!armed(kSendKeepalive)) {
    arm(kSendKeepalive, now + kKeepaliveTimeout);
  } else {
    need_another_keepalive_ = true;
  }
}

void Timers::on_any_authenticated_packet_sent(TimePoint now) noexcept {
  if (rearm_keepalive_on_send_) {
    rearm_keepalive_on_send_ = false;
    arm(kSendKeepalive, now + kKeepaliveTimeout);
    return;
  }
  disarm(kSendKeepalive);
}

void Timers::on_any_authenticated_packet_received(TimePoint /*now*/) noexcept {
  disarm(kNewHandshake);
}

void Timers::on_any_authenticated_packet_traversal(TimePoint now) noexcept {
  if (persistent_keepalive_ != std::chrono::seconds(0)) {
    arm(kPersistentKeepalive, now + persistent_keepalive_);
  }
}

void Timers::on_handshake_initiated(TimePoint now, Duration jitter) noexcept {
  SLIRPVPN_ASSERT(valid_jitter(jitter));
  last_initiation_sent_ = now;
  arm(kRetransmitHandshake, now + kRekeyTimeout + jitter);
}

void Timers::on_handshake_complete(TimePoint now) noexcept {
  disarm(kRetransmitHandshake);
  handshake_attempts_ = 0;
  sent_last_minute_handshake_ = false;
  last_handshake_ = now;
}

void Timers::on_session_derived(TimePoint now) noexcept {
  arm(kZeroKeyMaterial, now + 3 * kRejectAfterTime);
}

bool Timers::on_handshake_wanted(TimePoint now) noexcept {
  if (stopped_) return false;
  handshake_attempts_ = 0;
  return initiation_allowed(now);
}

bool Timers::take_last_minute_handshake(bool we_are_initiator, TimePoint keypair_created,
                                        TimePoint now) noexcept {
  if (sent_last_minute_handshake_ ||
      !should_rekey_on_receive(we_are_initiator, keypair_created, now))
    return false;
  sent_last_minute_handshake_ = true;
  return true;
}

TimePoint Timers::next_expiry() const noexcept {
  return *std::min_element(deadlines_.begin(), deadlines_.end());
}

TimerActions Timers::expire(TimePoint now) noexcept {
  TimerActions actions;
  // Each timer fires at most once per call; an earlier one may disarm a later one (giving up
  // cancels the keepalive), so they run in deadline order, ties in TimerId order.
  bool done[kTimerCount] = {};
  for (;;) {
    size_t next = kTimerCount;
    for (size_t id = 0; id < kTimerCount; ++id) {
      if (done[id] || deadlines_[id] > now) continue;
      if (next == kTimerCount || deadlines_[id] < deadlines_[next]) next = id;
    }
    if (next == kTimerCount) break;
    done[next] = true;
    disarm(static_cast<TimerId>(next));
    fire(static_cast<TimerId>(next), now, actions);
  }
  return actions;
}

void Timers::fire(TimerId id, TimePoint now, TimerActions& actions) noexcept {
  switch (id) {
    case kRetransmitHandshake:
      if (handshake_attempts_ > kMaxTimerHandshakes) {
        actions.handshake_gave_up = true;
        disarm(kSendKeepalive);
        rearm_keepalive_on_send_ = false;
        // Wipe whatever a half-finished exchange left behind, unless a wipe is already due.
        if (!armed(kZeroKeyMaterial)) arm(kZeroKeyMaterial, now + 3 * kRejectAfterTime);
      } else {
        ++handshake_attempts_;
        // The deadline is at least REKEY_TIMEOUT after the initiation that armed it, so the
        // pacing check only matters if the caller skipped on_handshake_initiated().
        actions.send_initiation = actions.send_initiation || initiation_allowed(now);
      }
      break;
    case kSendKeepalive:
      actions.send_keepalive = true;
      if (need_another_keepalive_) {
        need_another_keepalive_ = false;
        rearm_keepalive_on_send_ = true;
      }
      break;
    case kNewHandshake:
      handshake_attempts_ = 0;
      actions.send_initiation = actions.send_initiation || initiation_allowed(now);
      break;
    case kZeroKeyMaterial:
      actions.zero_key_material = true;
      break;
    case kPersistentKeepalive:
      if (persistent_keepalive_ != std::chrono::seconds(0)) actions.send_keepalive = true;
      break;
    case kTimerCount:
      SLIRPVPN_ASSERT(false);
  }
}

void Timers::stop() noexcept {
  deadlines_.fill(kDisarmed);
  need_another_keepalive_ = false;
  rearm_keepalive_on_send_ = false;
  stopped_ = true;
}

bool should_rekey_on_send(bool we_are_initiator, TimePoint keypair_created, uint64_t send_counter,
                          TimePoint now) noexcept {
  return send_counter >= kRekeyAfterMessages ||
         (we_are_initiator && has_expired(keypair_created, kRekeyAfterTime, now));
}

bool should_rekey_on_receive(bool we_are_initiator, TimePoint keypair_created,
                             TimePoint now) noexcept {
  return we_are_initiator &&
         has_expired(keypair_created, kRejectAfterTime - kKeepaliveTimeout - kRekeyTimeout, now);
}

bool keypair_expired(TimePoint created, uint64_t counter, TimePoint now) noexcept {
  return counter >= kRejectAfterMessages || has_expired(created, kRejectAfterTime, now);
}

}  // namespace slirpvpn::wireguard
