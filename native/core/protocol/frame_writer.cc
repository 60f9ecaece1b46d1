#include "core/protocol/frame_writer.h"

#include <algorithm>
#include <cstring>

#include "core/protocol/close_codes.h"
#include "core/utf8/utf8.h"

namespace sockudo::protocol {

SendStatus validate_local_close(uint16_t code, std::span<const uint8_t> reason) {
  if (code == close_code::kNoStatus)
    return reason.empty() ? SendStatus::Ok : SendStatus::InvalidCloseReason;
  // §7.4.1 / §7.4.2: the codes an endpoint may put in a close frame it initiates.
  if (!is_valid_local_close_code(code)) return SendStatus::InvalidCloseCode;
  // §5.5: a control payload is ≤ 125 bytes, two of them the code; §5.5.1: the reason is UTF-8.
  if (reason.size() > kMaxCloseReason || !utf8::is_valid(reason.data(), reason.size()))
    return SendStatus::InvalidCloseReason;
  return SendStatus::Ok;
}

void encode_server_message(std::vector<uint8_t>& out, Opcode opcode, bool rsv1, std::span<const uint8_t> payload,
                           size_t max_frame) {
  out.clear();
  if (max_frame == 0) max_frame = payload.size() ? payload.size() : 1;
  const size_t frames = payload.empty() ? 1 : (payload.size() + max_frame - 1) / max_frame;
  out.reserve(payload.size() + frames * kMaxFrameHeaderSize);
  size_t off = 0;
  do {
    const size_t n = std::min(max_frame, payload.size() - off);
    const bool first = off == 0;
    const bool last = off + n == payload.size();
    uint8_t head[kMaxFrameHeaderSize];
    const size_t h = encode_frame_header(head, first ? opcode : Opcode::Continuation, last, rsv1 && first, n, nullptr);
    out.insert(out.end(), head, head + h);
    out.insert(out.end(), payload.begin() + off, payload.begin() + off + n);
    off += n;
  } while (off < payload.size());
}

FrameWriter::FrameWriter(Role role, const simd::MaskKernel& kernel, MaskKeyPool* mask_keys,
                         size_t borrow_threshold)
    : role_(role), kernel_(&kernel), mask_keys_(mask_keys), borrow_threshold_(borrow_threshold) {}

void FrameWriter::write_frame(io::OutputQueue& out, Opcode opcode, bool fin, bool rsv1,
                              std::span<const uint8_t> payload,
                              std::unique_ptr<io::BufferOwner> owner) {
  const size_t len = payload.size();
  if (role_ == Role::Client) {
    // §5.3: a client masks every frame with a fresh key, and masking writes, so the masked bytes
    // go to owned memory: header and payload in one slice.
    uint8_t key[4];
    mask_keys_->next(key);
    const size_t header = encoded_header_size(len, true);
    uint8_t* dst = out.append_uninitialized(header + len);
    encode_frame_header(dst, opcode, fin, rsv1, len, key);
    if (len != 0) simd::apply_mask(*kernel_, dst + header, payload.data(), len, key, 0);
    return;
  }
  // §5.1: a server never masks.
  const size_t header = encoded_header_size(len, false);
  if (owner != nullptr && len >= borrow_threshold_) {
    uint8_t head[kMaxFrameHeaderSize];
    out.append_copy(head, encode_frame_header(head, opcode, fin, rsv1, len, nullptr));
    out.append_borrowed(payload.data(), len, std::move(owner));
    return;
  }
  uint8_t* dst = out.append_uninitialized(header + len);
  encode_frame_header(dst, opcode, fin, rsv1, len, nullptr);
  if (len != 0) std::memcpy(dst + header, payload.data(), len);
}

SendStatus FrameWriter::write_close(io::OutputQueue& out, uint16_t code,
                                    std::span<const uint8_t> reason) {
  if (SendStatus s = validate_local_close(code, reason); s != SendStatus::Ok) return s;
  write_close_unchecked(out, code, reason);
  return SendStatus::Ok;
}

void FrameWriter::write_close_unchecked(io::OutputQueue& out, uint16_t code,
                                        std::span<const uint8_t> reason) {
  // §5.5.1: the body, if any, is the 2-byte code in network order followed by the reason.
  uint8_t body[kMaxControlPayload];
  size_t n = 0;
  if (code != close_code::kNoStatus) {
    body[0] = static_cast<uint8_t>(code >> 8);
    body[1] = static_cast<uint8_t>(code);
    const size_t r = reason.size() < kMaxCloseReason ? reason.size() : kMaxCloseReason;
    if (r != 0) std::memcpy(body + 2, reason.data(), r);
    n = 2 + r;
  }
  write_frame(out, Opcode::Close, true, false, {body, n});
}

SendStatus FrameWriter::write_ping(io::OutputQueue& out, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxControlPayload) return SendStatus::ControlPayloadTooLong;
  write_frame(out, Opcode::Ping, true, false, payload);
  return SendStatus::Ok;
}

SendStatus FrameWriter::write_pong(io::OutputQueue& out, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxControlPayload) return SendStatus::ControlPayloadTooLong;
  write_frame(out, Opcode::Pong, true, false, payload);
  return SendStatus::Ok;
}

}  // namespace sockudo::protocol
