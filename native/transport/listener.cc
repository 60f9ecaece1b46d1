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
  accept_.listener = this;
  cancel_.listener = this;
  if (config_->io_uring) ring_ = loop_.uring(nullptr);
  start();
  loop_.add_listener(this);
}

void Listener::start() {
  if (ring_ == nullptr) {
    uv_poll_start(&poll_, UV_READABLE, &Listener::on_poll);
    return;
  }
  io_uring_sqe* sqe = ring_->prepare(&accept_);
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  accept_armed_ = true;
  handles_open_++;
}

void Listener::accepted(int fd) {
  set_nodelay(fd);
  Endpoint::create_server(loop_, fd, config_, server_, nullptr, 0, true);
}

void Listener::on_accept(const io_uring_cqe& cqe) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (cqe.res >= 0) {
    if (closed_) ::close(cqe.res);  // raced with close(): nobody will serve it
    else accepted(cqe.res);
  }
  if (more) return;
  accept_armed_ = false;
  const int e = -cqe.res;
  if (closed_) {
    release();
    return;
  }
  handles_open_--;  // this accept is over; start() arms the next (it cannot be the last reference)
  if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
    uv_timer_start(&backoff_, &Listener::on_backoff, kBackoffMs, 0);
  } else {
    start();  // the kernel ended the multishot (an overflowing completion queue, ...): go on
  }
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
    self->accepted(fd);
  }
}

void Listener::on_backoff(uv_timer_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  if (!self->closed_) self->start();
}

void Listener::close() {
  if (closed_) return;
  closed_ = true;
  uv_poll_stop(&poll_);
  uv_timer_stop(&backoff_);
  if (accept_armed_) {  // the socket closes once the accept has completed (release)
    io_uring_sqe* sqe = ring_->prepare(&cancel_);
    io_uring_prep_cancel64(sqe, reinterpret_cast<uintptr_t>(&accept_), 0);
    handles_open_++;
    if (loop_.shutting_down()) ring_->submit();  // the loop's flush no longer runs
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&backoff_), on_closed);
}

void Listener::on_closed(uv_handle_t* h) { static_cast<Listener*>(h->data)->release(); }

void Listener::release() {
  if (--handles_open_ > 0) return;
  ::close(fd_);  // nothing in flight reads it any more
  loop_.remove_listener(this);
  delete this;
}

}  // namespace sockudo::transport
