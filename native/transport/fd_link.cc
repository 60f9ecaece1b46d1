#include "transport/fd_link.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "transport/event_loop.h"
#include "transport/stream_io.h"

namespace sockudo::transport {

namespace {
constexpr int kReadsPerWakeup = 8;  // fairness: other sockets get their turn after this many reads
constexpr size_t kMaxIov = 256;     // slices per sendmsg (well under IOV_MAX)
}  // namespace

FdLink::FdLink(Loop& loop, int fd, bool connecting) : loop_(loop), fd_(fd), connecting_(connecting) {}

// A link that never polled (its socket failed to start) still owns the descriptor.
FdLink::~FdLink() {
  loop_.unschedule_read(this);
  if (!closed_ && fd_ >= 0) ::close(fd_);
}

void FdLink::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<FdLink*>(handle->data);
  if (self->closed_) return;
  Loop::CallbackScope scope(self->loop_);
  if (status < 0) {
    // libuv reports POLLERR (a reset, typically) as a generic status (UV_EBADF). What the peer
    // sent before resetting — often its close frame — is still in the kernel's receive queue:
    // read it first, so its close code is not lost; read() then reports the reset itself.
    if (!self->connecting_ && (self->poll_events_ & UV_READABLE)) self->on_readable();
    if (self->closed_) return;
    const int so_error = tcp_connect_result(self->fd_);
    self->events_->on_link_eof(so_error < 0 ? so_error : status);
    return;
  }
  if (events & UV_WRITABLE) {
    if (self->connecting_) {
      const int r = tcp_connect_result(self->fd_);
      if (r != 0) {
        self->events_->on_link_eof(r);
        return;
      }
      self->connecting_ = false;
      self->update();
      self->events_->on_link_connected();
    } else {
      self->events_->on_link_writable();
    }
  }
  // Read in the loop's check phase, with every other socket readable this turn (event_loop.h).
  if (!self->closed_ && !self->connecting_ && (events & (UV_READABLE | UV_DISCONNECT))) self->loop_.schedule_read(self);
}

void FdLink::read_from_loop() {
  if (!closed_ && !connecting_ && (poll_events_ & UV_READABLE)) on_readable();
}

void FdLink::on_readable() {
  uint8_t* buf = loop_.receive_buffer();
  const size_t cap = Loop::kReceiveBufferSize;
  for (int i = 0; i < kReadsPerWakeup && !closed_; i++) {
    if (!want_read_) return;  // paused (or the session stopped input) meanwhile
    const ssize_t n = stream_read(fd_, buf, cap, not_socket_);
    if (n > 0) {
      events_->on_link_data(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < cap) return;  // drained the kernel buffer
      continue;
    }
    if (n == 0) {
      events_->on_link_eof(0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    events_->on_link_eof(-errno);
    return;
  }
}

LinkWrite FdLink::write(std::span<const io::Slice> slices) {
  LinkWrite r;
  if (closed_ || connecting_) {
    r.blocked = true;
    return r;
  }
  iovec iov[kMaxIov];
  size_t count = 0;
  size_t total = 0;
  for (const io::Slice& s : slices) {
    if (count == kMaxIov) break;
    iov[count++] = {const_cast<uint8_t*>(s.data), s.len};
    total += s.len;
  }
  for (;;) {
    const ssize_t w = stream_write(fd_, iov, static_cast<int>(count), not_socket_);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        r.blocked = true;
        return r;
      }
      r.error = -errno;
      return r;
    }
    r.taken = static_cast<size_t>(w);
    // Short of everything offered: the kernel's buffer is full (or more slices than one call).
    r.blocked = r.taken < total;
    return r;
  }
}

void FdLink::set_wants(bool read, bool write) {
  want_read_ = read;
  want_write_ = write;
  update();
}

void FdLink::update() {
  if (closed_) return;
  if (!poll_ready_) {  // registered with the loop on first use
    uv_poll_init(loop_.uv(), &poll_, fd_);
    poll_.data = this;
    poll_ready_ = true;
  }
  int want = connecting_ ? UV_WRITABLE : ((want_read_ ? UV_READABLE : 0) | (want_write_ ? UV_WRITABLE : 0));
  if (want != 0) want |= UV_DISCONNECT;
  if (want == poll_events_) return;
  poll_events_ = want;
  if (want == 0) uv_poll_stop(&poll_);
  else uv_poll_start(&poll_, want, &FdLink::on_poll);
}

bool FdLink::shutdown_write() { return !closed_ && ::shutdown(fd_, SHUT_WR) == 0; }  // ENOTCONN: the peer is gone

void FdLink::close(void (*done)(void*), void* arg) {
  if (closed_) return;
  closed_ = true;
  loop_.unschedule_read(this);
  done_ = done;
  done_arg_ = arg;
  ::close(fd_);
  fd_ = -1;
  if (!poll_ready_) {
    if (done) done(arg);
    return;
  }
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), &FdLink::on_closed);
}

void FdLink::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<FdLink*>(handle->data);
  if (self->done_) self->done_(self->done_arg_);
}

}  // namespace sockudo::transport
