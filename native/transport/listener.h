// A listening TCP socket on the loop: accepts connections as server Sockets.
#pragma once

#include <uv.h>

#include <memory>

#include "transport/endpoint.h"
#include "transport/tcp.h"

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

  Loop& loop_;
  int fd_;
  std::shared_ptr<const SocketConfig> config_;
  ServerHandler* server_;
  uv_poll_t poll_;
  uv_timer_t backoff_;  // out of file descriptors: stop accepting for a moment
  SocketAddress address_;
  bool closed_ = false;
  int handles_open_ = 2;
};

}  // namespace sockudo::transport
