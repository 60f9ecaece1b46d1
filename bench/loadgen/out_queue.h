// A connection's unsent bytes as a list of slices: borrowed ones (pre-built frames that outlive
// the queue) and owned ones (bytes appended to the queue's arena). write_to() hands up to IOV_MAX
// slices to one writev and commits what the kernel took; nothing is concatenated on the way.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sockudo::loadgen {

class OutQueue {
 public:
  // Queues bytes the caller keeps alive and unchanged until they are written.
  void borrow(const uint8_t* data, size_t len);
  // Returns room for `len` owned bytes at the end of the queue (valid until the next call).
  uint8_t* append(size_t len);
  // Gives back the unused tail of the last append() (it reserved `reserved`, used `used`).
  void shrink_last(size_t reserved, size_t used);

  bool empty() const { return pending_ == 0; }
  size_t pending_bytes() const { return pending_; }

  enum class WriteResult { Done, Blocked, Error };
  // Writes as much as the socket takes. `written` receives the byte count; errno is kept on Error.
  WriteResult write_to(int fd, size_t& written);

  // The unwritten slices, oldest first, at most `max` of them into `iov` (returns how many), and
  // consume(n) drops the first n bytes of them: for writers other than writev (TLS).
  size_t peek(iovec* iov, size_t max) const;
  void consume(size_t n) { commit(n); }

 private:
  struct Slice {
    const uint8_t* borrowed;  // null: `offset` into arena_
    size_t offset;
    size_t len;
  };
  void commit(size_t n);
  void compact();

  std::vector<uint8_t> arena_;
  std::vector<Slice> slices_;
  size_t head_ = 0;       // first slice not fully written
  size_t head_done_ = 0;  // bytes of slices_[head_] already written
  size_t pending_ = 0;
};

}  // namespace sockudo::loadgen
