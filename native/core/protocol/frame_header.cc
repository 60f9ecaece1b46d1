#include "core/protocol/frame_header.h"

#include <cstring>

namespace sockudo::protocol {

void decode_first_two(uint8_t b0, uint8_t b1, FrameHeader& h) {
  h.fin = (b0 & 0x80) != 0;
  h.rsv1 = (b0 & 0x40) != 0;
  h.rsv2 = (b0 & 0x20) != 0;
  h.rsv3 = (b0 & 0x10) != 0;
  h.opcode = b0 & 0x0F;
  h.masked = (b1 & 0x80) != 0;
  h.length_code = b1 & 0x7F;
  h.payload_len = h.length_code;
  h.header_size = static_cast<uint8_t>(header_size(b1));
}

void decode_extended_length(const uint8_t* p, FrameHeader& h) {
  const size_t n = h.length_code == 126 ? 2 : h.length_code == 127 ? 8 : 0;
  if (n == 0) return;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
  h.payload_len = v;
}

void decode_frame_header(const uint8_t* p, FrameHeader& h) {
  decode_first_two(p[0], p[1], h);
  decode_extended_length(p + 2, h);
  if (h.masked) std::memcpy(h.mask_key, p + h.header_size - 4, 4);
}

size_t encode_frame_header(uint8_t* out, Opcode opcode, bool fin, bool rsv1, uint64_t payload_len,
                           const uint8_t* mask_key) {
  out[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(opcode));
  const uint8_t mask_bit = mask_key ? 0x80 : 0;
  size_t n;
  if (payload_len < 126) {
    out[1] = static_cast<uint8_t>(mask_bit | payload_len);
    n = 2;
  } else if (payload_len <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<uint8_t>(payload_len >> 8);
    out[3] = static_cast<uint8_t>(payload_len);
    n = 4;
  } else {
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; i++) out[2 + i] = static_cast<uint8_t>(payload_len >> (56 - 8 * i));
    n = 10;
  }
  if (mask_key) {
    std::memcpy(out + n, mask_key, 4);
    n += 4;
  }
  return n;
}

}  // namespace sockudo::protocol
