// A link over a TCP socket driven by the loop's io_uring (uring_ring.h) instead of readiness
// polling: one multishot receive per socket into the loop's provided buffers, handed to the
// session in place; sends prepared during the turn and submitted with every other socket's in one
// io_uring_enter.
//
// Writes in place (send_in_place(): the endpoint directly over this link): the session's slices are
// sent as they are (IORING_OP_SENDMSG over up to kMaxIov of them), and reported sent with
// on_link_acknowledged; the session's queue keeps them until then (acknowledgement mode), and
// frees its output only after close() is done (reads_after_write). Up to kMaxBuffered bytes are
// taken at a time, as below.
//
// Writes otherwise (under TLS or an HTTP/2 session, whose records and frames live in scratch
// space): what the session offers is copied into the link's send buffer (as the kernel's socket
// buffer would take it) and sent from there, one send in flight per socket (a second write waits
// behind it, keeping the order); up to kMaxBuffered bytes, beyond which the link reports
// `blocked` and calls on_link_writable once the kernel took half of it. kMaxBuffered is the
// kernel's largest autotuned send buffer (tcp_wmem's default maximum), so a write that epoll's
// sendmsg would have seen taken whole is taken whole here too: send() statuses, bufferedAmount
// and maxBackpressure behave as over epoll. The session's queue releases on write as over epoll,
// and TLS or HTTP/2 compose over this link unchanged. An idle link keeps no buffer.
//
// A client's link starts `connecting`: the non-blocking connect's completion is awaited with a
// poll for writability (IORING_OP_POLL_ADD), then SO_ERROR says how it went (on_link_connected,
// or on_link_eof with the error, as over epoll); writes wait until then.
//
// Reading off (pause, backpressure on input) cancels the receive; completions already on their way
// are kept (bounded by what the kernel had delivered) and handed over by pump() when reading
// resumes. close() cancels the receive, lets what was taken finish sending (bounded by
// kCloseLingerMs, then cancelled; at once when the loop shuts down) and reports done only once
// every operation has completed and the descriptor is closed: nothing the kernel may still write
// into or read from is freed before that.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "transport/link.h"
#include "transport/uring_ring.h"

namespace sockudo::transport {

class Loop;

class UringLink final : public Link {
 public:
  // Bytes taken but not yet sent before writes report `blocked`.
  static constexpr size_t kMaxBuffered = 4 * 1024 * 1024;

  UringLink(Loop& loop, UringRing& ring, int fd, bool connecting = false);
  ~UringLink() override;
  UringLink(const UringLink&) = delete;
  UringLink& operator=(const UringLink&) = delete;

  void set_events(LinkEvents* events) override { events_ = events; }
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override;
  void pump() override;
  bool shutdown_write() override;
  void close(void (*done)(void*), void* arg) override;
  const char* transport_name() const override { return "io_uring"; }
  bool send_in_place(bool on) override {
    in_place_ = on;
    return on;
  }
  bool releases_on_ack() const override { return in_place_; }
  bool reads_after_write() const override { return in_place_; }

 private:
  struct Recv final : UringRing::Op {
    UringLink* link;
    void complete(const io_uring_cqe& cqe) override { link->on_recv(cqe); }
  };
  struct Send final : UringRing::Op {
    UringLink* link;
    void complete(const io_uring_cqe& cqe) override { link->on_send(cqe); }
  };
  struct Connect final : UringRing::Op {
    UringLink* link;
    void complete(const io_uring_cqe& cqe) override { link->on_connected(cqe); }
  };
  struct Cancel final : UringRing::Op {
    UringLink* link;
    void complete(const io_uring_cqe&) override { link->on_cancelled(); }
  };
  struct Linger final : UringRing::Op {
    UringLink* link;
    __kernel_timespec ts{};
    void complete(const io_uring_cqe& cqe) override { link->on_linger_expired(cqe); }
  };
  // After close(), what was taken still goes out (as the kernel would send what a closed socket
  // had buffered), for at most this long; then the send is cancelled.
  static constexpr long kCloseLingerMs = 2000;

  void arm_recv();
  void cancel_recv();
  void start_send();
  void advance(size_t sent);
  void on_recv(const io_uring_cqe& cqe);
  void on_send(const io_uring_cqe& cqe);
  void on_cancelled();
  void on_connected(const io_uring_cqe& cqe);
  void on_linger_expired(const io_uring_cqe& cqe);
  void prepare_cancel(const void* target);
  void finish_op();
  void fail(int error);
  // Bytes taken and not yet sent (not Link::buffered(): like the kernel's socket buffer over epoll, they
  // are not the session's backpressure).
  size_t unsent() const { return in_place_ ? taken_ : (out_.size() - out_sent_) + next_.size(); }
  void start_send_in_place();
  void advance_in_place(size_t sent);

  Loop& loop_;
  UringRing& ring_;
  int fd_;
  LinkEvents* events_ = nullptr;
  Recv recv_;
  Send send_;
  Cancel cancel_;
  Connect connect_;
  bool connecting_ = false;  // a client's connect is in progress (its poll is in flight)
  Linger linger_;
  bool lingering_ = false;  // the close linger timeout is in flight
  int in_flight_ = 0;        // operations submitted and not yet completed for good
  bool recv_armed_ = false;  // the multishot receive is in flight
  bool cancelling_ = false;  // a cancel of the receive is in flight
  bool sending_ = false;
  bool want_read_ = false;
  bool want_write_ = false;
  bool blocked_ = false;  // a write was refused: report writable when the buffer has room
  bool shutdown_pending_ = false;  // shutdown_write() while sending: FIN once the buffer is sent
  bool closed_ = false;
  bool eof_seen_ = false;   // the peer's EOF (or an error) is known
  bool eof_delivered_ = false;
  int eof_error_ = 0;
  int completing_ = 0;  // inside a completion of ours (close() must not finish there)
  std::vector<uint8_t> out_;  // being sent: the kernel reads out_[out_sent_..]
  size_t out_sent_ = 0;
  std::vector<uint8_t> next_;  // taken while a send is in flight
  std::vector<uint8_t> held_;  // received while reading was off
  // In place: the session's bytes taken and not yet sent (the head possibly part-sent), and the
  // message of the send in flight (its iovecs point into taken_slices_' memory, the session's).
  static constexpr size_t kMaxIov = 256;
  bool in_place_ = false;
  std::deque<iovec> taken_slices_;
  size_t taken_ = 0;
  std::vector<iovec> send_iov_;
  msghdr send_msg_{};
  void (*done_)(void*) = nullptr;
  void* done_arg_ = nullptr;
};

}  // namespace sockudo::transport
