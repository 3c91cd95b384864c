// SPDX-License-Identifier: MIT
// epoll event loop: registrations with generations, index-tracked timer heap, signalfd, eventfd.
#include "net/event_loop.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "common/assert.h"

namespace slirpvpn::net {
namespace {

// epoll_data: generation in the high half, fd in the low half. Generation 0 marks the loop's
// own fds (wake eventfd, signalfd), which never appear in registrations_.
constexpr uint64_t pack(int fd, uint32_t generation) {
  return (uint64_t(generation) << 32) | uint32_t(fd);
}
constexpr int unpack_fd(uint64_t data) {
  return int(uint32_t(data));
}
constexpr uint32_t unpack_generation(uint64_t data) {
  return uint32_t(data >> 32);
}

// Timer ids: slot index + 1 in the low half (so 0 stays "no timer"), generation in the high.
constexpr TimerId make_id(uint32_t slot, uint32_t generation) {
  return (uint64_t(generation) << 32) | (uint64_t(slot) + 1);
}

// epoll_wait batch size; more ready fds are simply returned by the next wait.
constexpr std::size_t kMaxEvents = 256;

}  // namespace

Expected<EventLoop> EventLoop::create(std::size_t timer_capacity) {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return fail_errno("epoll_create1");
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    auto error = fail_errno("eventfd");
    close(epoll_fd);
    return error;
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = pack(wake_fd, 0);
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &event) != 0) {
    auto error = fail_errno("epoll_ctl", "add eventfd");
    close(wake_fd);
    close(epoll_fd);
    return error;
  }
  return EventLoop(epoll_fd, wake_fd, timer_capacity);
}

EventLoop::EventLoop(int epoll_fd, int wake_fd, std::size_t timer_capacity)
    : epoll_fd_(epoll_fd), wake_fd_(wake_fd), now_(Clock::now()) {
  events_.resize(kMaxEvents);
  registrations_.reserve(1024);
  slots_.reserve(timer_capacity);
  free_slots_.reserve(timer_capacity);
  heap_.reserve(timer_capacity);
}

EventLoop::EventLoop(EventLoop&& other) noexcept
    : epoll_fd_(std::exchange(other.epoll_fd_, -1)),
      wake_fd_(std::exchange(other.wake_fd_, -1)),
      signal_fd_(std::exchange(other.signal_fd_, -1)),
      signal_handler_(other.signal_handler_),
      wait_hook_(other.wait_hook_),
      stop_(other.stop_),
      now_(other.now_),
      registrations_(std::move(other.registrations_)),
      next_generation_(other.next_generation_),
      events_(std::move(other.events_)),
      slots_(std::move(other.slots_)),
      free_slots_(std::move(other.free_slots_)),
      heap_(std::move(other.heap_)) {}

EventLoop::~EventLoop() {
  if (signal_fd_ >= 0) close(signal_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

// ---- fds -------------------------------------------------------------------------------------

Expected<void> EventLoop::add(int fd, uint32_t events, IoHandler* handler) {
  SLIRPVPN_ASSERT(fd >= 0 && handler != nullptr);
  if (std::size_t(fd) >= registrations_.size()) registrations_.resize(std::size_t(fd) + 1);
  uint32_t generation = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;  // 0 is reserved for the loop's own fds
  epoll_event event{};
  event.events = events;
  event.data.u64 = pack(fd, generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return fail_errno("epoll_ctl", "add fd " + std::to_string(fd));
  }
  // An old entry here belonged to an fd closed without remove(): the kernel had already
  // dropped it, which is why the ADD succeeded.
  registrations_[std::size_t(fd)] = Registration{handler, generation};
  return {};
}

Expected<void> EventLoop::modify(int fd, uint32_t events) {
  if (fd < 0 || std::size_t(fd) >= registrations_.size() ||
      registrations_[std::size_t(fd)].handler == nullptr) {
    return fail("epoll_ctl", "modify unregistered fd " + std::to_string(fd), ENOENT);
  }
  Registration& registration = registrations_[std::size_t(fd)];
  epoll_event event{};
  event.events = events;
  event.data.u64 = pack(fd, registration.generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) {
    int error_number = errno;
    if (error_number == ENOENT || error_number == EBADF) registration = Registration{};
    return fail("epoll_ctl", "modify fd " + std::to_string(fd), error_number);
  }
  return {};
}

void EventLoop::remove(int fd) noexcept {
  if (fd < 0 || std::size_t(fd) >= registrations_.size()) return;
  Registration& registration = registrations_[std::size_t(fd)];
  if (registration.handler == nullptr) return;
  registration = Registration{};
  // ENOENT/EBADF: the fd was closed already and the kernel dropped it; nothing to undo.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

IoHandler* EventLoop::handler_of(int fd) const noexcept {
  if (fd < 0 || std::size_t(fd) >= registrations_.size()) return nullptr;
  return registrations_[std::size_t(fd)].handler;
}

// ---- timers ----------------------------------------------------------------------------------

EventLoop::TimerSlot* EventLoop::live_slot(TimerId id) noexcept {
  return const_cast<TimerSlot*>(std::as_const(*this).live_slot(id));
}

const EventLoop::TimerSlot* EventLoop::live_slot(TimerId id) const noexcept {
  uint64_t index_plus_one = uint32_t(id);
  if (index_plus_one == 0 || index_plus_one > slots_.size()) return nullptr;
  const TimerSlot& slot = slots_[index_plus_one - 1];
  if (slot.generation != uint32_t(id >> 32) || slot.heap_index == kNotInHeap) return nullptr;
  return &slot;
}

void EventLoop::heap_swap(uint32_t a, uint32_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  slots_[heap_[a]].heap_index = a;
  slots_[heap_[b]].heap_index = b;
}

void EventLoop::sift_up(uint32_t index) noexcept {
  while (index > 0) {
    uint32_t parent = (index - 1) / 2;
    if (!(slots_[heap_[index]].when < slots_[heap_[parent]].when)) break;
    heap_swap(index, parent);
    index = parent;
  }
}

void EventLoop::sift_down(uint32_t index) noexcept {
  const uint32_t size = uint32_t(heap_.size());
  for (;;) {
    uint32_t smallest = index;
    uint32_t left = 2 * index + 1;
    uint32_t right = left + 1;
    if (left < size && slots_[heap_[left]].when < slots_[heap_[smallest]].when) smallest = left;
    if (right < size && slots_[heap_[right]].when < slots_[heap_[smallest]].when) smallest = right;
    if (smallest == index) return;
    heap_swap(index, smallest);
    index = smallest;
  }
}

void EventLoop::heap_remove(uint32_t index) noexcept {
  uint32_t last = uint32_t(heap_.size() - 1);
  if (index != last) {
    heap_swap(index, last);
    heap_.pop_back();
    sift_down(index);
    sift_up(index);
  } else {
    heap_.pop_back();
  }
}

void EventLoop::release_slot(uint32_t slot) noexcept {
  TimerSlot& timer = slots_[slot];
  timer.heap_index = kNotInHeap;
  timer.handler = nullptr;
  if (++timer.generation == 0) timer.generation = 1;
  free_slots_.push_back(slot);  // capacity reserved for every slot ever made: no allocation
}

TimerId EventLoop::schedule(TimePoint when, TimerHandler* handler) {
  SLIRPVPN_ASSERT(handler != nullptr);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = uint32_t(slots_.size());
    slots_.emplace_back();
    if (free_slots_.capacity() < slots_.size()) free_slots_.reserve(slots_.capacity());
  }
  TimerSlot& timer = slots_[slot];
  timer.when = when;
  timer.handler = handler;
  timer.heap_index = uint32_t(heap_.size());
  heap_.push_back(slot);
  sift_up(timer.heap_index);
  return make_id(slot, timer.generation);
}

bool EventLoop::reschedule(TimerId id, TimePoint when) noexcept {
  TimerSlot* timer = live_slot(id);
  if (timer == nullptr) return false;
  TimePoint old = timer->when;
  timer->when = when;
  if (when < old) {
    sift_up(timer->heap_index);
  } else {
    sift_down(timer->heap_index);
  }
  return true;
}

void EventLoop::cancel(TimerId id) noexcept {
  TimerSlot* timer = live_slot(id);
  if (timer == nullptr) return;
  uint32_t slot = uint32_t(uint32_t(id) - 1);
  heap_remove(timer->heap_index);
  release_slot(slot);
}

bool EventLoop::pending(TimerId id) const noexcept {
  return live_slot(id) != nullptr;
}

std::size_t EventLoop::fire_timers() noexcept {
  now_ = Clock::now();
  // Bounded by the count at the start: a handler that re-arms at `now` cannot spin this pass.
  std::size_t budget = heap_.size();
  std::size_t fired = 0;
  while (budget-- > 0 && !heap_.empty()) {
    uint32_t slot = heap_.front();
    TimerSlot& timer = slots_[slot];
    if (timer.when > now_) break;
    TimerHandler* handler = timer.handler;
    heap_remove(0);
    release_slot(slot);
    handler->on_timer(now_);
    ++fired;
  }
  return fired;
}

// ---- signals and wake-up ---------------------------------------------------------------------

Expected<void> EventLoop::watch_signals(std::initializer_list<int> signals,
                                        SignalHandler* handler) {
  SLIRPVPN_ASSERT(handler != nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  for (int signal_number : signals) sigaddset(&mask, signal_number);
  if (int rc = pthread_sigmask(SIG_BLOCK, &mask, nullptr); rc != 0) {
    return fail("pthread_sigmask", {}, rc);
  }
  int fd = signalfd(signal_fd_, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return fail_errno("signalfd");
  if (signal_fd_ < 0) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = pack(fd, 0);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      auto error = fail_errno("epoll_ctl", "add signalfd");
      close(fd);
      return error;
    }
    signal_fd_ = fd;
  }
  signal_handler_ = handler;
  return {};
}

void EventLoop::drain_signals() noexcept {
  signalfd_siginfo info[8];
  for (;;) {
    ssize_t n = read(signal_fd_, info, sizeof(info));
    if (n <= 0) return;
    for (std::size_t i = 0; i < std::size_t(n) / sizeof(info[0]); ++i) {
      if (signal_handler_ != nullptr) signal_handler_->on_signal(int(info[i].ssi_signo));
    }
  }
}

void EventLoop::wake() const noexcept {
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void EventLoop::drain_wake() noexcept {
  uint64_t value;
  [[maybe_unused]] ssize_t n = read(wake_fd_, &value, sizeof(value));
}

// ---- running ---------------------------------------------------------------------------------

Expected<std::size_t> EventLoop::run_once(Duration max_wait) {
  Duration wait = std::max(max_wait, Duration::zero());
  if (wait_hook_ != nullptr && !wait_hook_->before_wait()) wait = Duration::zero();
  // The hook may have stopped the loop (a command from another thread): do not block then.
  if (stop_) wait = Duration::zero();
  if (!heap_.empty()) {
    Duration until_timer = slots_[heap_.front()].when - Clock::now();
    wait = std::min(wait, std::max(until_timer, Duration::zero()));
  }
  // Round up: waking before the deadline would only make us wait again with timeout 0.
  auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  int timeout_ms = int(std::min<int64_t>(wait_ms, INT32_MAX));

  int n = epoll_wait(epoll_fd_, events_.data(), int(events_.size()), timeout_ms);
  if (wait_hook_ != nullptr) wait_hook_->after_wait();
  if (n < 0) {
    if (errno == EINTR) return std::size_t(0);
    return fail_errno("epoll_wait");
  }
  now_ = Clock::now();
  std::size_t callbacks = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t data = events_[std::size_t(i)].data.u64;
    const int fd = unpack_fd(data);
    const uint32_t generation = unpack_generation(data);
    if (generation == 0) {
      if (fd == wake_fd_) drain_wake();
      if (fd == signal_fd_) drain_signals();
      ++callbacks;
      continue;
    }
    // Looked up per event: an earlier callback of this batch may have removed or replaced it.
    if (std::size_t(fd) >= registrations_.size()) continue;
    const Registration& registration = registrations_[std::size_t(fd)];
    if (registration.handler == nullptr || registration.generation != generation) continue;
    registration.handler->on_io(fd, events_[std::size_t(i)].events);
    ++callbacks;
  }
  callbacks += fire_timers();
  return callbacks;
}

Expected<void> EventLoop::run() {
  stop_ = false;
  while (!stop_) {
    auto result = run_once(std::chrono::hours(1));
    if (!result) return tl::unexpected(result.error());
  }
  return {};
}

}  // namespace slirpvpn::net
