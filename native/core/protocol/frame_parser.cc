#include "core/protocol/frame_parser.h"

#include <algorithm>
#include <cstring>

#include "core/protocol/close_codes.h"

namespace sockudo::protocol {

FrameParser::FrameParser(const ParserConfig& config)
    : config_(config), kernel_(config.kernel ? config.kernel : &simd::scalar_mask_kernel()) {}

void FrameParser::reset() {
  header_ = {};
  remaining_ = 0;
  message_len_ = 0;
  mask_phase_ = 0;
  state_ = State::Running;
  error_ = ProtocolError::None;
  in_payload_ = false;
  in_message_ = false;
  spill_len_ = 0;
  control_len_ = 0;
}

void FrameParser::stop() {
  if (state_ == State::Running) state_ = State::Stopped;
}

ProtocolError FrameParser::fail(ProtocolError e) {
  state_ = State::Failed;
  error_ = e;
  return e;
}

void FrameParser::resume() {
  if (state_ == State::Suspended) state_ = State::Running;
}

ProtocolError FrameParser::feed(uint8_t* data, size_t len, FrameSink& sink, size_t* consumed) {
  size_t pos = 0;
  while (state_ == State::Running) {
    if (!in_payload_) {
      if (pos == len) break;
      bool complete = false;
      pos += take_header(data + pos, len - pos, complete);
      if (state_ != State::Running || !complete) break;
      if (ProtocolError e = begin_frame(sink); e == ProtocolError::Yield) {
        state_ = State::Suspended;
      } else if (e != ProtocolError::None) {
        if (consumed) *consumed = pos;
        return fail(e);
      }
    } else {
      if (pos == len) break;
      pos += take_payload(data + pos, len - pos, sink);
    }
  }
  if (consumed) *consumed = state_ == State::Suspended ? pos : len;
  return error_;
}

// Takes header bytes from p[0..n). Decodes straight from the input when the whole header is
// there (the common case), otherwise accumulates in spill_. Each check runs as soon as the bytes
// it needs are present, so a bad header fails at the same point of the byte stream for every
// split, and before any of its payload is accepted.
size_t FrameParser::take_header(const uint8_t* p, size_t n, bool& complete) {
  if (spill_len_ == 0 && n >= 2 && n >= header_size(p[1])) {
    decode_first_two(p[0], p[1], header_);
    ProtocolError e = check_first_two();
    if (e == ProtocolError::None) {
      decode_extended_length(p + 2, header_);
      e = check_length();
    }
    if (e != ProtocolError::None) {
      fail(e);
      return 0;
    }
    if (header_.masked) std::memcpy(header_.mask_key, p + header_.header_size - 4, 4);
    complete = true;
    return header_.header_size;
  }

  size_t taken = 0;
  // Copies input into the spill until it holds `upto` bytes; true once it does.
  auto pull = [&](size_t upto) {
    const size_t k = std::min(upto - spill_len_, n - taken);
    std::memcpy(spill_ + spill_len_, p + taken, k);
    spill_len_ = static_cast<uint8_t>(spill_len_ + k);
    taken += k;
    return spill_len_ == upto;
  };
  if (spill_len_ < 2) {
    if (!pull(2)) return taken;
    decode_first_two(spill_[0], spill_[1], header_);
    ProtocolError e = check_first_two();
    if (e == ProtocolError::None && header_.length_code < 126) e = check_length();
    if (e != ProtocolError::None) {
      fail(e);
      return taken;
    }
  }
  const size_t length_end = 2 + extended_length_size(spill_[1]);
  if (spill_len_ < length_end) {
    if (!pull(length_end)) return taken;
    decode_extended_length(spill_ + 2, header_);
    if (ProtocolError e = check_length(); e != ProtocolError::None) {
      fail(e);
      return taken;
    }
  }
  if (!pull(header_.header_size)) return taken;
  if (header_.masked) std::memcpy(header_.mask_key, spill_ + header_.header_size - 4, 4);
  spill_len_ = 0;
  complete = true;
  return taken;
}

// Rules decided by the first two bytes.
ProtocolError FrameParser::check_first_two() const {
  const FrameHeader& h = header_;
  // §5.2: RSV2 and RSV3 MUST be 0 unless an extension defines them; none we support does.
  if (h.rsv2 || h.rsv3) return ProtocolError::UnexpectedRsv23;
  // §5.2: reserved opcodes 0x3-0x7 and 0xB-0xF: "the receiving endpoint MUST _Fail_".
  if (!is_known_opcode(h.opcode)) return ProtocolError::InvalidOpcode;
  const Opcode op = h.op();
  if (is_control(op)) {
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be
    // fragmented."
    if (!h.fin) return ProtocolError::ExpectedFin;
    // §5.2: RSV1 only with an extension that defines it; RFC 7692 §6.1 defines it for the first
    // frame of a data message only, never for control frames.
    if (h.rsv1) return ProtocolError::UnexpectedRsv1;
    if (h.length_code > kMaxControlPayload) return ProtocolError::InvalidControlPayloadLength;
  } else if (op == Opcode::Continuation) {
    // RFC 7692 §6.1: RSV1 set on a continuation frame is a failure even with deflate on.
    if (h.rsv1) return ProtocolError::UnexpectedRsv1;
    // §5.4: a continuation frame continues a fragmented message; there must be one.
    if (!in_message_) return ProtocolError::UnexpectedContinuation;
  } else {
    if (h.rsv1 && !config_.rsv1_allowed) return ProtocolError::UnexpectedRsv1;
    // §5.4: "the fragments of one message MUST NOT be interleaved between the fragments of another"
    if (in_message_) return ProtocolError::ExpectedContinuation;
  }
  // §5.1: a server MUST close on an unmasked client frame; a client MUST close on a masked
  // server frame.
  if (config_.role == Role::Server && !h.masked) return ProtocolError::ExpectedMask;
  if (config_.role == Role::Client && h.masked) return ProtocolError::UnexpectedMask;
  return ProtocolError::None;
}

// Rules decided by the payload length, checked before a single payload byte is taken.
ProtocolError FrameParser::check_length() const {
  const FrameHeader& h = header_;
  if (h.length_code == 127) {
    // §5.2: "the most significant bit MUST be 0".
    if (h.payload_len >> 63) return ProtocolError::InvalidPayloadLength;
    // §5.2: "the minimal number of bytes MUST be used to encode the length".
    if (h.payload_len <= 0xFFFF) return ProtocolError::NonMinimalLength;
  } else if (h.length_code == 126 && h.payload_len < 126) {
    return ProtocolError::NonMinimalLength;
  }
  if (is_control(h.op())) return ProtocolError::None;
  // §10.4: limits on frame and message size protect against memory exhaustion; 1009 (§7.4.1).
  if (h.payload_len > config_.max_frame_size) return ProtocolError::FrameTooLarge;
  const uint64_t before = h.op() == Opcode::Continuation ? message_len_ : 0;
  if (before > config_.max_message_size || h.payload_len > config_.max_message_size - before)
    return ProtocolError::MessageTooLarge;
  return ProtocolError::None;
}

ProtocolError FrameParser::begin_frame(FrameSink& sink) {
  remaining_ = header_.payload_len;
  mask_phase_ = 0;
  control_len_ = 0;
  const Opcode op = header_.op();
  if (is_control(op)) {
    if (remaining_ == 0) return finish_control({}, sink);
    in_payload_ = true;
    return ProtocolError::None;
  }
  const bool message_start = op != Opcode::Continuation;
  if (message_start) message_len_ = 0;
  message_len_ += header_.payload_len;
  in_message_ = !header_.fin;
  if (ProtocolError e = sink.on_data_frame_begin(header_, message_start); e != ProtocolError::None)
    return e;
  if (state_ != State::Running) return ProtocolError::None;
  if (remaining_ == 0) return sink.on_data_payload({}, true, header_.fin);
  in_payload_ = true;
  return ProtocolError::None;
}

size_t FrameParser::take_payload(uint8_t* p, size_t n, FrameSink& sink) {
  const size_t k = static_cast<size_t>(std::min<uint64_t>(remaining_, n));
  // §5.3: unmask in place; the phase carries the key position across reads.
  if (header_.masked) mask_phase_ = simd::apply_mask(*kernel_, p, p, k, header_.mask_key, mask_phase_);
  remaining_ -= k;
  const bool frame_end = remaining_ == 0;
  if (frame_end) in_payload_ = false;
  ProtocolError e = ProtocolError::None;
  if (is_control(header_.op())) {
    if (frame_end && control_len_ == 0) {
      e = finish_control({p, k}, sink);  // the whole control payload is in this read
    } else {
      if (!control_) control_ = std::make_unique<uint8_t[]>(kMaxControlPayload);
      std::memcpy(control_.get() + control_len_, p, k);  // k ≤ 125 - control_len_ (checked header)
      control_len_ = static_cast<uint8_t>(control_len_ + k);
      if (frame_end) e = finish_control({control_.get(), control_len_}, sink);
    }
  } else {
    e = sink.on_data_payload({p, k}, frame_end, frame_end && header_.fin);
  }
  if (e == ProtocolError::Yield) {
    if (state_ == State::Running) state_ = State::Suspended;
  } else if (e != ProtocolError::None) {
    fail(e);
  }
  return k;
}

ProtocolError FrameParser::finish_control(std::span<const uint8_t> payload, FrameSink& sink) {
  const Opcode op = header_.op();
  // §5.5.1 / §7.4: a close body is empty or a valid code plus a UTF-8 reason.
  if (op == Opcode::Close) {
    if (ProtocolError e = validate_close_payload(payload); e != ProtocolError::None) return e;
  }
  if (ProtocolError e = sink.on_control_frame(op, payload); e != ProtocolError::None) return e;
  // §5.5.1: after a close frame the peer sends no more data frames; whatever follows is ignored.
  if (op == Opcode::Close && state_ == State::Running) state_ = State::Closed;
  return ProtocolError::None;
}

}  // namespace sockudo::protocol
