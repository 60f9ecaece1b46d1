// Client frame encoding (RFC 6455 §5.2 layout, §5.3 masking).
#include "frame_writer.h"

#include <cstring>

namespace sockudo::loadgen {

void mask_bytes(uint8_t* dst, const uint8_t* src, size_t len, const uint8_t key[4]) {
  uint64_t k8;
  uint8_t kb[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&k8, kb, 8);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {  // the key repeats every 4 bytes, so 8-byte words stay in phase
    uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= k8;
    std::memcpy(dst + i, &w, 8);
  }
  for (; i < len; ++i) dst[i] = src[i] ^ key[i & 3];
}

size_t write_client_frame(uint8_t* out, Opcode opcode, bool rsv1, const uint8_t* payload,
                          size_t len, const uint8_t key[4]) {
  uint8_t* p = out;
  *p++ = static_cast<uint8_t>(0x80 | (rsv1 ? 0x40 : 0) | opcode);  // FIN, RSV1, opcode
  if (len < 126) {
    *p++ = static_cast<uint8_t>(0x80 | len);  // MASK bit + 7-bit length
  } else if (len < 65536) {
    *p++ = 0x80 | 126;
    *p++ = static_cast<uint8_t>(len >> 8);
    *p++ = static_cast<uint8_t>(len);
  } else {
    *p++ = 0x80 | 127;
    for (int i = 7; i >= 0; --i) *p++ = static_cast<uint8_t>(static_cast<uint64_t>(len) >> (8 * i));
  }
  std::memcpy(p, key, 4);
  p += 4;
  mask_bytes(p, payload, len, key);
  return static_cast<size_t>(p - out) + len;
}

}  // namespace sockudo::loadgen
