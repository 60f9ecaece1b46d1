#include "transport/listener.h"

#include <unistd.h>

#include <cerrno>

#include "transport/event_loop.h"

namespace sockudo::transport {

namespace {
constexpr int kAcceptsPerWakeup = 128;  // then let the loop serve established sockets
constexpr uint64_t kBackoffMs = 100;     // pause after EMFILE/ENFILE instead of spinning on a
                                         // level-triggered listen socket
}

Listener* Listener::create(Loop& loop, const ListenOptions& options, std::shared_ptr<const SocketConfig> config,
                           ServerHandler* server, int* error) {
  const int fd = tcp_listen(options);
  if (fd < 0) {
    *error = -fd;
    return nullptr;
  }
  *error = 0;
  return new Listener(loop, fd, std::move(config), server);
}

Listener::Listener(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config, ServerHandler* server)
    : loop_(loop), fd_(fd), config_(std::move(config)), server_(server) {
  local_address(fd_, address_);
  uv_poll_init(loop_.uv(), &poll_, fd_);
  poll_.data = this;
  uv_timer_init(loop_.uv(), &backoff_);
  backoff_.data = this;
  uv_poll_start(&poll_, UV_READABLE, &Listener::on_poll);
  loop_.add_listener(this);
}

void Listener::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Listener*>(handle->data);
  if (self->closed_ || status < 0) return;
  Loop::CallbackScope scope(self->loop_);
  for (int i = 0; i < kAcceptsPerWakeup && !self->closed_; i++) {
    const int fd = tcp_accept(self->fd_);
    if (fd == -EAGAIN) return;
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
      uv_poll_stop(&self->poll_);
      uv_timer_start(&self->backoff_, &Listener::on_backoff, kBackoffMs, 0);
      return;
    }
    if (fd < 0) return;
    Endpoint::create_server(self->loop_, fd, self->config_, self->server_, nullptr, 0, true);
  }
}

void Listener::on_backoff(uv_timer_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  if (!self->closed_) uv_poll_start(&self->poll_, UV_READABLE, &Listener::on_poll);
}

void Listener::close() {
  if (closed_) return;
  closed_ = true;
  uv_poll_stop(&poll_);
  uv_timer_stop(&backoff_);
  ::close(fd_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&backoff_), on_closed);
}

void Listener::on_closed(uv_handle_t* h) {
  auto* self = static_cast<Listener*>(h->data);
  if (--self->handles_open_ == 0) {
    self->loop_.remove_listener(self);
    delete self;
  }
}

}  // namespace sockudo::transport
