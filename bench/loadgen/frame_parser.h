// Incremental parser for the frames a server sends (RFC 6455 §5): bytes in, in pieces of any
// size; message and control events out through a FrameSink. Data payloads are handed over as
// they arrive (never copied), fragmented messages (§5.4) become one begin/data.../end sequence,
// and control frames (≤ 125 bytes, §5.5) are collected whole, also between fragments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sockudo::loadgen {

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Returning false stops the parser (the rest of the input is ignored).
  virtual bool on_message_begin(uint8_t opcode, bool compressed) = 0;
  virtual bool on_message_data(const uint8_t* data, size_t len) = 0;
  virtual bool on_message_end() = 0;
  virtual bool on_control(uint8_t opcode, const uint8_t* payload, size_t len) = 0;
};

class FrameParser {
 public:
  // RSV1 becomes legal on a message's first frame once permessage-deflate is negotiated.
  void allow_rsv1(bool allowed) { rsv1_allowed_ = allowed; }

  // Parses data[0..len). Returns false on a protocol violation (error() says which); returns true
  // otherwise, including when a sink callback stopped the parser.
  bool feed(const uint8_t* data, size_t len, FrameSink& sink);

  bool stopped() const { return stopped_; }
  const std::string& error() const { return error_; }

 private:
  bool fail(const char* why);
  bool start_frame(FrameSink& sink);   // a whole header is in hdr_
  bool finish_frame(FrameSink& sink);  // the current frame's payload is complete

  uint8_t hdr_[14];
  uint8_t hdr_have_ = 0;
  uint8_t hdr_size_ = 0;  // 0 until the first two bytes are known
  bool in_payload_ = false;
  uint64_t payload_left_ = 0;

  bool fin_ = false;
  uint8_t opcode_ = 0;
  bool in_message_ = false;  // a data message without its FIN frame yet (§5.4)
  uint8_t ctrl_[125];
  uint8_t ctrl_len_ = 0;

  bool rsv1_allowed_ = false;
  bool stopped_ = false;
  std::string error_;
};

}  // namespace sockudo::loadgen
