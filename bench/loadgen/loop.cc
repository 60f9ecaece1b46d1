// epoll + timerfd. Sockets are edge-triggered (no epoll_ctl per write); the timer is the only
// level-triggered entry and is re-armed only when a nearer deadline is asked for.
#include "loop.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "clock.h"

namespace sockudo::loadgen {
namespace {
constexpr int64_t kMaxWaitNs = 100 * kNsPerMs;
constexpr int kMaxEvents = 512;
constexpr size_t kRecvBuffer = 256 * 1024;
}  // namespace

Loop::Loop() : recv_(kRecvBuffer) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epfd_ < 0 || timerfd_ < 0) throw std::runtime_error(std::string("epoll/timerfd: ") + strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the timer
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, timerfd_, &ev) != 0) {
    throw std::runtime_error(std::string("epoll_ctl(timerfd): ") + strerror(errno));
  }
}

Loop::~Loop() {
  if (timerfd_ >= 0) close(timerfd_);
  if (epfd_ >= 0) close(epfd_);
}

bool Loop::add(int fd, IoHandler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Loop::arm_timer(int64_t at_ns) {
  itimerspec its{};
  its.it_value.tv_sec = at_ns / kNsPerSec;
  its.it_value.tv_nsec = at_ns % kNsPerSec;
  timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &its, nullptr);
  armed_ns_ = at_ns;
}

void Loop::run_once(int64_t deadline_ns) {
  const int64_t now = now_ns();
  int timeout_ms = -1;
  if (deadline_ns > 0 && deadline_ns <= now) {
    timeout_ms = 0;
  } else {
    const int64_t target = deadline_ns > 0 ? std::min(deadline_ns, now + kMaxWaitNs) : now + kMaxWaitNs;
    // An earlier pending expiry only wakes us sooner, which callers tolerate; keep it.
    if (armed_ns_ <= now || armed_ns_ > target) arm_timer(target);
  }
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("epoll_wait: ") + strerror(errno));
  for (int i = 0; i < n; ++i) {
    auto* h = static_cast<IoHandler*>(events[i].data.ptr);
    if (h == nullptr) {
      uint64_t expirations;
      while (read(timerfd_, &expirations, sizeof expirations) > 0) {
      }
      armed_ns_ = 0;
      continue;
    }
    h->on_io(events[i].events);
  }
  // Flush what this turn queued; a flush may queue more (a close after an error), so loop.
  while (!dirty_.empty()) {
    flushing_.swap(dirty_);
    for (Flushable* f : flushing_) f->flush();
    flushing_.clear();
  }
}

}  // namespace sockudo::loadgen
