// Server-frame parsing with every header rule of RFC 6455 §5 a client must enforce.
#include "frame_parser.h"

#include "opcode.h"

#include <algorithm>
#include <cstring>

namespace sockudo::loadgen {

bool FrameParser::fail(const char* why) {
  error_ = why;
  stopped_ = true;
  return false;
}

bool FrameParser::feed(const uint8_t* data, size_t len, FrameSink& sink) {
  while (len > 0 && !stopped_) {
    if (!in_payload_) {
      const size_t need = hdr_size_ == 0 ? 2 : hdr_size_;
      const size_t take = std::min<size_t>(need - hdr_have_, len);
      std::memcpy(hdr_ + hdr_have_, data, take);
      hdr_have_ = static_cast<uint8_t>(hdr_have_ + take);
      data += take;
      len -= take;
      if (hdr_have_ < need) break;  // wait for the rest of the header
      if (hdr_size_ == 0) {
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        if (hdr_[1] & 0x80) return fail("server sent a masked frame (RFC 6455 §5.1)");
        const uint8_t code = hdr_[1] & 0x7F;
        hdr_size_ = static_cast<uint8_t>(2 + (code == 126 ? 2 : code == 127 ? 8 : 0));
        if (hdr_have_ < hdr_size_) continue;
      }
      if (!start_frame(sink)) return false;
      continue;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, len));
    if (opcode_ & 0x8) {
      std::memcpy(ctrl_ + ctrl_len_, data, take);
      ctrl_len_ = static_cast<uint8_t>(ctrl_len_ + take);
    } else if (!sink.on_message_data(data, take)) {
      stopped_ = true;
    }
    data += take;
    len -= take;
    payload_left_ -= take;
    if (payload_left_ == 0 && !stopped_ && !finish_frame(sink)) return false;
  }
  return error_.empty();
}

bool FrameParser::start_frame(FrameSink& sink) {
  const uint8_t b0 = hdr_[0];
  const bool fin = b0 & 0x80, rsv1 = b0 & 0x40;
  const uint8_t opcode = b0 & 0x0F;
  const uint8_t code = hdr_[1] & 0x7F;
  uint64_t len = code;
  if (code == 126) {
    len = (uint64_t{hdr_[2]} << 8) | hdr_[3];
    if (len < 126) return fail("non-minimal 16-bit payload length (RFC 6455 §5.2)");
  } else if (code == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | hdr_[2 + i];
    if (len >> 63) return fail("64-bit payload length with the high bit set (RFC 6455 §5.2)");
    if (len < 65536) return fail("non-minimal 64-bit payload length (RFC 6455 §5.2)");
  }
  hdr_have_ = 0;
  hdr_size_ = 0;
  // §5.2: RSV2/RSV3 need an extension that defines them; none is negotiated.
  if (b0 & 0x30) return fail("RSV2/RSV3 set without a negotiated extension (RFC 6455 §5.2)");
  const bool control = opcode & 0x8;
  if (control) {
    if (opcode != kClose && opcode != kPing && opcode != kPong) {
      return fail("reserved control opcode (RFC 6455 §5.2)");
    }
    // §5.5: control frames are never fragmented and carry at most 125 bytes.
    if (!fin) return fail("fragmented control frame (RFC 6455 §5.5)");
    if (len > 125) return fail("control frame longer than 125 bytes (RFC 6455 §5.5)");
    // RFC 7692 §6.1: the compressed bit is for data messages only.
    if (rsv1) return fail("RSV1 on a control frame (RFC 7692 §6.1)");
    ctrl_len_ = 0;
  } else {
    if (opcode > 0x2) return fail("reserved data opcode (RFC 6455 §5.2)");
    if (opcode == 0x0) {
      if (!in_message_) return fail("continuation frame without a message (RFC 6455 §5.4)");
      if (rsv1) return fail("RSV1 on a continuation frame (RFC 7692 §6.1)");
    } else {
      if (in_message_) return fail("new data message inside a fragmented one (RFC 6455 §5.4)");
      if (rsv1 && !rsv1_allowed_) return fail("RSV1 set without permessage-deflate (RFC 6455 §5.2)");
      in_message_ = true;
      if (!sink.on_message_begin(opcode, rsv1)) stopped_ = true;
    }
  }
  fin_ = fin;
  opcode_ = opcode;
  in_payload_ = true;
  payload_left_ = len;
  if (len == 0 && !stopped_) return finish_frame(sink);
  return true;
}

bool FrameParser::finish_frame(FrameSink& sink) {
  in_payload_ = false;
  if (opcode_ & 0x8) {
    if (!sink.on_control(opcode_, ctrl_, ctrl_len_)) stopped_ = true;
  } else if (fin_) {
    in_message_ = false;
    if (!sink.on_message_end()) stopped_ = true;
  }
  return true;
}

}  // namespace sockudo::loadgen
