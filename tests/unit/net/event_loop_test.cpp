// SPDX-License-Identifier: MIT
// EventLoop: fd readiness, timer order/cancel/reschedule, removal inside a batch, wake, signals.
#include "net/event_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <thread>
#include <vector>

namespace slirpvpn::net {
namespace {

using namespace std::chrono_literals;

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds), 0); }
  ~SocketPair() {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
  void send_byte() { ASSERT_EQ(write(fds[1], "x", 1), 1); }
};

struct RecordingIo : IoHandler {
  std::vector<int> fds;
  std::function<void(int)> action;
  void on_io(int fd, uint32_t revents) noexcept override {
    EXPECT_NE(revents & EPOLLIN, 0u);
    fds.push_back(fd);
    char buffer[16];
    [[maybe_unused]] auto n = read(fd, buffer, sizeof(buffer));
    if (action) action(fd);
  }
};

struct RecordingTimer : TimerHandler {
  std::vector<int>* order = nullptr;
  int name = 0;
  int fired = 0;
  std::function<void()> action;
  void on_timer(TimePoint) noexcept override {
    ++fired;
    if (order != nullptr) order->push_back(name);
    if (action) action();
  }
};

EventLoop make_loop() {
  auto loop = EventLoop::create();
  EXPECT_TRUE(loop.has_value());
  return std::move(*loop);
}

TEST(EventLoop, DispatchesReadableFdOnlyWhenReady) {
  EventLoop loop = make_loop();
  SocketPair pair;
  RecordingIo io;
  ASSERT_TRUE(loop.add(pair.fds[0], EPOLLIN, &io).has_value());
  EXPECT_EQ(loop.handler_of(pair.fds[0]), &io);

  ASSERT_EQ(*loop.run_once(0ms), 0u);
  EXPECT_TRUE(io.fds.empty());

  pair.send_byte();
  ASSERT_EQ(*loop.run_once(100ms), 1u);
  ASSERT_EQ(io.fds.size(), 1u);
  EXPECT_EQ(io.fds[0], pair.fds[0]);

  // A second add of the same open fd is refused.
  EXPECT_FALSE(loop.add(pair.fds[0], EPOLLIN, &io).has_value());

  // After remove, readiness is not reported.
  loop.remove(pair.fds[0]);
  EXPECT_EQ(loop.handler_of(pair.fds[0]), nullptr);
  pair.send_byte();
  EXPECT_EQ(*loop.run_once(0ms), 0u);
  EXPECT_EQ(io.fds.size(), 1u);
}

TEST(EventLoop, ModifySwitchesInterest) {
  EventLoop loop = make_loop();
  SocketPair pair;
  RecordingIo io;
  ASSERT_TRUE(loop.add(pair.fds[0], 0, &io).has_value());
  pair.send_byte();
  EXPECT_EQ(*loop.run_once(0ms), 0u);
  ASSERT_TRUE(loop.modify(pair.fds[0], EPOLLIN).has_value());
  EXPECT_EQ(*loop.run_once(100ms), 1u);
  EXPECT_FALSE(loop.modify(12345, EPOLLIN).has_value());
}

TEST(EventLoop, FdRemovedEarlierInBatchGetsNoCallback) {
  EventLoop loop = make_loop();
  SocketPair a, b;
  RecordingIo io;
  // Whichever fires first removes the other; exactly one callback must happen.
  io.action = [&](int fd) { loop.remove(fd == a.fds[0] ? b.fds[0] : a.fds[0]); };
  ASSERT_TRUE(loop.add(a.fds[0], EPOLLIN, &io).has_value());
  ASSERT_TRUE(loop.add(b.fds[0], EPOLLIN, &io).has_value());
  a.send_byte();
  b.send_byte();
  EXPECT_EQ(*loop.run_once(100ms), 1u);
  EXPECT_EQ(io.fds.size(), 1u);
}

TEST(EventLoop, FdRemovedAndReaddedInBatchGetsNoStaleCallback) {
  EventLoop loop = make_loop();
  SocketPair a, b;
  RecordingIo first, second;
  // The first callback re-registers the other fd under a new handler: the batch's event for
  // the old registration must not reach the new handler.
  first.action = [&](int fd) {
    int other = fd == a.fds[0] ? b.fds[0] : a.fds[0];
    loop.remove(other);
    ASSERT_TRUE(loop.add(other, EPOLLIN, &second).has_value());
  };
  ASSERT_TRUE(loop.add(a.fds[0], EPOLLIN, &first).has_value());
  ASSERT_TRUE(loop.add(b.fds[0], EPOLLIN, &first).has_value());
  a.send_byte();
  b.send_byte();
  EXPECT_EQ(*loop.run_once(100ms), 1u);
  EXPECT_EQ(first.fds.size(), 1u);
  EXPECT_TRUE(second.fds.empty());
  // Still readable: the new registration reports it on the next pass.
  EXPECT_EQ(*loop.run_once(100ms), 1u);
  EXPECT_EQ(second.fds.size(), 1u);
}

TEST(EventLoop, ClosedFdNumberCanBeRegisteredAgain) {
  EventLoop loop = make_loop();
  RecordingIo io;
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds), 0);
  ASSERT_TRUE(loop.add(fds[0], EPOLLIN, &io).has_value());
  int number = fds[0];
  close(fds[0]);  // without remove(): the kernel drops it from epoll
  close(fds[1]);
  SocketPair pair;  // likely reuses the number
  ASSERT_EQ(pair.fds[0], number);
  EXPECT_FALSE(loop.modify(number, EPOLLIN).has_value());  // stale entry is detected
  ASSERT_TRUE(loop.add(number, EPOLLIN, &io).has_value());
  pair.send_byte();
  EXPECT_EQ(*loop.run_once(100ms), 1u);
}

TEST(EventLoop, TimersFireInDeadlineOrder) {
  EventLoop loop = make_loop();
  std::vector<int> order;
  RecordingTimer t1, t2, t3;
  t1.order = t2.order = t3.order = &order;
  t1.name = 1;
  t2.name = 2;
  t3.name = 3;
  TimePoint now = Clock::now();
  loop.schedule(now + 30ms, &t3);
  loop.schedule(now + 10ms, &t1);
  loop.schedule(now + 20ms, &t2);
  auto deadline = Clock::now() + 2s;
  while (order.size() < 3 && Clock::now() < deadline) ASSERT_TRUE(loop.run_once(1s).has_value());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(Clock::now(), now + 30ms);
}

TEST(EventLoop, RunOnceWaitsForTimerNotLonger) {
  EventLoop loop = make_loop();
  RecordingTimer timer;
  TimePoint start = Clock::now();
  TimerId id = loop.schedule(start + 20ms, &timer);
  EXPECT_TRUE(loop.pending(id));
  ASSERT_TRUE(loop.run_once(10s).has_value());
  EXPECT_EQ(timer.fired, 1);
  EXPECT_FALSE(loop.pending(id));
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_FALSE(loop.reschedule(id, start));  // fired ids are stale
}

TEST(EventLoop, CancelAndReschedule) {
  EventLoop loop = make_loop();
  std::vector<int> order;
  RecordingTimer a, b, c;
  a.order = b.order = c.order = &order;
  a.name = 1;
  b.name = 2;
  c.name = 3;
  TimePoint now = Clock::now();
  TimerId ia = loop.schedule(now + 1ms, &a);
  TimerId ib = loop.schedule(now + 2ms, &b);
  loop.schedule(now + 3ms, &c);
  loop.cancel(ia);
  loop.cancel(ia);  // twice is harmless
  EXPECT_FALSE(loop.pending(ia));
  EXPECT_TRUE(loop.reschedule(ib, now + 5ms));
  std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(loop.run_once(0ms).has_value());
  EXPECT_EQ(order, (std::vector<int>{3, 2}));
  EXPECT_EQ(a.fired, 0);
}

TEST(EventLoop, TimerCancelledByEarlierTimerInSamePassDoesNotFire) {
  EventLoop loop = make_loop();
  RecordingTimer first, second;
  TimePoint now = Clock::now();
  loop.schedule(now, &first);
  TimerId id2 = loop.schedule(now + 1us, &second);
  first.action = [&] { loop.cancel(id2); };
  std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(loop.run_once(0ms).has_value());
  EXPECT_EQ(first.fired, 1);
  EXPECT_EQ(second.fired, 0);
}

TEST(EventLoop, TimerReArmingAtNowDoesNotSpin) {
  EventLoop loop = make_loop();
  RecordingTimer timer;
  timer.action = [&] { loop.schedule(loop.now(), &timer); };
  loop.schedule(Clock::now(), &timer);
  ASSERT_TRUE(loop.run_once(0ms).has_value());
  EXPECT_EQ(timer.fired, 1);
}

TEST(EventLoop, ManyTimersReuseSlots) {
  EventLoop loop = make_loop();
  RecordingTimer timer;
  TimePoint now = Clock::now();
  for (int round = 0; round < 3; ++round) {
    std::vector<TimerId> ids;
    for (int i = 0; i < 2000; ++i)
      ids.push_back(loop.schedule(now + std::chrono::hours(1), &timer));
    for (int i = 0; i < 2000; i += 2) loop.cancel(ids[std::size_t(i)]);
    for (int i = 1; i < 2000; i += 2) EXPECT_TRUE(loop.reschedule(ids[std::size_t(i)], now));
    ASSERT_TRUE(loop.run_once(0ms).has_value());
  }
  EXPECT_EQ(timer.fired, 3000);
}

TEST(EventLoop, WakeFromAnotherThreadInterruptsWait) {
  EventLoop loop = make_loop();
  TimePoint start = Clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    loop.wake();
  });
  auto result = loop.run_once(10s);
  waker.join();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 1u);
  EXPECT_LT(Clock::now() - start, 5s);
}

// A ring consumer's hook: before_wait() false means "work pending": the wait must not block.
struct CountingHook : WaitHook {
  bool may_block = true;
  int before = 0;
  int after = 0;
  bool before_wait() noexcept override {
    ++before;
    return may_block;
  }
  void after_wait() noexcept override { ++after; }
};

TEST(EventLoop, WaitHookRunsAroundEachWaitAndCanForbidBlocking) {
  EventLoop loop = make_loop();
  CountingHook hook;
  loop.set_wait_hook(&hook);
  // With the hook's consent the wait is real (150 ms), so the next check can fail.
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.run_once(150ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 140ms);
  hook.may_block = false;
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.run_once(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(hook.before, 2);
  EXPECT_EQ(hook.after, 2);
  loop.set_wait_hook(nullptr);
}

struct StopOnSignal : SignalHandler {
  EventLoop* loop = nullptr;
  std::vector<int> received;
  void on_signal(int signal_number) noexcept override {
    received.push_back(signal_number);
    loop->stop();
  }
};

TEST(EventLoop, SignalsArriveThroughSignalfdAndStopRun) {
  EventLoop loop = make_loop();
  StopOnSignal handler;
  handler.loop = &loop;
  ASSERT_TRUE(loop.watch_signals({SIGUSR1, SIGHUP}, &handler).has_value());
  // raise() targets this thread, which blocks the signal: it waits for the signalfd.
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(loop.run().has_value());
  EXPECT_EQ(handler.received, (std::vector<int>{SIGUSR1}));
  ASSERT_EQ(raise(SIGHUP), 0);
  ASSERT_TRUE(loop.run_once(1s).has_value());
  EXPECT_EQ(handler.received, (std::vector<int>{SIGUSR1, SIGHUP}));
}

}  // namespace
}  // namespace slirpvpn::net
