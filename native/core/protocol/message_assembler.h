// Turns data frame events into whole messages.
//
// A single-frame message whose whole payload arrived in one read is delivered straight from the
// caller's buffer (zero-copy). Anything else is appended to one buffer: reserved at exactly the
// announced frame size for the first frame, then grown geometrically, so a message in N fragments
// costs O(size) copying rather than O(N * size). Text is validated as each piece arrives with a
// StreamValidator (fail fast, each byte examined once, at most 3 bytes carried between pieces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/protocol/errors.h"
#include "core/protocol/events.h"
#include "core/protocol/frame_header.h"
#include "core/protocol/message_transform.h"
#include "core/utf8/utf8.h"

namespace sockudo::protocol {

class MessageAssembler {
 public:
  // Counters that let tests prove the work is linear in the message size.
  struct Stats {
    uint64_t messages = 0;
    uint64_t zero_copy_messages = 0;
    uint64_t validated_bytes = 0;  // bytes handed to the UTF-8 validator
    uint64_t validator_calls = 0;
    uint64_t buffered_bytes = 0;   // bytes copied into the assembly buffer
    uint64_t buffer_growths = 0;   // reallocations of the assembly buffer
  };

  // A buffer larger than this is released after its message is delivered, so a big message does
  // not pin memory for the life of the connection, and an idle connection that once received a
  // fragmented or compressed message (inflate grows the buffer in 16 KiB steps) stays small:
  // with 10,000s of connections that is what idle memory is made of. Reallocating per message
  // costs far less than the message's own parsing.
  static constexpr size_t kRetainedCapacity = 4 * 1024;
  // The most reserved ahead of bytes actually received (see append()).
  static constexpr size_t kMaxUpfrontReserve = 1024 * 1024;

  explicit MessageAssembler(uint64_t max_message_size, MessageTransform* transform = nullptr);

  // Called for every data frame (FrameSink::on_data_frame_begin).
  ProtocolError begin_frame(const FrameHeader& header, bool message_start);
  // Called for every payload piece (FrameSink::on_data_payload); delivers the message to `sink`
  // on its last piece. Yield when the transform paused (its budget is spent): the piece counts
  // as taken, and resume() continues it on a later turn.
  ProtocolError payload(std::span<const uint8_t> bytes, bool message_end, MessageSink& sink);
  // Continues the transformed piece that returned Yield: Yield again, an error, or None (done,
  // the message delivered if that piece ended it).
  ProtocolError resume(MessageSink& sink);
  bool suspended() const { return suspended_; }
  // Abandons any partial message.
  void reset();

  size_t buffer_capacity() const { return buffer_.capacity(); }
  const Stats& stats() const { return stats_; }

 private:
  ProtocolError validate(std::span<const uint8_t> bytes);
  ProtocolError after_transform(size_t before, ProtocolError e, bool message_end, MessageSink& sink);
  ProtocolError finish_piece(bool message_end, MessageSink& sink);
  void append(std::span<const uint8_t> bytes);
  void deliver(std::span<const uint8_t> data, bool zero_copy, MessageSink& sink);

  uint64_t max_message_size_;
  MessageTransform* transform_;
  std::vector<uint8_t> buffer_;
  utf8::StreamValidator validator_;
  uint64_t frame_remaining_ = 0;  // payload bytes of the current frame not yet received
  Opcode opcode_ = Opcode::Binary;
  bool transformed_ = false;     // RSV1 on the first frame: payload goes through transform_
  bool first_piece_ = false;     // the next piece is the first of its message
  bool frame_reserved_ = false;  // room for the current frame has been reserved
  bool suspended_ = false;       // the transform yielded; resume() continues the piece
  bool suspended_end_ = false;   // ...and that piece ended the message
  Stats stats_;
};

}  // namespace sockudo::protocol
