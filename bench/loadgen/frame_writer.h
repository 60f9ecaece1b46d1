// Client frames (RFC 6455 §5.2): FIN set, always masked (§5.1, §5.3). The load generator frames
// a message once and reuses the bytes, so the mask key is fixed per connection: a real random
// key, masking every payload byte as §5.3 describes, but not a fresh key per frame.
#pragma once

#include <cstddef>
#include <cstdint>

#include "opcode.h"

namespace sockudo::loadgen {

// 2 fixed bytes + 0/2/8 extended length bytes (§5.2) + the 4-byte masking key.
inline constexpr size_t client_header_size(size_t payload_len) {
  return 2 + (payload_len < 126 ? 0 : payload_len < 65536 ? 2 : 8) + 4;
}
inline constexpr size_t kMaxClientHeader = 14;

// dst[i] = src[i] ^ key[i % 4] (§5.3); dst may equal src.
void mask_bytes(uint8_t* dst, const uint8_t* src, size_t len, const uint8_t key[4]);

// Writes one complete masked frame (header, key, masked payload) to `out`, which must have room
// for client_header_size(len) + len bytes. `rsv1` marks a compressed message (RFC 7692 §6).
// Returns the number of bytes written.
size_t write_client_frame(uint8_t* out, Opcode opcode, bool rsv1, const uint8_t* payload,
                          size_t len, const uint8_t key[4]);

}  // namespace sockudo::loadgen
