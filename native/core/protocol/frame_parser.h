// Incremental RFC 6455 frame parser. Bytes go in, in pieces of any size; frame events come out
// through a FrameSink. The same input produces the same events for every way it is split.
//
// Masked payloads are unmasked in place, in the caller's buffer, with the configured kernel; a
// payload split across reads resumes at the right key phase. The parser allocates nothing: a
// header split across reads waits in a 14-byte spill, a control payload split across reads in a
// 125-byte buffer, and data payloads are handed to the sink as they arrive.
//
// Every rule of RFC 6455 §5 that a header can break is checked as soon as the bytes that break it
// are present, before any payload is accepted: sizes above the limits fail from the header alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/protocol/errors.h"
#include "core/protocol/frame_header.h"
#include "core/protocol/role.h"
#include "core/simd/mask.h"

namespace sockudo::protocol {

inline constexpr uint64_t kDefaultMaxFrameSize = 16ull << 20;    // 16 MiB
inline constexpr uint64_t kDefaultMaxMessageSize = 64ull << 20;  // 64 MiB

struct ParserConfig {
  Role role = Role::Server;
  // RSV1 marks a compressed message once permessage-deflate is negotiated (RFC 7692 §6).
  bool rsv1_allowed = false;
  uint64_t max_frame_size = kDefaultMaxFrameSize;
  uint64_t max_message_size = kDefaultMaxMessageSize;
  const simd::MaskKernel* kernel = nullptr;  // null: the scalar kernel
};

// Receives frame events. A method returning anything but ProtocolError::None fails the parser
// with that error (the message assembler uses this for UTF-8 and size failures), except
// ProtocolError::Yield: the bytes handed to the callback count as taken and the parser suspends
// right after them (feed() reports how far it got; resume() continues with the next byte).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // A data frame's header passed every check. `message_start` when it begins a new message
  // (Text/Binary opcode), false for a continuation.
  virtual ProtocolError on_data_frame_begin(const FrameHeader& header, bool message_start) = 0;
  // The next unmasked payload bytes of the current data frame (possibly empty for an empty
  // frame). `frame_end` on the frame's last bytes; `message_end` on the last bytes of a FIN frame.
  // The span points into the buffer passed to feed() and is valid only during the call.
  virtual ProtocolError on_data_payload(std::span<const uint8_t> bytes, bool frame_end,
                                        bool message_end) = 0;
  // A whole control frame (≤ 125 bytes, unmasked). A close payload has already been validated.
  virtual ProtocolError on_control_frame(Opcode opcode, std::span<const uint8_t> payload) = 0;
};

class FrameParser {
 public:
  enum class State : uint8_t {
    Running,
    Closed,   // a close frame was delivered: the rest of the input is ignored (§5.5.1)
    Stopped,  // stop() was called
    Failed,   // a protocol error; error() says which
    Suspended,  // a sink callback returned Yield: resume() before feeding the rest
  };

  explicit FrameParser(const ParserConfig& config);

  // Parses data[0..len), unmasking payload bytes in place. Returns the error that failed the
  // parser (now or earlier), or None. Input after a close frame, stop() or an error is ignored.
  // `consumed` (optional) receives how many bytes were taken: len, unless the parser suspended.
  ProtocolError feed(uint8_t* data, size_t len, FrameSink& sink, size_t* consumed = nullptr);
  // Leaves the Suspended state; the next feed() starts where the suspended one stopped.
  void resume();

  // Ends parsing; safe to call from a sink callback (parsing stops when the callback returns).
  void stop();
  void reset();

  State state() const { return state_; }
  ProtocolError error() const { return error_; }
  // The current (or failing) frame's announced payload length, and the message's length with it.
  uint64_t frame_size() const { return header_.payload_len; }
  uint64_t announced_message_size() const {
    return (header_.op() == Opcode::Continuation ? message_len_ : 0) + header_.payload_len;
  }
  // True while a fragmented message is in progress (a non-FIN data frame was seen).
  bool in_message() const { return in_message_; }

 private:
  size_t take_header(const uint8_t* p, size_t n, bool& complete);
  ProtocolError check_first_two() const;
  ProtocolError check_length() const;
  ProtocolError begin_frame(FrameSink& sink);
  size_t take_payload(uint8_t* p, size_t n, FrameSink& sink);
  ProtocolError finish_control(std::span<const uint8_t> payload, FrameSink& sink);
  ProtocolError fail(ProtocolError e);

  ParserConfig config_;
  const simd::MaskKernel* kernel_;
  FrameHeader header_;
  uint64_t remaining_ = 0;    // payload bytes of the current frame still to come
  uint64_t message_len_ = 0;  // payload bytes announced so far by the current message's frames
  size_t mask_phase_ = 0;
  State state_ = State::Running;
  ProtocolError error_ = ProtocolError::None;
  bool in_payload_ = false;
  bool in_message_ = false;
  uint8_t spill_len_ = 0;
  uint8_t control_len_ = 0;
  uint8_t spill_[kMaxFrameHeaderSize];
  // A control payload split across reads (rare: allocated the first time one is).
  std::unique_ptr<uint8_t[]> control_;
};

}  // namespace sockudo::protocol
