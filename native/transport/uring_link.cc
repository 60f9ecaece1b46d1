#include "transport/uring_link.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "transport/event_loop.h"
#include "transport/tcp.h"

namespace sockudo::transport {

UringLink::UringLink(Loop& loop, UringRing& ring, int fd, bool connecting) : loop_(loop), ring_(ring), fd_(fd) {
  recv_.link = this;
  send_.link = this;
  cancel_.link = this;
  linger_.link = this;
  connect_.link = this;
  ring_.socket_added();
  if (connecting) {  // writable once the connect completed, either way
    io_uring_sqe* sqe = ring_.prepare(&connect_);
    io_uring_prep_poll_add(sqe, fd_, POLLOUT);
    connecting_ = true;
    in_flight_++;
  }
}

void UringLink::on_connected(const io_uring_cqe& cqe) {
  completing_++;
  in_flight_--;
  connecting_ = false;
  if (!closed_ && events_ != nullptr) {
    const int r = cqe.res < 0 ? cqe.res : tcp_connect_result(fd_);
    if (r != 0) {
      eof_seen_ = true;
      eof_error_ = r;
      eof_delivered_ = true;
      events_->on_link_eof(r);
    } else {
      if (want_read_ && !recv_armed_) arm_recv();
      events_->on_link_connected();
    }
  }
  completing_--;
  finish_op();
}

// A link that never started (its endpoint failed to) still owns the descriptor.
UringLink::~UringLink() {
  ring_.socket_removed();
  if (fd_ >= 0) ::close(fd_);
}

void UringLink::arm_recv() {
  io_uring_sqe* sqe = ring_.prepare(&recv_);
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = UringRing::kBufferGroup;
  recv_armed_ = true;
  in_flight_++;
}

void UringLink::cancel_recv() {
  if (!recv_armed_ || cancelling_) return;
  prepare_cancel(&recv_);
  cancelling_ = true;
}

// Cancels the operation whose record is `target` (a receive, a send, the linger timeout); the
// cancel's own completion goes to cancel_.
void UringLink::prepare_cancel(const void* target) {
  io_uring_sqe* sqe = ring_.prepare(&cancel_);
  io_uring_prep_cancel64(sqe, reinterpret_cast<uintptr_t>(target), 0);
  in_flight_++;
}

void UringLink::start_send() {
  if (in_place_) {
    start_send_in_place();
    return;
  }
  io_uring_sqe* sqe = ring_.prepare(&send_);
  io_uring_prep_send(sqe, fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
  sending_ = true;
  in_flight_++;
}

// One SENDMSG over the first kMaxIov slices taken (the message lives in the link until completion).
void UringLink::start_send_in_place() {
  send_iov_.clear();
  for (const iovec& v : taken_slices_) {
    if (send_iov_.size() == kMaxIov) break;
    send_iov_.push_back(v);
  }
  send_msg_ = msghdr{};
  send_msg_.msg_iov = send_iov_.data();
  send_msg_.msg_iovlen = send_iov_.size();
  io_uring_sqe* sqe = ring_.prepare(&send_);
  io_uring_prep_sendmsg(sqe, fd_, &send_msg_, MSG_NOSIGNAL);
  sending_ = true;
  in_flight_++;
}

// `sent` bytes of the slices taken are gone: the session may release them (unless closing), and
// the rest goes next.
void UringLink::advance_in_place(size_t sent) {
  taken_ -= sent;
  for (size_t left = sent; left > 0;) {
    iovec& head = taken_slices_.front();
    if (head.iov_len <= left) {
      left -= head.iov_len;
      taken_slices_.pop_front();
    } else {
      head.iov_base = static_cast<uint8_t*>(head.iov_base) + left;
      head.iov_len -= left;
      left = 0;
    }
  }
  // The next send first: the session may shut down or close from the acknowledgement, and must
  // find it in flight (so the rest still goes out).
  if (!taken_slices_.empty() && !sending_ && (!closed_ || lingering_)) start_send_in_place();
  if (!closed_ && events_ != nullptr && sent > 0) events_->on_link_acknowledged(sent);
}

LinkWrite UringLink::write(std::span<const io::Slice> slices) {
  LinkWrite r;
  if (connecting_) {  // the endpoint writes once connected (on_link_connected)
    r.blocked = true;
    return r;
  }
  if (closed_ || eof_error_ != 0) {
    if (eof_error_ != 0) r.error = eof_error_;
    else r.blocked = true;
    return r;
  }
  const size_t room = kMaxBuffered > unsent() ? kMaxBuffered - unsent() : 0;
  if (in_place_) {
    size_t total = 0;
    for (const io::Slice& s : slices) {
      total += s.len;
      const size_t n = std::min(s.len, room - r.taken);
      if (n == 0) continue;
      taken_slices_.push_back({const_cast<uint8_t*>(s.data), n});
      r.taken += n;
    }
    taken_ += r.taken;
    r.blocked = r.taken < total;
    if (r.blocked) blocked_ = true;
    if (!sending_ && taken_ > 0) start_send_in_place();
    return r;
  }
  std::vector<uint8_t>& dst = sending_ ? next_ : out_;
  size_t total = 0;
  for (const io::Slice& s : slices) {
    total += s.len;
    const size_t n = std::min(s.len, room - r.taken);
    dst.insert(dst.end(), s.data, s.data + n);
    r.taken += n;
  }
  r.blocked = r.taken < total;
  if (r.blocked) blocked_ = true;
  if (!sending_ && !out_.empty()) start_send();
  return r;
}

void UringLink::set_wants(bool read, bool write) {
  want_write_ = write;
  if (closed_ || read == want_read_) return;
  want_read_ = read;
  if (connecting_) return;  // the receive is armed once connected
  if (!read) {
    cancel_recv();
  } else if (!held_.empty() || (eof_seen_ && !eof_delivered_)) {
    if (events_ != nullptr) events_->on_link_pending();  // delivered from the session's resume pass (pump)
  } else if (!recv_armed_ && !cancelling_ && !eof_seen_) {
    arm_recv();
  }
}

void UringLink::pump() {
  if (closed_ || connecting_ || !want_read_ || events_ == nullptr) return;
  completing_++;
  if (!held_.empty()) {
    // A private copy, padded like the loop's receive buffer (kernels may read past the end).
    const size_t n = held_.size();
    std::unique_ptr<uint8_t[]> copy(new uint8_t[n + Loop::kReceivePadding]);
    std::copy(held_.begin(), held_.end(), copy.get());
    held_.clear();
    held_.shrink_to_fit();
    events_->on_link_data(copy.get(), n);
  }
  if (!closed_ && want_read_ && held_.empty()) {
    if (eof_seen_ && !eof_delivered_) {
      eof_delivered_ = true;
      events_->on_link_eof(eof_error_);
    } else if (!recv_armed_ && !cancelling_ && !eof_seen_) {
      arm_recv();
    }
  }
  completing_--;
  finish_op();
}

void UringLink::on_recv(const io_uring_cqe& cqe) {
  completing_++;
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    recv_armed_ = false;
    in_flight_--;
  }
  if (cqe.res > 0) {
    const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t* data = ring_.buffer(id);
    if (!closed_) {
      if (want_read_ && held_.empty() && events_ != nullptr) events_->on_link_data(data, static_cast<size_t>(cqe.res));
      else held_.insert(held_.end(), data, data + cqe.res);  // at most what was in flight when reading stopped
    }
    ring_.recycle(id);
  } else if (cqe.res == -ENOBUFS) {
    ring_.count_buffer_shortage();
  } else if (cqe.res == 0 || (cqe.res < 0 && cqe.res != -ECANCELED)) {
    eof_seen_ = true;
    if (cqe.res < 0) eof_error_ = cqe.res;
    if (!closed_ && want_read_ && held_.empty() && !eof_delivered_ && events_ != nullptr) {
      eof_delivered_ = true;
      events_->on_link_eof(eof_error_);
    }
  }
  // -ENOBUFS (every buffer in use this turn) or a finished multishot: receive again.
  if (!more && !closed_ && want_read_ && !eof_seen_ && !recv_armed_ && !cancelling_) arm_recv();
  completing_--;
  finish_op();
}

// `sent` more bytes are gone: sends the rest of the current buffer, else the one filled meanwhile.
// An idle link keeps no big buffer.
void UringLink::advance(size_t sent) {
  if (in_place_) {
    advance_in_place(sent);
    return;
  }
  out_sent_ += sent;
  if (out_sent_ < out_.size()) {
    start_send();
    return;
  }
  out_.clear();
  out_sent_ = 0;
  out_.swap(next_);
  if (next_.capacity() > 64 * 1024) std::vector<uint8_t>().swap(next_);
  if (out_.empty() && out_.capacity() > 64 * 1024) std::vector<uint8_t>().swap(out_);
  if (!out_.empty()) start_send();
}

void UringLink::on_send(const io_uring_cqe& cqe) {
  completing_++;
  in_flight_--;
  sending_ = false;
  if (closed_) {
    // Closing: the rest of what was taken still goes out, unless the send failed or the linger
    // expired (cancelled); once nothing is left, the linger timeout goes too.
    if (cqe.res > 0 && lingering_) advance(static_cast<size_t>(cqe.res));
    if (!sending_ && lingering_) prepare_cancel(&linger_);
  } else if (cqe.res >= 0) {
    advance(static_cast<size_t>(cqe.res));
    if (!sending_ && shutdown_pending_) ::shutdown(fd_, SHUT_WR);
    if (blocked_ && unsent() <= kMaxBuffered / 2) {
      blocked_ = false;
      if (want_write_ && events_ != nullptr) events_->on_link_writable();
    }
  } else if (cqe.res != -ECANCELED) {
    fail(cqe.res);
  }
  completing_--;
  finish_op();
}

void UringLink::on_cancelled() {
  completing_++;
  in_flight_--;
  cancelling_ = false;
  if (!closed_ && !connecting_ && want_read_ && !recv_armed_ && !eof_seen_ && held_.empty()) arm_recv();
  completing_--;
  finish_op();
}

// A send failed (the peer reset the connection, ...): the session learns it as the end of input.
void UringLink::fail(int error) {
  eof_seen_ = true;
  eof_error_ = error;
  if (!eof_delivered_ && events_ != nullptr) {
    eof_delivered_ = true;
    events_->on_link_eof(error);
  }
}

bool UringLink::shutdown_write() {
  if (closed_ || connecting_) return false;
  if (sending_) {
    shutdown_pending_ = true;  // after what was written
    return true;
  }
  return ::shutdown(fd_, SHUT_WR) == 0;  // ENOTCONN: the peer is gone
}

void UringLink::close(void (*done)(void*), void* arg) {
  if (closed_) return;
  closed_ = true;
  done_ = done;
  done_arg_ = arg;
  held_.clear();
  if (loop_.shutting_down()) {  // teardown: nothing waits, every operation on the descriptor is cancelled
    if (in_flight_ > 0) {
      io_uring_sqe* sqe = ring_.prepare(&cancel_);
      io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
      in_flight_++;
      ring_.submit();  // the loop's flush no longer runs
    }
  } else {
    cancel_recv();
    if (connecting_) prepare_cancel(&connect_);
    if (sending_) {  // what was taken goes out first, for at most kCloseLingerMs
      linger_.ts.tv_sec = kCloseLingerMs / 1000;
      linger_.ts.tv_nsec = (kCloseLingerMs % 1000) * 1000000;
      io_uring_sqe* sqe = ring_.prepare(&linger_);
      io_uring_prep_timeout(sqe, &linger_.ts, 0, 0);
      lingering_ = true;
      in_flight_++;
    }
  }
  finish_op();
}

void UringLink::on_linger_expired(const io_uring_cqe& cqe) {
  completing_++;
  in_flight_--;
  lingering_ = false;
  if (cqe.res == -ETIME && sending_) prepare_cancel(&send_);  // the peer did not take it in time
  completing_--;
  finish_op();
}

// Once closed and nothing of ours is in flight or on the stack: the descriptor goes, then done
// (which may free this link).
void UringLink::finish_op() {
  if (!closed_ || in_flight_ > 0 || completing_ > 0 || fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (done_ != nullptr) done_(done_arg_);
}

}  // namespace sockudo::transport
