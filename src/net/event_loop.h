// SPDX-License-Identifier: MIT
// Single-threaded epoll event loop: fd readiness, one-shot timers, signals, cross-thread wake.
//
// Theory of operation
// -------------------
// One epoll instance. Each `run_once()`:
//   1. waits in epoll_wait for at most min(max_wait, time to the earliest timer), rounded UP
//      to the millisecond so a timer is never polled for early in a busy loop;
//   2. dispatches every ready fd of the batch to its IoHandler;
//   3. reads the clock once and fires every timer due at that instant (earliest first).
// A handler that wants work done "after this batch" schedules a timer at `now()`: it fires in
// step 3 of the same run_once. The slirp sessions use that to poll each instance at most once
// per wake-up, whatever number of its fds were ready.
//
// Registrations carry a generation in epoll_data, so an fd removed (and even re-added) by a
// callback earlier in the same batch gets no stale callback. An fd closed without `remove()`
// disappears from the kernel's epoll set by itself; `add()` of that number again then succeeds
// and replaces the stale entry.
//
// Timers live in an index-tracked binary min-heap over a slot table; ids carry a generation so
// a stale id (fired or cancelled) is harmless. Capacity is reserved up front and slots are
// recycled, so schedule/reschedule/cancel allocate nothing once the high-water mark is reached.
//
// A WaitHook (optional) runs just before and just after each wait: a consumer of a lock-free
// ring (net::PacketRing) drains it there and announces its sleep, so producers on other threads
// know when they must call wake().
//
// Thread-safety: everything runs on the thread that calls `run_once()`/`run()`, except
// `wake()`, which any thread may call (it writes to an eventfd).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "common/error.h"
#include "net/clock.h"

namespace slirpvpn::net {

// Receives readiness for an fd registered with EventLoop::add. `revents` are EPOLL* bits.
class IoHandler {
 public:
  virtual void on_io(int fd, uint32_t revents) noexcept = 0;

 protected:
  ~IoHandler() = default;
};

// Receives a due timer; `now` is the loop's clock reading for this pass (>= the deadline).
class TimerHandler {
 public:
  virtual void on_timer(TimePoint now) noexcept = 0;

 protected:
  ~TimerHandler() = default;
};

// Receives a signal delivered through the loop's signalfd.
class SignalHandler {
 public:
  virtual void on_signal(int signal_number) noexcept = 0;

 protected:
  ~SignalHandler() = default;
};

// Runs around the loop's wait (see the Theory of operation).
class WaitHook {
 public:
  // Before epoll_wait. False: there is work already, poll without blocking.
  virtual bool before_wait() noexcept = 0;
  // After epoll_wait returned, before any callback.
  virtual void after_wait() noexcept = 0;

 protected:
  ~WaitHook() = default;
};

// Identifies one scheduled timer; 0 is "no timer". Becomes stale once it fires or is cancelled.
using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

class EventLoop {
 public:
  // Creates the epoll instance and the wake eventfd. `timer_capacity` timers fit without
  // allocating (more still work, growing the tables once).
  static Expected<EventLoop> create(std::size_t timer_capacity = 1024);

  EventLoop(EventLoop&&) noexcept;
  EventLoop& operator=(EventLoop&&) = delete;
  EventLoop(const EventLoop&) = delete;
  ~EventLoop();

  // Registers `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLET, ...; level-triggered unless
  // EPOLLET). `handler` is not owned and must outlive the registration. An fd already
  // registered (and still open) is an error (EEXIST).
  Expected<void> add(int fd, uint32_t events, IoHandler* handler);
  // Changes the events of a registered fd. ENOENT when the fd is not registered here or the
  // kernel forgot it (closed and reopened under the same number); the entry is then dropped.
  Expected<void> modify(int fd, uint32_t events);
  // Unregisters `fd`; pending events of this batch for it are not dispatched. Unknown fds are
  // ignored; an fd already closed is fine (the kernel dropped it with the close).
  void remove(int fd) noexcept;
  // The handler registered for `fd`, or nullptr.
  IoHandler* handler_of(int fd) const noexcept;

  // One-shot timer at `when` (in the past: fires on the next pass). Handler not owned.
  TimerId schedule(TimePoint when, TimerHandler* handler);
  // Moves a pending timer; false (and nothing done) when `id` already fired or was cancelled.
  bool reschedule(TimerId id, TimePoint when) noexcept;
  // Cancels a pending timer; stale ids and kNoTimer are ignored.
  void cancel(TimerId id) noexcept;
  // True while `id` is scheduled and has not fired.
  bool pending(TimerId id) const noexcept;

  // Blocks `signals` for the calling thread and delivers them through a signalfd to `handler`.
  // Call before starting other threads so they inherit the mask (a signal is otherwise
  // delivered to a thread that does not block it). The mask stays blocked after destruction.
  // A second call replaces the set and the handler.
  Expected<void> watch_signals(std::initializer_list<int> signals, SignalHandler* handler);

  // Installs (or with nullptr removes) the hook; not owned.
  void set_wait_hook(WaitHook* hook) noexcept { wait_hook_ = hook; }

  // One wait-dispatch-timers pass, waiting at most `max_wait` (0: poll without blocking).
  // Returns the number of callbacks made. EINTR is not an error (returns 0).
  Expected<std::size_t> run_once(Duration max_wait);
  // run_once until stop(); returns the first error.
  Expected<void> run();
  // Makes run() return after the current pass. Loop thread only; from another thread, set
  // your own flag and call wake().
  void stop() noexcept { stop_ = true; }
  // Interrupts a blocking wait; safe from any thread and from signal handlers.
  void wake() const noexcept;

  // The clock reading taken at the end of the last wait (cheap, for hot paths).
  TimePoint now() const noexcept { return now_; }

 private:
  struct Registration {
    IoHandler* handler = nullptr;
    uint32_t generation = 0;
  };
  struct TimerSlot {
    TimePoint when{};
    TimerHandler* handler = nullptr;
    uint32_t generation = 1;
    uint32_t heap_index = kNotInHeap;  // kNotInHeap when free
  };
  static constexpr uint32_t kNotInHeap = UINT32_MAX;

  EventLoop(int epoll_fd, int wake_fd, std::size_t timer_capacity);

  TimerSlot* live_slot(TimerId id) noexcept;
  const TimerSlot* live_slot(TimerId id) const noexcept;
  void heap_swap(uint32_t a, uint32_t b) noexcept;
  void sift_up(uint32_t index) noexcept;
  void sift_down(uint32_t index) noexcept;
  void heap_remove(uint32_t index) noexcept;
  void release_slot(uint32_t slot) noexcept;
  std::size_t fire_timers() noexcept;
  void drain_wake() noexcept;
  void drain_signals() noexcept;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int signal_fd_ = -1;
  SignalHandler* signal_handler_ = nullptr;
  WaitHook* wait_hook_ = nullptr;
  bool stop_ = false;
  TimePoint now_{};

  std::vector<Registration> registrations_;  // indexed by fd
  uint32_t next_generation_ = 1;
  std::vector<epoll_event> events_;

  std::vector<TimerSlot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> heap_;  // slot indices, min-heap on slots_[i].when
};

}  // namespace slirpvpn::net
