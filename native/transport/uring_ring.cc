#include "transport/uring_ring.h"

#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "transport/errno_name.h"
#include "transport/event_loop.h"

namespace sockudo::transport {

namespace {

// Multishot receive (IORING_RECV_MULTISHOT) needs Linux 6.0; buffer rings 5.19.
bool kernel_at_least(int major, int minor, std::string* release) {
  utsname u{};
  if (uname(&u) != 0) return false;
  *release = u.release;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

}  // namespace

std::unique_ptr<UringRing> UringRing::create(Loop& loop, std::string* why) {
  std::string release;
  if (!kernel_at_least(6, 0, &release)) {
    *why = "kernel " + release + " is older than 6.0 (multishot receive)";
    return nullptr;
  }
  std::unique_ptr<UringRing> r(new UringRing(loop));
  io_uring_params p{};
  // COOP_TASKRUN (5.19): a completion's task work does not interrupt the loop with an IPI while it
  // runs JavaScript; it runs at the loop's next kernel entry (the turn's io_uring_enter, or
  // epoll_wait, which a sleeping loop is woken from). TASKRUN_FLAG marks such work in the SQ flags,
  // so reap()'s peek enters the kernel for it when no completion is visible yet.
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG;
  p.cq_entries = kEntries * 2;
  int rv = io_uring_queue_init_params(kEntries, &r->ring_, &p);
  if (rv == -EINVAL) {  // an older kernel without some of the flags
    io_uring_params q{};
    q.flags = IORING_SETUP_CQSIZE;
    q.cq_entries = kEntries * 2;
    rv = io_uring_queue_init_params(kEntries, &r->ring_, &q);
  }
  if (rv < 0) {
    *why = std::string("io_uring_setup failed: ") + errno_name(-rv, "EINVAL") + " (" + std::strerror(-rv) + ")";
    return nullptr;
  }
  r->ring_ready_ = true;
  int err = 0;
  r->buf_ring_ = io_uring_setup_buf_ring(&r->ring_, kRingEntries, kBufferGroup, 0, &err);
  if (r->buf_ring_ == nullptr) {
    *why = std::string("registering the receive buffer ring failed: ") + errno_name(-err, "EINVAL");
    return nullptr;
  }
  if (!r->add_slab()) {
    *why = "no memory for the receive buffers";
    return nullptr;
  }
  if (uv_poll_init(loop.uv(), &r->poll_, r->ring_.ring_fd) != 0) {
    *why = "the ring's descriptor cannot be watched by libuv";
    return nullptr;
  }
  r->poll_.data = r.get();
  r->polling_ = true;
  uv_poll_start(&r->poll_, UV_READABLE, &UringRing::on_poll);
  // The ring keeps the loop alive while operations are in flight (prepare/reap), as a socket's
  // poll handle does over epoll: a listening server, a connection reading or sending.
  uv_unref(reinterpret_cast<uv_handle_t*>(&r->poll_));
  return r;
}

bool UringRing::add_slab() {
  if (buffer_count() + kSlabBuffers > kRingEntries) return false;
  std::unique_ptr<uint8_t[]> slab(new (std::nothrow) uint8_t[kSlabBuffers * kStride]);  // pages are touched only when used
  if (!slab) return false;
  const auto first = static_cast<unsigned>(buffer_count());
  slabs_.push_back(std::move(slab));
  const int mask = io_uring_buf_ring_mask(kRingEntries);
  for (unsigned i = 0; i < kSlabBuffers; i++) {
    const auto id = static_cast<uint16_t>(first + i);
    io_uring_buf_ring_add(buf_ring_, buffer(id), kBufferSize, id, mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, kSlabBuffers);
  return true;
}

void UringRing::socket_added() {
  sockets_++;
  while (buffer_count() < sockets_ + kSpareBuffers && add_slab()) {
  }
}

UringRing::~UringRing() {
  if (buf_ring_ != nullptr) io_uring_free_buf_ring(&ring_, buf_ring_, kRingEntries, kBufferGroup);
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* UringRing::prepare(Op* op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {  // the queue is full: hand it to the kernel now
    submit();
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) reap();  // the completion queue is full too: make room
  }
  io_uring_sqe_set_data(sqe, op);
  prepared_++;
  if (in_flight_++ == 0 && polling_) uv_ref(reinterpret_cast<uv_handle_t*>(&poll_));
  if (unsubmitted_++ == 0) loop_.mark_dirty(this);  // the loop's flush ends with submit()
  return sqe;
}

void UringRing::submit() {
  if (unsubmitted_ == 0) return;
  unsubmitted_ = 0;
  submits_++;
  int rv;
  do {
    rv = io_uring_submit(&ring_);
  } while (rv == -EINTR);
  // -EBUSY / -EAGAIN: the completion queue is full; the entries stay queued and go with the next
  // submit, after this turn's reap has made room.
  if (rv == -EBUSY || rv == -EAGAIN) {
    unsubmitted_ = 1;
    loop_.mark_dirty(this);
  }
}

void UringRing::recycle(uint16_t id) {
  io_uring_buf_ring_add(buf_ring_, buffer(id), kBufferSize, id, io_uring_buf_ring_mask(kRingEntries), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

void UringRing::on_poll(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<UringRing*>(handle->data);
  if (status < 0) return;
  Loop::CallbackScope scope(self->loop_);
  self->reap();
}

// Every completion waiting, each handed to its operation's record (which may prepare more).
void UringRing::reap() {
  if (reaping_) return;
  reaping_ = true;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring_, &cqe) != 0 || cqe == nullptr) break;
    const io_uring_cqe copy = *cqe;
    io_uring_cqe_seen(&ring_, cqe);
    // A multishot operation goes on while F_MORE is set.
    if ((copy.flags & IORING_CQE_F_MORE) == 0 && --in_flight_ == 0 && polling_) {
      uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
    }
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(&copy));
    if (op != nullptr) op->complete(copy);
  }
  reaping_ = false;
  if (loop_.shutting_down()) submit();  // the loop's flush, which normally submits, no longer runs
}

void UringRing::close(void (*done)(void*), void* arg) {
  done_ = done;
  done_arg_ = arg;
  loop_.unmark_dirty(this);
  if (!polling_) {
    if (done) done(arg);
    return;
  }
  polling_ = false;
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), &UringRing::on_closed);
}

void UringRing::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<UringRing*>(handle->data);
  if (self->done_) self->done_(self->done_arg_);
}

}  // namespace sockudo::transport
