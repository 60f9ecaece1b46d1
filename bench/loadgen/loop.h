// The single-threaded event loop: edge-triggered epoll over non-blocking sockets, one timerfd
// for sub-millisecond deadlines, one shared receive buffer, and a per-turn flush list so that
// everything queued for a socket during one turn leaves in one writev.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "histogram.h"

namespace sockudo::loadgen {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_io(uint32_t events) = 0;
};

class Flushable {
 public:
  virtual ~Flushable() = default;
  virtual void flush() = 0;
};

// Connection-state counters every scenario reads (kept by Conn as it changes state).
struct LoopStats {
  uint64_t opened = 0;         // handshakes completed
  uint64_t failed_open = 0;    // connections that closed before their handshake completed
  uint64_t closed = 0;         // open connections that closed since (either side, any reason)
  Histogram handshake_ns;      // connect() .. verified 101
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Registers a socket for EPOLLIN | EPOLLOUT | EPOLLRDHUP, edge-triggered.
  bool add(int fd, IoHandler* handler);

  // Waits for I/O, at most until `deadline_ns` (now_ns() clock; 0 = no deadline) and never
  // longer than 100 ms, dispatches the events, then flushes every socket that queued output.
  void run_once(int64_t deadline_ns = 0);

  void defer_flush(Flushable* f) { dirty_.push_back(f); }

  uint8_t* recv_buffer() { return recv_.data(); }
  size_t recv_capacity() const { return recv_.size(); }

  LoopStats stats;

 private:
  void arm_timer(int64_t at_ns);

  int epfd_ = -1;
  int timerfd_ = -1;
  int64_t armed_ns_ = 0;  // the timerfd's pending expiry, 0 if none
  std::vector<Flushable*> dirty_;
  std::vector<Flushable*> flushing_;
  std::vector<uint8_t> recv_;
};

}  // namespace sockudo::loadgen
