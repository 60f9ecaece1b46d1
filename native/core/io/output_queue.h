// The bytes a connection has to send, in order, as a list of slices ready for writev.
//
// Small pieces (frame headers, small payloads, control frames) are copied into owned chunks;
// consecutive copies that land next to each other in a chunk merge into one slice, so a burst of
// small frames leaves in few iovecs. Large payloads are borrowed: the queue keeps a BufferOwner
// (the binding's reference to a JS Buffer) and releases it exactly when the last byte of that
// slice has been committed as written.
//
// Release: a stream transport (TCP, TLS) releases bytes when they are written (commit). A
// transport that may have to send them again until the peer acknowledges them (QUIC stream data
// under nghttp3) puts the queue in acknowledgement mode: commit() then only marks bytes as sent
// (gather() continues after them) and acknowledge() releases them, in stream order.
//
// Memory: nothing is allocated until something is queued; when the queue drains, one chunk of at
// most kRetainedChunk bytes is kept for reuse and everything else is freed, so an idle connection
// costs little. The queue itself has no cap: callers enforce backpressure limits with bytes().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace sockudo::io {

struct Slice {
  const uint8_t* data;
  size_t len;
};

// Keeps borrowed bytes alive until they are written. The binding subclasses it to hold a
// reference to a JS Buffer; the destructor releases it.
class BufferOwner {
 public:
  virtual ~BufferOwner() = default;
};

// Owns a private copy of bytes that were to be borrowed (copy_borrowed_since, or a sender that
// cannot lend memory for as long as a link keeps it).
struct CopiedBytes final : BufferOwner {
  CopiedBytes(const uint8_t* data, size_t len);
  std::unique_ptr<uint8_t[]> mem;
};

class OutputQueue {
 public:
  static constexpr size_t kMinChunk = 1024;
  static constexpr size_t kMaxChunk = 64 * 1024;
  static constexpr size_t kRetainedChunk = 4096;

  OutputQueue() = default;
  ~OutputQueue();
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  OutputQueue(OutputQueue&& other) noexcept;
  OutputQueue& operator=(OutputQueue&& other) noexcept;

  // Copies data[0..len) into owned storage.
  void append_copy(const uint8_t* data, size_t len);
  // Appends `len` bytes of owned storage and returns them for the caller to fill before anything
  // else is appended (a frame written in place: header plus masked payload, no temporary).
  uint8_t* append_uninitialized(size_t len);
  // Queues data[0..len) without copying; `owner` (may be null for static data) is destroyed when
  // the slice has been written completely, or by clear() / the destructor. A zero-length borrow
  // releases its owner at once.
  void append_borrowed(const uint8_t* data, size_t len, std::unique_ptr<BufferOwner> owner);

  // Fills out[0..max) with the next slices to write, in order; returns how many. The slices stay
  // valid until the next commit(), clear() or destruction.
  size_t gather(Slice* out, size_t max) const;
  // Marks `bytes_written` bytes (≤ bytes()) as written, which may end in the middle of a slice.
  // In acknowledgement mode they are kept (unacknowledged()) until acknowledge().
  void commit(size_t bytes_written);
  // Acknowledgement mode (set while the queue is empty; false by default).
  void set_release_on_ack(bool on);
  bool release_on_ack() const { return ack_mode_; }
  // The peer acknowledged the next `bytes` sent bytes (≤ unacknowledged()): they are released,
  // borrowed owners included. Returns the bytes released.
  size_t acknowledge(size_t bytes);
  // Sent but not yet acknowledged (0 outside acknowledgement mode).
  size_t unacknowledged() const { return unacked_; }
  // Drops everything unsent (the transport closed), releasing every owner; in acknowledgement
  // mode the sent, unacknowledged bytes stay (still readable where they were sent) until
  // acknowledge().
  void clear();
  // Replaces every borrowed slice appended at or after stream position `from` (an earlier
  // appended_total()) that is still unsent with a private copy, releasing its owner. For memory
  // the owner cannot keep in place: a JS ArrayBuffer can be transferred (detached and its memory
  // freed) by the application as soon as control returns to JS. Returns the bytes copied.
  size_t copy_borrowed_since(uint64_t from);

  size_t bytes() const { return pending_; }
  bool empty() const { return pending_ == 0; }
  size_t slice_count() const { return segments_.size() - (ack_mode_ ? sent_seg_ : head_); }
  // Positions in the byte stream: everything ever appended / committed. A caller remembers
  // appended_total() after queuing something and knows it has left once committed_total()
  // reaches that position.
  uint64_t appended_total() const { return appended_; }
  uint64_t committed_total() const { return committed_; }
  // Owned storage currently allocated (for memory accounting and tests).
  size_t chunk_bytes() const;
  // Frees the storage an empty queue keeps for reuse (the retained chunk, the segment list's
  // capacity): for a connection about to sit idle, where a kilobyte per connection matters more
  // than one allocation on its next send. No-op unless the queue is empty (nothing unacknowledged).
  void release_storage();

 private:
  struct Chunk {
    std::unique_ptr<uint8_t[]> mem;
    size_t cap = 0;
    size_t used = 0;
    size_t refs = 0;  // segments pointing into this chunk
  };
  struct Segment {
    const uint8_t* data;
    size_t len;
    Chunk* chunk;                         // owned storage, or null when borrowed
    std::unique_ptr<BufferOwner> owner;  // borrowed storage's keeper (may be null)
  };

  uint8_t* reserve_owned(size_t len);
  void retire_front();
  void release_chunks();

  // Segments [head_, size) are pending; the vector is compacted as the head advances. In
  // acknowledgement mode [head_, sent_seg_) (and sent_off_ bytes of sent_seg_) are sent, unacked.
  std::vector<Segment> segments_;
  size_t head_ = 0;
  size_t sent_seg_ = 0;
  size_t sent_off_ = 0;
  size_t unacked_ = 0;
  bool ack_mode_ = false;
  // Chunks in fill order; a chunk is only ever referenced by segments newer than those of every
  // chunk before it, so they are released from the front.
  std::vector<std::unique_ptr<Chunk>> chunks_;
  size_t next_chunk_ = kMinChunk;
  size_t pending_ = 0;
  uint64_t appended_ = 0;
  uint64_t committed_ = 0;
};

}  // namespace sockudo::io
