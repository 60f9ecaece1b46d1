// Slices in, one writev per call out, then commit(n) walks the slices the kernel took.
#include "out_queue.h"

#include <sys/uio.h>

#include <cerrno>
#include <climits>

namespace sockudo::loadgen {
namespace {
constexpr size_t kMaxIov = IOV_MAX < 1024 ? IOV_MAX : 1024;
}

void OutQueue::borrow(const uint8_t* data, size_t len) {
  if (len == 0) return;
  if (!slices_.empty() && slices_.size() > head_) {
    Slice& last = slices_.back();
    if (last.borrowed && last.borrowed + last.len == data) {  // contiguous: one slice
      last.len += len;
      pending_ += len;
      return;
    }
  }
  slices_.push_back({data, 0, len});
  pending_ += len;
}

uint8_t* OutQueue::append(size_t len) {
  const size_t at = arena_.size();
  arena_.resize(at + len);
  if (!slices_.empty() && slices_.size() > head_ && !slices_.back().borrowed &&
      slices_.back().offset + slices_.back().len == at) {
    slices_.back().len += len;
  } else {
    slices_.push_back({nullptr, at, len});
  }
  pending_ += len;
  return arena_.data() + at;
}

void OutQueue::shrink_last(size_t reserved, size_t used) {
  const size_t drop = reserved - used;
  arena_.resize(arena_.size() - drop);
  slices_.back().len -= drop;
  pending_ -= drop;
  if (slices_.back().len == 0) slices_.pop_back();
}

OutQueue::WriteResult OutQueue::write_to(int fd, size_t& written) {
  written = 0;
  iovec iov[kMaxIov];
  while (pending_ > 0) {
    const size_t n = peek(iov, kMaxIov);
    const ssize_t w = writev(fd, iov, static_cast<int>(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteResult::Blocked;
      return WriteResult::Error;
    }
    written += static_cast<size_t>(w);
    size_t offered = 0;
    for (size_t i = 0; i < n; ++i) offered += iov[i].iov_len;
    commit(static_cast<size_t>(w));
    if (static_cast<size_t>(w) < offered) return WriteResult::Blocked;  // socket buffer full
  }
  return WriteResult::Done;
}

size_t OutQueue::peek(iovec* iov, size_t max) const {
  size_t n = 0;
  for (size_t i = head_; i < slices_.size() && n < max; ++i, ++n) {
    const Slice& s = slices_[i];
    const uint8_t* base = s.borrowed ? s.borrowed : arena_.data() + s.offset;
    const size_t skip = i == head_ ? head_done_ : 0;
    iov[n].iov_base = const_cast<uint8_t*>(base + skip);
    iov[n].iov_len = s.len - skip;
  }
  return n;
}

void OutQueue::commit(size_t n) {
  pending_ -= n;
  while (n > 0) {
    const size_t left = slices_[head_].len - head_done_;
    if (n < left) {
      head_done_ += n;
      return;
    }
    n -= left;
    ++head_;
    head_done_ = 0;
  }
  if (pending_ == 0) {  // everything written: start over, keeping capacity
    slices_.clear();
    arena_.clear();
    head_ = 0;
  } else if (head_ >= 4096 && head_ * 2 >= slices_.size()) {
    compact();
  }
}

// Drops written slices and the arena bytes before the first unwritten owned slice.
void OutQueue::compact() {
  size_t arena_cut = arena_.size();
  for (size_t i = head_; i < slices_.size(); ++i) {
    if (!slices_[i].borrowed) {
      arena_cut = slices_[i].offset;
      break;
    }
  }
  slices_.erase(slices_.begin(), slices_.begin() + static_cast<ptrdiff_t>(head_));
  head_ = 0;
  arena_.erase(arena_.begin(), arena_.begin() + static_cast<ptrdiff_t>(arena_cut));
  for (Slice& s : slices_) {
    if (!s.borrowed) s.offset -= arena_cut;
  }
}

}  // namespace sockudo::loadgen
