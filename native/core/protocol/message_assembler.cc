#include "core/protocol/message_assembler.h"

#include <algorithm>

namespace sockudo::protocol {

MessageAssembler::MessageAssembler(uint64_t max_message_size, MessageTransform* transform)
    : max_message_size_(max_message_size), transform_(transform) {}

void MessageAssembler::reset() {
  buffer_.clear();
  if (buffer_.capacity() > kRetainedCapacity) std::vector<uint8_t>().swap(buffer_);
  validator_.reset();
  frame_remaining_ = 0;
  transformed_ = false;
  first_piece_ = false;
  frame_reserved_ = false;
  suspended_ = false;
  suspended_end_ = false;
  if (transform_) transform_->reset();
}

ProtocolError MessageAssembler::begin_frame(const FrameHeader& header, bool message_start) {
  if (message_start) {
    opcode_ = header.op();
    transformed_ = header.rsv1;
    first_piece_ = true;
    // The parser accepts RSV1 only when an extension was negotiated (§5.2); without the
    // extension's transform there is nothing that could decode it.
    if (transformed_ && transform_ == nullptr) return ProtocolError::UnexpectedRsv1;
  }
  frame_remaining_ = header.payload_len;
  frame_reserved_ = false;
  return ProtocolError::None;
}

ProtocolError MessageAssembler::validate(std::span<const uint8_t> bytes) {
  if (opcode_ != Opcode::Text || bytes.empty()) return ProtocolError::None;
  stats_.validated_bytes += bytes.size();
  stats_.validator_calls++;
  // §8.1: invalid UTF-8 in a text message fails the connection (1007) — as soon as the bad byte
  // arrives, not when the message completes.
  return validator_.feed(bytes.data(), bytes.size()) ? ProtocolError::None : ProtocolError::InvalidUtf8;
}

void MessageAssembler::append(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  if (!frame_reserved_) {
    // Room for the rest of this frame (this piece included), as the header announced it (the
    // parser has checked it against max_message_size), but never more than kMaxUpfrontReserve
    // beyond what has arrived: a peer that announces 64 MiB and trickles bytes must not make us
    // hold 64 MiB. Past that, the vector's own geometric growth keeps appends linear. The first
    // frame of a message reserves exactly; later frames grow at least geometrically so many
    // small fragments stay linear.
    frame_reserved_ = true;
    const uint64_t announced = buffer_.size() + frame_remaining_;
    const uint64_t need = std::min<uint64_t>(announced, buffer_.size() + std::max<uint64_t>(bytes.size(), kMaxUpfrontReserve));
    if (need > buffer_.capacity()) {
      uint64_t cap = need;
      if (!buffer_.empty()) cap = std::max<uint64_t>(need, std::min<uint64_t>(2 * buffer_.capacity(), max_message_size_));
      buffer_.reserve(static_cast<size_t>(cap));
      stats_.buffer_growths++;
    }
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  stats_.buffered_bytes += bytes.size();
}

ProtocolError MessageAssembler::payload(std::span<const uint8_t> bytes, bool message_end,
                                        MessageSink& sink) {
  if (transformed_) {
    const size_t before = buffer_.size();
    const ProtocolError e = transform_->decode(bytes, message_end, buffer_, max_message_size_);
    // The piece is the transform's now, whether it finished it or keeps the rest for resume().
    frame_remaining_ -= bytes.size();
    first_piece_ = false;
    return after_transform(before, e, message_end, sink);
  }
  if (first_piece_ && message_end) {
    // A single-frame message that arrived whole: deliver it from the caller's buffer.
    if (ProtocolError e = validate(bytes); e != ProtocolError::None) return e;
    if (opcode_ == Opcode::Text && !validator_.finish()) return ProtocolError::InvalidUtf8;
    deliver(bytes, true, sink);
    return ProtocolError::None;
  }
  if (ProtocolError e = validate(bytes); e != ProtocolError::None) return e;
  append(bytes);
  frame_remaining_ -= bytes.size();
  first_piece_ = false;
  return finish_piece(message_end, sink);
}

ProtocolError MessageAssembler::resume(MessageSink& sink) {
  if (!suspended_) return ProtocolError::None;
  const size_t before = buffer_.size();
  const ProtocolError e = transform_->resume_decode(buffer_, max_message_size_);
  return after_transform(before, e, suspended_end_, sink);
}

// What follows a decode() or resume_decode() that produced buffer_[before..).
ProtocolError MessageAssembler::after_transform(size_t before, ProtocolError e, bool message_end, MessageSink& sink) {
  if (e == ProtocolError::None && buffer_.size() > max_message_size_) e = ProtocolError::MessageTooLarge;
  // The same error for any split of the input: the first violating byte decides. Output the
  // transform produced before it failed (or before the size limit) comes earlier in the
  // message than the failure, so a UTF-8 fault in it is reported first (found by fuzzing:
  // test/fuzz/regressions/fuzz_frames_server/rsv1-error-depends-on-split).
  const size_t end = std::min<size_t>(buffer_.size(), std::max<size_t>(before, max_message_size_));
  if (ProtocolError u = validate({buffer_.data() + before, end - before}); u != ProtocolError::None) {
    suspended_ = false;
    return u;
  }
  suspended_ = e == ProtocolError::Yield;
  suspended_end_ = suspended_ && message_end;
  if (e != ProtocolError::None) return e;
  return finish_piece(message_end, sink);
}

ProtocolError MessageAssembler::finish_piece(bool message_end, MessageSink& sink) {
  if (!message_end) return ProtocolError::None;
  // §5.6 / §8.1: a text message must end on a code point boundary.
  if (opcode_ == Opcode::Text && !validator_.finish()) return ProtocolError::InvalidUtf8;
  deliver({buffer_.data(), buffer_.size()}, false, sink);
  return ProtocolError::None;
}

void MessageAssembler::deliver(std::span<const uint8_t> data, bool zero_copy, MessageSink& sink) {
  stats_.messages++;
  if (zero_copy) stats_.zero_copy_messages++;
  sink.on_message(opcode_, data, zero_copy);
  buffer_.clear();
  if (buffer_.capacity() > kRetainedCapacity) std::vector<uint8_t>().swap(buffer_);
  validator_.reset();
  first_piece_ = false;
}

}  // namespace sockudo::protocol
