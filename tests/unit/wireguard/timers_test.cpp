// SPDX-License-Identifier: MIT
// Timers driven by a hand-advanced clock, against whitepaper §6 and the kernel's timers.c.
#include "wireguard/timers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace slirpvpn::wireguard {
namespace {

using std::chrono::seconds;

// Far from the clock's epoch, so "now - x" never underflows in the helpers.
const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

// Plays the tunnel's part: sleeps until next_expiry(), runs expire(), carries out the actions
// and reports the resulting sends back as the tunnel must (traversal, sent, initiated), with
// jitter from a fixed cycle so every deadline is known exactly.
class Driver {
 public:
  explicit Driver(Timers& timers) : timers_(timers) {}

  Duration next_jitter() {
    static constexpr Duration kCycle[] = {Duration::zero(), kRekeyTimeoutJitterMax,
                                          std::chrono::milliseconds(123)};
    return kCycle[jitter_index_++ % 3];
  }

  // Sends an initiation at `now` the way the tunnel does.
  void send_initiation(TimePoint now) {
    timers_.on_any_authenticated_packet_traversal(now);
    timers_.on_any_authenticated_packet_sent(now);
    const Duration jitter = next_jitter();
    timers_.on_handshake_initiated(now, jitter);
    initiations.push_back({now, jitter});
  }

  void send_keepalive(TimePoint now) {
    timers_.on_any_authenticated_packet_traversal(now);
    timers_.on_any_authenticated_packet_sent(now);
    keepalives.push_back(now);
  }

  // Runs every expiry up to and including `until`; returns the time reached.
  void run_until(TimePoint until) {
    for (int guard = 0; guard < 100'000; ++guard) {
      const TimePoint t = timers_.next_expiry();
      if (t > until) return;
      const TimerActions actions = timers_.expire(t);
      ASSERT_TRUE(actions.any()) << "a timer was due but did nothing";
      if (actions.handshake_gave_up) gave_up.push_back(t);
      if (actions.zero_key_material) zeroed.push_back(t);
      if (actions.send_initiation) send_initiation(t);
      if (actions.send_keepalive) send_keepalive(t);
    }
    FAIL() << "timer loop did not settle";
  }

  struct Initiation {
    TimePoint at;
    Duration jitter;
  };
  std::vector<Initiation> initiations;
  std::vector<TimePoint> keepalives;
  std::vector<TimePoint> gave_up;
  std::vector<TimePoint> zeroed;

 private:
  Timers& timers_;
  size_t jitter_index_ = 0;
};

TEST(Timers, NothingArmedInitially) {
  Timers timers;
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
  EXPECT_FALSE(timers.expire(kT0).any());
  EXPECT_EQ(timers.handshake_attempts(), 0);
  EXPECT_FALSE(timers.last_handshake().has_value());
}

// §6.4: an unanswered initiation is retransmitted every REKEY_TIMEOUT + jitter; the cycle gives
// up after kMaxTimerHandshakes retries plus one last timeout (20 initiations, ~100 s).
TEST(Timers, RetransmitsEveryRekeyTimeoutThenGivesUp) {
  Timers timers;
  Driver driver(timers);
  ASSERT_TRUE(timers.on_handshake_wanted(kT0));
  driver.send_initiation(kT0);
  driver.run_until(kT0 + seconds(300));

  ASSERT_EQ(driver.initiations.size(), size_t(kMaxTimerHandshakes) + 2);
  for (size_t i = 1; i < driver.initiations.size(); ++i) {
    const auto& prev = driver.initiations[i - 1];
    EXPECT_EQ(driver.initiations[i].at - prev.at, kRekeyTimeout + prev.jitter) << "retry " << i;
  }
  // Still trying at REKEY_ATTEMPT_TIME (90 s), as §6.4 requires...
  EXPECT_GE(driver.initiations.back().at - kT0, kRekeyAttemptTime);
  // ...and given up exactly one timeout after the last initiation.
  ASSERT_EQ(driver.gave_up.size(), 1u);
  const auto& last = driver.initiations.back();
  EXPECT_EQ(driver.gave_up[0], last.at + kRekeyTimeout + last.jitter);
  EXPECT_LT(driver.gave_up[0] - kT0, seconds(100) + 20 * kRekeyTimeoutJitterMax);
  EXPECT_EQ(timers.handshake_attempts(), kMaxTimerHandshakes + 1);
  // Giving up arms the wipe of a half-finished exchange; it fires 540 s later.
  ASSERT_EQ(driver.zeroed.size(), 0u);
  EXPECT_EQ(timers.next_expiry(), driver.gave_up[0] + 3 * kRejectAfterTime);
  driver.run_until(driver.gave_up[0] + 3 * kRejectAfterTime);
  ASSERT_EQ(driver.zeroed.size(), 1u);
  EXPECT_EQ(driver.initiations.size(), size_t(kMaxTimerHandshakes) + 2);  // nothing new

  // New data wanting a handshake starts a fresh cycle.
  const TimePoint later = driver.gave_up[0] + seconds(1000);
  ASSERT_TRUE(timers.on_handshake_wanted(later));
  EXPECT_EQ(timers.handshake_attempts(), 0);
  driver.send_initiation(later);
  driver.run_until(later + seconds(6));
  EXPECT_EQ(driver.initiations.size(), size_t(kMaxTimerHandshakes) + 4);
  EXPECT_EQ(timers.handshake_attempts(), 1);
}

TEST(Timers, HandshakeCompleteStopsRetransmission) {
  Timers timers;
  Driver driver(timers);
  driver.send_initiation(kT0);
  driver.run_until(kT0 + seconds(12));  // two retries: at 5 s and 10.333 s
  ASSERT_EQ(driver.initiations.size(), 3u);
  EXPECT_EQ(timers.handshake_attempts(), 2);

  const TimePoint done = kT0 + seconds(13);
  timers.on_handshake_complete(done);
  EXPECT_EQ(timers.handshake_attempts(), 0);
  EXPECT_EQ(timers.last_handshake(), done);
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
  driver.run_until(kT0 + seconds(600));
  EXPECT_EQ(driver.initiations.size(), 3u);
  EXPECT_TRUE(driver.gave_up.empty());
}

// The kernel's last_sent_handshake check: initiations are at least REKEY_TIMEOUT apart.
TEST(Timers, HandshakeWantedIsPacedByRekeyTimeout) {
  Timers timers;
  ASSERT_TRUE(timers.on_handshake_wanted(kT0));
  ASSERT_TRUE(timers.on_handshake_wanted(kT0));  // nothing was sent yet
  timers.on_handshake_initiated(kT0, Duration::zero());
  EXPECT_FALSE(timers.on_handshake_wanted(kT0));
  EXPECT_FALSE(timers.on_handshake_wanted(kT0 + kRekeyTimeout - std::chrono::nanoseconds(1)));
  EXPECT_TRUE(timers.on_handshake_wanted(kT0 + kRekeyTimeout));
}

// Data that keeps wanting a handshake resets the attempt count (kernel: is_retry == false), so
// the cycle only gives up once the data stops.
TEST(Timers, QueuedDataKeepsTheRetryCycleAlive) {
  Timers timers;
  Driver driver(timers);
  driver.send_initiation(kT0);
  TimePoint t = kT0;
  for (int i = 0; i < 30; ++i) {  // 300 s of data, every 10 s
    t += seconds(10);
    driver.run_until(t);
    // As the tunnel does: a fresh cycle, and an initiation unless one went out < 5 s ago.
    if (timers.on_handshake_wanted(t)) driver.send_initiation(t);
    EXPECT_EQ(timers.handshake_attempts(), 0);
  }
  EXPECT_TRUE(driver.gave_up.empty());
  EXPECT_GT(driver.initiations.size(), size_t(kMaxTimerHandshakes) + 2);
  driver.run_until(t + seconds(200));
  EXPECT_EQ(driver.gave_up.size(), 1u);
}

// §6.5: data sent with nothing authenticated coming back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT
// (15 s) means the session is dead: start a new handshake.
TEST(Timers, NewHandshakeFifteenSecondsAfterUnansweredData) {
  Timers timers;
  Driver driver(timers);
  timers.on_data_sent(kT0);
  timers.on_data_sent(kT0 + seconds(7));  // a later send does not push the deadline
  EXPECT_EQ(timers.next_expiry(), kT0 + kKeepaliveTimeout + kRekeyTimeout);
  driver.run_until(kT0 + seconds(15) - std::chrono::nanoseconds(1));
  EXPECT_TRUE(driver.initiations.empty());
  driver.run_until(kT0 + seconds(15));
  ASSERT_EQ(driver.initiations.size(), 1u);
  EXPECT_EQ(driver.initiations[0].at, kT0 + seconds(15));
  EXPECT_EQ(timers.handshake_attempts(), 0);
}

TEST(Timers, NewHandshakeJitterIsAdded) {
  Timers timers;
  timers.on_data_sent(kT0, std::chrono::milliseconds(250));
  EXPECT_EQ(timers.next_expiry(), kT0 + seconds(15) + std::chrono::milliseconds(250));
}

TEST(Timers, AnyAuthenticatedReplyCancelsNewHandshake) {
  Timers timers;
  Driver driver(timers);
  timers.on_data_sent(kT0);
  timers.on_any_authenticated_packet_received(kT0 + seconds(14));
  driver.run_until(kT0 + seconds(120));
  EXPECT_TRUE(driver.initiations.empty());
  // The next unanswered send arms it afresh.
  timers.on_data_sent(kT0 + seconds(120));
  EXPECT_EQ(timers.next_expiry(), kT0 + seconds(135));
}

// §6.5: data received with nothing sent back for KEEPALIVE_TIMEOUT (10 s): send a keepalive.
TEST(Timers, KeepaliveAfterTenSecondsOfOneWayTraffic) {
  Timers timers;
  Driver driver(timers);
  timers.on_data_received(kT0);
  driver.run_until(kT0 + kKeepaliveTimeout - std::chrono::nanoseconds(1));
  EXPECT_TRUE(driver.keepalives.empty());
  driver.run_until(kT0 + seconds(100));
  ASSERT_EQ(driver.keepalives.size(), 1u);
  EXPECT_EQ(driver.keepalives[0], kT0 + kKeepaliveTimeout);
}

TEST(Timers, OwnTrafficCancelsKeepalive) {
  Timers timers;
  Driver driver(timers);
  timers.on_data_received(kT0);
  timers.on_any_authenticated_packet_sent(kT0 + seconds(4));  // our data went back
  driver.run_until(kT0 + seconds(100));
  EXPECT_TRUE(driver.keepalives.empty());
}

// wireguard-go expiredSendKeepalive / kernel timer_need_another_keepalive: more data arrived
// while the keepalive was pending, so one more keepalive follows the first.
TEST(Timers, NeedAnotherKeepalive) {
  Timers timers;
  Driver driver(timers);
  timers.on_data_received(kT0);
  timers.on_data_received(kT0 + seconds(3));
  EXPECT_EQ(timers.next_expiry(), kT0 + seconds(10));  // the second does not push it
  driver.run_until(kT0 + seconds(100));
  ASSERT_EQ(driver.keepalives.size(), 2u);
  EXPECT_EQ(driver.keepalives[0], kT0 + seconds(10));
  EXPECT_EQ(driver.keepalives[1], kT0 + seconds(20));
}

TEST(Timers, NeedAnotherKeepaliveCancelledByLaterTraffic) {
  Timers timers;
  Driver driver(timers);
  timers.on_data_received(kT0);
  timers.on_data_received(kT0 + seconds(3));
  driver.run_until(kT0 + seconds(10));
  ASSERT_EQ(driver.keepalives.size(), 1u);
  timers.on_any_authenticated_packet_sent(kT0 + seconds(12));  // real data went back
  driver.run_until(kT0 + seconds(100));
  EXPECT_EQ(driver.keepalives.size(), 1u);
}

// wg(8) PersistentKeepalive: a keepalive every N s after the last authenticated traversal.
TEST(Timers, PersistentKeepaliveInterval) {
  Timers timers(seconds(25));
  Driver driver(timers);
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());  // nothing until the first traversal
  timers.on_any_authenticated_packet_traversal(kT0);
  driver.run_until(kT0 + seconds(100));
  ASSERT_EQ(driver.keepalives.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(driver.keepalives[i], kT0 + seconds(25) * (i + 1));

  // Traffic in between restarts the interval.
  timers.on_any_authenticated_packet_traversal(kT0 + seconds(110));
  driver.run_until(kT0 + seconds(134));
  EXPECT_EQ(driver.keepalives.size(), 4u);
  driver.run_until(kT0 + seconds(135));
  EXPECT_EQ(driver.keepalives.size(), 5u);
}

TEST(Timers, PersistentKeepaliveOffArmsNothing) {
  Timers timers;
  timers.on_any_authenticated_packet_traversal(kT0);
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
}

TEST(Timers, SetPersistentKeepalive) {
  Timers timers;
  Driver driver(timers);
  // Turning it on sends one at once (kernel set.c, wireguard-go uapi), then every interval.
  timers.set_persistent_keepalive(seconds(15), kT0);
  EXPECT_EQ(timers.persistent_keepalive(), seconds(15));
  EXPECT_EQ(timers.next_expiry(), kT0);
  driver.run_until(kT0 + seconds(31));
  ASSERT_EQ(driver.keepalives.size(), 3u);
  EXPECT_EQ(driver.keepalives[0], kT0);
  EXPECT_EQ(driver.keepalives[2], kT0 + seconds(30));
  // Turning it off disarms it.
  timers.set_persistent_keepalive(seconds(0), kT0 + seconds(31));
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
  timers.on_any_authenticated_packet_traversal(kT0 + seconds(32));
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
}

// §6.3: with no new session for 3 × REJECT_AFTER_TIME (540 s), every key is wiped.
TEST(Timers, ZeroKeyMaterialAfterThreeRejectAfterTime) {
  Timers timers;
  Driver driver(timers);
  timers.on_session_derived(kT0);
  EXPECT_EQ(timers.next_expiry(), kT0 + seconds(540));
  timers.on_session_derived(kT0 + seconds(100));  // a newer session pushes it out
  driver.run_until(kT0 + seconds(639));
  EXPECT_TRUE(driver.zeroed.empty());
  driver.run_until(kT0 + seconds(1000));
  ASSERT_EQ(driver.zeroed.size(), 1u);
  EXPECT_EQ(driver.zeroed[0], kT0 + seconds(640));
}

TEST(Timers, GivingUpKeepsAnEarlierZeroingDeadline) {
  Timers timers;
  Driver driver(timers);
  timers.on_session_derived(kT0);
  driver.send_initiation(kT0 + seconds(1));
  driver.run_until(kT0 + seconds(200));
  ASSERT_EQ(driver.gave_up.size(), 1u);
  EXPECT_EQ(timers.next_expiry(), kT0 + seconds(540));
}

TEST(Timers, GivingUpCancelsPendingKeepalive) {
  Timers timers;
  Driver driver(timers);
  driver.send_initiation(kT0);
  driver.run_until(kT0 + seconds(99));
  ASSERT_TRUE(driver.gave_up.empty());
  ASSERT_EQ(driver.initiations.size(), size_t(kMaxTimerHandshakes) + 2);  // the last one
  // Data arrives on an old keypair after the last initiation, just before the cycle gives up;
  // the keepalive would be due after the give-up, which cancels it.
  timers.on_data_received(kT0 + seconds(99));
  driver.run_until(kT0 + seconds(200));
  ASSERT_EQ(driver.gave_up.size(), 1u);
  EXPECT_LT(driver.gave_up[0], kT0 + seconds(109));
  EXPECT_TRUE(driver.keepalives.empty());
}

// A late wake-up runs each due timer once, in deadline order, and re-arms from `now`.
TEST(Timers, LateExpireRunsEachDueTimerOnce) {
  Timers timers(seconds(5));
  timers.on_any_authenticated_packet_traversal(kT0);  // persistent at 5 s
  timers.on_data_received(kT0);                       // keepalive at 10 s
  timers.on_data_sent(kT0);                           // new handshake at 15 s
  const TimePoint late = kT0 + seconds(60);
  const TimerActions actions = timers.expire(late);
  EXPECT_TRUE(actions.send_keepalive);
  EXPECT_TRUE(actions.send_initiation);
  EXPECT_FALSE(actions.zero_key_material);
  EXPECT_FALSE(actions.handshake_gave_up);
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());  // the tunnel's sends re-arm, not expire()
  EXPECT_FALSE(timers.expire(late).any());
}

// Deadline order matters: a new-handshake timer due before the retransmission that would give
// up starts a fresh cycle first, as it would have on time, so the late wake-up does not give up.
TEST(Timers, LateExpireRunsTimersInDeadlineOrder) {
  Timers timers;
  Driver driver(timers);
  driver.send_initiation(kT0);
  driver.run_until(kT0 + seconds(85));
  timers.on_data_sent(kT0 + seconds(85));  // new handshake due at 100 s
  driver.run_until(kT0 + seconds(99));
  ASSERT_EQ(driver.initiations.size(), size_t(kMaxTimerHandshakes) + 2);
  ASSERT_EQ(timers.next_expiry(), kT0 + seconds(100));  // before the give-up at ~103 s
  const TimerActions actions = timers.expire(kT0 + seconds(104));
  EXPECT_TRUE(actions.send_initiation);
  EXPECT_FALSE(actions.handshake_gave_up);
  EXPECT_EQ(timers.handshake_attempts(), 1);
}

TEST(Timers, ExpireBeforeDeadlineDoesNothing) {
  Timers timers;
  timers.on_data_received(kT0);
  EXPECT_FALSE(timers.expire(kT0 + seconds(9)).any());
  EXPECT_EQ(timers.next_expiry(), kT0 + seconds(10));
}

TEST(Timers, EventsWithNothingArmedAreHarmless) {
  Timers timers;
  timers.on_any_authenticated_packet_sent(kT0);
  timers.on_any_authenticated_packet_received(kT0);
  timers.on_handshake_complete(kT0);
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
  EXPECT_EQ(timers.handshake_attempts(), 0);
  EXPECT_EQ(timers.last_handshake(), kT0);
}

TEST(Timers, StopDisarmsEverythingAndIgnoresLaterEvents) {
  Timers timers(seconds(25));
  timers.on_any_authenticated_packet_traversal(kT0);
  timers.on_data_received(kT0);
  timers.on_data_sent(kT0);
  timers.on_session_derived(kT0);
  timers.on_handshake_initiated(kT0, Duration::zero());
  ASSERT_NE(timers.next_expiry(), TimePoint::max());

  timers.stop();
  EXPECT_TRUE(timers.stopped());
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
  EXPECT_FALSE(timers.expire(kT0 + seconds(10'000)).any());

  const TimePoint t = kT0 + seconds(1);
  timers.on_any_authenticated_packet_traversal(t);
  timers.on_data_received(t);
  timers.on_data_sent(t);
  timers.on_session_derived(t);
  timers.on_handshake_initiated(t, Duration::zero());
  timers.set_persistent_keepalive(seconds(0), t);
  timers.set_persistent_keepalive(seconds(10), t);
  EXPECT_FALSE(timers.on_handshake_wanted(t + seconds(100)));
  EXPECT_EQ(timers.next_expiry(), TimePoint::max());
}

TEST(TimersDeathTest, JitterOutOfRangeIsABug) {
  Timers timers;
  EXPECT_DEATH(timers.on_handshake_initiated(kT0, kRekeyTimeoutJitterMax + Duration(1)),
               "valid_jitter");
  EXPECT_DEATH(timers.on_data_sent(kT0, -Duration(1)), "valid_jitter");
}

// §6.2–6.3: REKEY_AFTER_TIME (120 s) applies to the initiator's sending keypair only.
TEST(KeyLifetime, RekeyOnSendAfter120SecondsForInitiator) {
  const auto just_before = kT0 + kRekeyAfterTime - std::chrono::nanoseconds(1);
  EXPECT_FALSE(should_rekey_on_send(true, kT0, 0, just_before));
  EXPECT_TRUE(should_rekey_on_send(true, kT0, 0, kT0 + seconds(120)));
  EXPECT_FALSE(should_rekey_on_send(false, kT0, 0, kT0 + seconds(120)));
  EXPECT_FALSE(should_rekey_on_send(false, kT0, 0, kT0 + seconds(179)));
}

TEST(KeyLifetime, RekeyOnSendAfterMessagesForBothSides) {
  for (bool initiator : {true, false}) {
    EXPECT_FALSE(should_rekey_on_send(initiator, kT0, kRekeyAfterMessages - 1, kT0));
    EXPECT_TRUE(should_rekey_on_send(initiator, kT0, kRekeyAfterMessages, kT0));
  }
}

// §6.3: the initiator receiving on a keypair 165 s old (REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT
// − REKEY_TIMEOUT) starts a last-minute handshake, once.
TEST(KeyLifetime, RekeyOnReceiveAt165Seconds) {
  EXPECT_FALSE(
      should_rekey_on_receive(true, kT0, kT0 + seconds(165) - std::chrono::nanoseconds(1)));
  EXPECT_TRUE(should_rekey_on_receive(true, kT0, kT0 + seconds(165)));
  EXPECT_FALSE(should_rekey_on_receive(false, kT0, kT0 + seconds(170)));
}

TEST(KeyLifetime, LastMinuteHandshakeOncePerHandshake) {
  Timers timers;
  EXPECT_FALSE(timers.take_last_minute_handshake(true, kT0, kT0 + seconds(100)));
  EXPECT_TRUE(timers.take_last_minute_handshake(true, kT0, kT0 + seconds(166)));
  EXPECT_FALSE(timers.take_last_minute_handshake(true, kT0, kT0 + seconds(167)));
  timers.on_handshake_complete(kT0 + seconds(168));
  EXPECT_TRUE(timers.take_last_minute_handshake(true, kT0, kT0 + seconds(169)));
  EXPECT_FALSE(Timers().take_last_minute_handshake(false, kT0, kT0 + seconds(170)));
}

// §6.2: REJECT_AFTER_TIME (180 s) or REJECT_AFTER_MESSAGES ends a keypair for both directions.
TEST(KeyLifetime, RejectAfter180Seconds) {
  EXPECT_FALSE(keypair_expired(kT0, 0, kT0 + kRejectAfterTime - std::chrono::nanoseconds(1)));
  EXPECT_TRUE(keypair_expired(kT0, 0, kT0 + seconds(180)));
  EXPECT_TRUE(keypair_expired(kT0, 0, kT0 + seconds(10'000)));
}

TEST(KeyLifetime, RejectAfterMessages) {
  EXPECT_FALSE(keypair_expired(kT0, kRejectAfterMessages - 1, kT0));
  EXPECT_TRUE(keypair_expired(kT0, kRejectAfterMessages, kT0));
  EXPECT_TRUE(keypair_expired(kT0, UINT64_MAX, kT0));
}

// An initiator sending steadily: the rekey handshake starts at 120 s, the old keypair is
// refused from 180 s, and a key never lives longer than that without a new handshake.
TEST(KeyLifetime, SteadySenderRekeysAt120AndRejectsAt180) {
  Timers timers;
  Driver driver(timers);
  std::optional<TimePoint> rekey_at;
  std::optional<TimePoint> rejected_at;
  uint64_t counter = 0;
  for (int s = 0; s <= 200; ++s) {
    const TimePoint now = kT0 + seconds(s);
    driver.run_until(now);
    if (keypair_expired(kT0, counter, now)) {
      if (!rejected_at) rejected_at = now;
      continue;  // the session module refuses to encrypt
    }
    ++counter;
    if (should_rekey_on_send(true, kT0, counter, now) && timers.on_handshake_wanted(now)) {
      if (!rekey_at) rekey_at = now;
      driver.send_initiation(now);
    }
  }
  EXPECT_EQ(rekey_at, kT0 + seconds(120));
  EXPECT_EQ(rejected_at, kT0 + seconds(180));
  // Never answered: initiations paced by REKEY_TIMEOUT, never faster.
  for (size_t i = 1; i < driver.initiations.size(); ++i) {
    EXPECT_GE(driver.initiations[i].at - driver.initiations[i - 1].at, kRekeyTimeout);
  }
}

}  // namespace
}  // namespace slirpvpn::wireguard
