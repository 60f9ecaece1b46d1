// One io_uring per event loop (liburing, statically linked), driven from libuv: the ring's fd is
// watched by a uv_poll_t (readable when completions wait), completions are reaped in one pass,
// and everything prepared during a loop turn (receives re-armed, sends, cancels) is submitted
// together by one io_uring_enter at the end of the loop's flush (Loop::flush_dirty), however
// many sockets wrote.
//
// Receives use one provided-buffer ring (IORING_REGISTER_PBUF_RING, kernel 5.19) shared by every
// socket of the loop: a multishot receive (kernel 6.0) picks a buffer per completion, the link
// hands that buffer to its endpoint in place (padded like the loop's receive buffer, so kernels
// may over-read) and gives it back at once. Completions wait until the loop reaps them, each
// holding its buffer, so the ring has at least one buffer per socket (plus slack): buffers are
// added a slab at a time as sockets join (socket_added), never fewer than one slab. A turn that
// still runs out ends that socket's multishot receive with ENOBUFS; the link arms it again.
//
// Ownership: every operation in flight has a record (Op) that outlives it; its owner (a link)
// counts what it has in flight and finishes closing only once each has completed. The ring itself
// closes after the loop's last member is gone (Loop::maybe_done).
#pragma once

#include <liburing.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transport/loop_member.h"

namespace sockudo::transport {

class Loop;

class UringRing final : public LoopMember {
 public:
  // A record per operation in flight; the CQE's user_data points at it.
  struct Op {
    virtual ~Op() = default;
    virtual void complete(const io_uring_cqe& cqe) = 0;
  };

  // Submission queue size (CQ: twice that). A turn's sends all fit: a publish to 10,000
  // subscribers is one io_uring_enter (1 MiB of entries, 512 KiB of completions per loop).
  static constexpr unsigned kEntries = 16384;
  static constexpr unsigned kRingEntries = 32768;   // the buffer ring's capacity (ids are 16 bits)
  static constexpr unsigned kSlabBuffers = 256;     // buffers allocated at a time (8 MiB of address space)
  static constexpr unsigned kSpareBuffers = 64;     // buffers beyond one per socket
  static constexpr size_t kBufferSize = 32 * 1024;  // bytes per receive buffer: a 16 KiB message fits
  static constexpr uint16_t kBufferGroup = 0;

  // The loop's ring, or null with *why saying what was missing (a kernel older than 6.0 for
  // multishot receive, io_uring_setup refused: ENOSYS, EPERM under a seccomp profile or
  // kernel.io_uring_disabled, ENOMEM for the buffers, ...).
  static std::unique_ptr<UringRing> create(Loop& loop, std::string* why);
  ~UringRing() override;
  UringRing(const UringRing&) = delete;
  UringRing& operator=(const UringRing&) = delete;

  // A free submission entry for `op` (user_data set); submits first when the queue is full.
  // Never null: a full queue that cannot be submitted into is reaped and retried.
  io_uring_sqe* prepare(Op* op);
  // Submits what was prepared (one io_uring_enter); called once per loop turn.
  void submit();
  bool has_unsubmitted() const { return unsubmitted_ > 0; }

  uint8_t* buffer(uint16_t id) { return slabs_[id / kSlabBuffers].get() + static_cast<size_t>(id % kSlabBuffers) * kStride; }
  size_t buffer_count() const { return slabs_.size() * kSlabBuffers; }
  // A socket's link joins (more buffers when the ring has fewer than one per socket plus spares) or leaves.
  void socket_added();
  void socket_removed() { sockets_--; }
  // Gives a receive buffer back to the kernel.
  void recycle(uint16_t id);

  // After the loop's last member: stops watching the fd, then frees the ring; `done` when closed.
  void close(void (*done)(void*), void* arg);

  // LoopMember: the ring is marked dirty so the loop's flush (which ends with submit()) runs.
  void flush_from_loop() override {}
  void resume_from_loop() override {}
  void destroy() override {}

  uint64_t submits() const { return submits_; }    // io_uring_enter calls that submitted
  uint64_t prepared() const { return prepared_; }  // operations ever prepared
  size_t in_flight() const { return in_flight_; }  // prepared and not yet completed for good
  // Receives that ended for want of a free buffer (ENOBUFS; the link receives again).
  uint64_t buffer_shortages() const { return buffer_shortages_; }
  void count_buffer_shortage() { buffer_shortages_++; }

 private:
  static constexpr size_t kStride = kBufferSize + 64;  // the loop's receive padding

  explicit UringRing(Loop& loop) : loop_(loop) {}
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_closed(uv_handle_t* handle);
  void reap();
  bool add_slab();  // kSlabBuffers more buffers, given to the kernel; false when full or out of memory

  Loop& loop_;
  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::vector<std::unique_ptr<uint8_t[]>> slabs_;
  size_t sockets_ = 0;
  uv_poll_t poll_{};
  bool polling_ = false;
  unsigned unsubmitted_ = 0;
  bool reaping_ = false;
  uint64_t submits_ = 0;
  uint64_t prepared_ = 0;
  uint64_t buffer_shortages_ = 0;
  size_t in_flight_ = 0;
  void (*done_)(void*) = nullptr;
  void* done_arg_ = nullptr;
};

}  // namespace sockudo::transport
