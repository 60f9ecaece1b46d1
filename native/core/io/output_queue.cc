#include "core/io/output_queue.h"

#include <algorithm>
#include <utility>

namespace sockudo::io {

OutputQueue::~OutputQueue() = default;

OutputQueue::OutputQueue(OutputQueue&& other) noexcept
    : segments_(std::move(other.segments_)),
      head_(std::exchange(other.head_, 0)),
      sent_seg_(std::exchange(other.sent_seg_, 0)),
      sent_off_(std::exchange(other.sent_off_, 0)),
      unacked_(std::exchange(other.unacked_, 0)),
      ack_mode_(std::exchange(other.ack_mode_, false)),
      chunks_(std::move(other.chunks_)),
      next_chunk_(std::exchange(other.next_chunk_, kMinChunk)),
      pending_(std::exchange(other.pending_, 0)),
      appended_(std::exchange(other.appended_, 0)),
      committed_(std::exchange(other.committed_, 0)) {
  other.segments_.clear();
  other.chunks_.clear();
}

OutputQueue& OutputQueue::operator=(OutputQueue&& other) noexcept {
  if (this != &other) {
    segments_ = std::move(other.segments_);
    other.segments_.clear();
    chunks_ = std::move(other.chunks_);
    other.chunks_.clear();
    head_ = std::exchange(other.head_, 0);
    sent_seg_ = std::exchange(other.sent_seg_, 0);
    sent_off_ = std::exchange(other.sent_off_, 0);
    unacked_ = std::exchange(other.unacked_, 0);
    ack_mode_ = std::exchange(other.ack_mode_, false);
    next_chunk_ = std::exchange(other.next_chunk_, kMinChunk);
    pending_ = std::exchange(other.pending_, 0);
    appended_ = std::exchange(other.appended_, 0);
    committed_ = std::exchange(other.committed_, 0);
  }
  return *this;
}

uint8_t* OutputQueue::reserve_owned(size_t len) {
  Chunk* c = chunks_.empty() ? nullptr : chunks_.back().get();
  if (c == nullptr || c->cap - c->used < len) {
    // Chunks double from kMinChunk to kMaxChunk while data accumulates; a piece larger than that
    // gets a chunk of its own size.
    const size_t cap = std::max(len, next_chunk_);
    next_chunk_ = std::min(next_chunk_ * 2, kMaxChunk);
    auto fresh = std::make_unique<Chunk>();
    fresh->mem = std::unique_ptr<uint8_t[]>(new uint8_t[cap]);  // uninitialised (gcc 10 has no make_unique_for_overwrite)
    fresh->cap = cap;
    c = fresh.get();
    chunks_.push_back(std::move(fresh));
  }
  uint8_t* p = c->mem.get() + c->used;
  c->used += len;
  pending_ += len;
  appended_ += len;
  // (In acknowledgement mode a fully sent last segment must not grow: its bytes count as sent.)
  if (slice_count() > 0) {
    Segment& last = segments_.back();
    if (last.chunk == c && last.data + last.len == p) {
      last.len += len;  // adjacent in the same chunk: one iovec for both
      return p;
    }
  }
  segments_.push_back({p, len, c, nullptr});
  c->refs++;
  return p;
}

void OutputQueue::append_copy(const uint8_t* data, size_t len) {
  if (len == 0) return;
  std::copy_n(data, len, reserve_owned(len));
}

uint8_t* OutputQueue::append_uninitialized(size_t len) {
  if (len == 0) return nullptr;
  return reserve_owned(len);
}

void OutputQueue::append_borrowed(const uint8_t* data, size_t len,
                                  std::unique_ptr<BufferOwner> owner) {
  if (len == 0) return;  // `owner` is released here: there is nothing to keep alive
  segments_.push_back({data, len, nullptr, std::move(owner)});
  pending_ += len;
  appended_ += len;
}

size_t OutputQueue::gather(Slice* out, size_t max) const {
  const size_t first = ack_mode_ ? sent_seg_ : head_;
  const size_t n = std::min(max, slice_count());
  for (size_t i = 0; i < n; i++) out[i] = {segments_[first + i].data, segments_[first + i].len};
  if (ack_mode_ && n > 0) {
    out[0].data += sent_off_;
    out[0].len -= sent_off_;
  }
  return n;
}

void OutputQueue::set_release_on_ack(bool on) {
  if (pending_ != 0 || unacked_ != 0) return;  // only between streams of bytes
  ack_mode_ = on;
  sent_seg_ = head_;
  sent_off_ = 0;
}

void OutputQueue::commit(size_t bytes_written) {
  // A transport never reports more than it was given; clamp rather than run off the end.
  size_t n = std::min(bytes_written, pending_);
  pending_ -= n;
  committed_ += n;
  if (ack_mode_) {
    unacked_ += n;
    while (n > 0) {
      const size_t rest = segments_[sent_seg_].len - sent_off_;
      if (n < rest) {
        sent_off_ += n;
        return;
      }
      n -= rest;
      sent_seg_++;
      sent_off_ = 0;
    }
    return;
  }
  while (n > 0) {
    Segment& s = segments_[head_];
    if (n < s.len) {
      s.data += n;
      s.len -= n;
      return;
    }
    n -= s.len;
    retire_front();
  }
}

size_t OutputQueue::acknowledge(size_t bytes) {
  size_t n = std::min(bytes, unacked_);
  const size_t released = n;
  unacked_ -= n;
  while (n > 0) {
    Segment& s = segments_[head_];
    if (n < s.len) {
      s.data += n;
      s.len -= n;
      if (head_ == sent_seg_) sent_off_ -= n;
      return released;
    }
    n -= s.len;
    retire_front();
  }
  return released;
}

void OutputQueue::retire_front() {
  Chunk* c = segments_[head_].chunk;
  segments_[head_].owner.reset();  // the borrowed bytes are written (or acknowledged): let the owner go now
  head_++;
  if (head_ == segments_.size()) {
    segments_.clear();
    head_ = 0;
    sent_seg_ = 0;
    sent_off_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= segments_.size()) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(head_));
    if (ack_mode_) sent_seg_ -= head_;
    head_ = 0;
  }
  if (c != nullptr && --c->refs == 0) release_chunks();
}

void OutputQueue::release_chunks() {
  size_t drop = 0;
  while (drop + 1 < chunks_.size() && chunks_[drop]->refs == 0) drop++;
  chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (chunks_.size() == 1 && chunks_.front()->refs == 0) {
    // Every byte of the last chunk is written: reuse it from the start, unless it is big.
    if (chunks_.front()->cap > kRetainedChunk) chunks_.clear();
    else chunks_.front()->used = 0;
    next_chunk_ = kMinChunk;
  }
}

void OutputQueue::clear() {
  if (ack_mode_ && unacked_ > 0) {
    // Sent but unacknowledged bytes may still be read where they were sent to (an io_uring send
    // in flight, an HTTP/2 session's output): only the unsent rest goes; they stay until
    // acknowledge().
    const size_t keep = sent_seg_ + (sent_off_ > 0 ? 1 : 0);
    if (sent_off_ > 0) segments_[sent_seg_].len = sent_off_;
    for (size_t i = keep; i < segments_.size(); i++) {
      if (segments_[i].chunk != nullptr) segments_[i].chunk->refs--;
    }
    segments_.resize(keep);  // destroys the dropped segments' owners
    sent_seg_ = keep;
    sent_off_ = 0;
    committed_ += pending_;
    pending_ = 0;
    return;
  }
  segments_.clear();  // destroys every owner
  head_ = 0;
  sent_seg_ = 0;
  sent_off_ = 0;
  unacked_ = 0;
  chunks_.clear();
  next_chunk_ = kMinChunk;
  committed_ += pending_;
  pending_ = 0;
}

CopiedBytes::CopiedBytes(const uint8_t* data, size_t len) : mem(new uint8_t[len]) { std::copy_n(data, len, mem.get()); }

size_t OutputQueue::copy_borrowed_since(uint64_t from) {
  size_t copied = 0;
  uint64_t end = appended_;  // stream position just past segment i
  // Only unsent segments: sent ones awaiting acknowledgement may be referenced where they were
  // sent to (an HTTP/2 session's output borrows them in place), so they must not move. The
  // segment a send ended inside is sent in part: it stays too.
  const size_t first_unsent = ack_mode_ ? sent_seg_ + (sent_off_ > 0 ? 1 : 0) : head_;
  for (size_t i = segments_.size(); i > first_unsent; i--) {
    Segment& s = segments_[i - 1];
    const uint64_t start = end - s.len;
    if (end <= from) break;
    if (s.chunk == nullptr && start >= from) {
      auto copy = std::make_unique<CopiedBytes>(s.data, s.len);
      s.data = copy->mem.get();
      s.owner = std::move(copy);  // the old owner (the JS reference) goes here
      copied += s.len;
    }
    end = start;
  }
  return copied;
}

void OutputQueue::release_storage() {
  if (pending_ != 0 || unacked_ != 0 || head_ != segments_.size()) return;
  for (const auto& c : chunks_) {
    if (c->refs != 0) return;
  }
  chunks_.clear();
  chunks_.shrink_to_fit();
  segments_.clear();
  segments_.shrink_to_fit();
  head_ = 0;
  sent_seg_ = 0;
  sent_off_ = 0;
  next_chunk_ = kMinChunk;
}

size_t OutputQueue::chunk_bytes() const {
  size_t total = 0;
  for (const auto& c : chunks_) total += c->cap;
  return total;
}

}  // namespace sockudo::io
