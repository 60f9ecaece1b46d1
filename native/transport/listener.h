// A listening TCP socket on the loop: accepts connections as server Sockets.
//
// Over epoll, readiness on the socket (uv_poll) and accept4 per connection, at most
// kAcceptsPerWakeup per wake-up. On the io_uring transport (SocketConfig::io_uring), one multishot
// accept (IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT, Linux 5.19) posts every new connection as
// a completion, reaped with the loop's other completions. Out of descriptors (EMFILE, ENFILE, ...)
// both pause for kBackoffMs instead of spinning. close() cancels the accept and closes the socket
// only once the accept has completed for good.
#pragma once

#include <uv.h>

#include <memory>

#include "transport/endpoint.h"
#include "transport/tcp.h"
#include "transport/uring_ring.h"

namespace sockudo::transport {

class Listener {
 public:
  // Binds and listens; null with *error = errno on failure.
  static Listener* create(Loop& loop, const ListenOptions& options, std::shared_ptr<const SocketConfig> config,
                          ServerHandler* server, int* error);
  // Stops accepting and closes the listening socket; the object frees itself once libuv is done.
  void close();
  const SocketAddress& address() const { return address_; }

 private:
  Listener(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config, ServerHandler* server);
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_backoff(uv_timer_t* handle);
  static void on_closed(uv_handle_t* handle);
  void start();  // accepting again (first, and after a backoff)
  void accepted(int fd);
  void on_accept(const io_uring_cqe& cqe);
  void release();  // one of handles_open_ is done

  struct Accept final : UringRing::Op {
    Listener* listener;
    void complete(const io_uring_cqe& cqe) override { listener->on_accept(cqe); }
  };
  struct Cancel final : UringRing::Op {
    Listener* listener;
    void complete(const io_uring_cqe&) override { listener->release(); }
  };

  Loop& loop_;
  int fd_;
  std::shared_ptr<const SocketConfig> config_;
  ServerHandler* server_;
  uv_poll_t poll_;
  uv_timer_t backoff_;  // out of file descriptors: stop accepting for a moment
  SocketAddress address_;
  UringRing* ring_ = nullptr;  // the io_uring transport's ring, else null (epoll)
  Accept accept_;
  Cancel cancel_;
  bool accept_armed_ = false;  // the multishot accept is in flight
  bool closed_ = false;
  int handles_open_ = 2;  // the poll and timer handles, plus each io_uring operation in flight
};

}  // namespace sockudo::transport
