// The RFC 6455 §5.2 base framing header: opcodes, the decoded header, and its wire encoding.
// Pure wire format — which headers are *acceptable* (roles, extensions, limits) is decided by
// FrameParser, which cites the rules it enforces.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockudo::protocol {

// §5.2 / §11.8. Values 0x3-0x7 and 0xB-0xF are reserved and never valid on the wire.
enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

// Control frames are those with the high bit of the opcode set (§5.5).
inline constexpr bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }
inline constexpr bool is_known_opcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

// The largest header: 2 fixed bytes, an 8-byte extended length and a 4-byte masking key.
inline constexpr size_t kMaxFrameHeaderSize = 14;
// §5.5: every control frame payload is at most 125 bytes (so it fits the 7-bit length).
inline constexpr size_t kMaxControlPayload = 125;

struct FrameHeader {
  bool fin = false;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  uint8_t opcode = 0;  // raw 4 bits: may be a reserved value until the parser rejects it
  bool masked = false;
  uint8_t length_code = 0;  // the 7-bit length field: 0..125, 126 (16-bit form), 127 (64-bit form)
  uint8_t mask_key[4] = {};
  uint64_t payload_len = 0;
  uint8_t header_size = 0;  // 2..14

  Opcode op() const { return static_cast<Opcode>(opcode); }
};

// Size of the extended payload length that follows the first two bytes (0, 2 or 8; §5.2).
inline constexpr size_t extended_length_size(uint8_t second_byte) {
  const uint8_t code = second_byte & 0x7F;
  return code == 126 ? 2 : code == 127 ? 8 : 0;
}

// Full header size announced by the first two bytes (2..14).
inline constexpr size_t header_size(uint8_t second_byte) {
  return 2 + extended_length_size(second_byte) + ((second_byte & 0x80) ? 4 : 0);
}

// Decodes the fixed fields from the first two bytes; payload_len holds the 7-bit code until
// decode_extended_length runs.
void decode_first_two(uint8_t b0, uint8_t b1, FrameHeader& h);

// Reads the extended length (2 or 8 bytes at `p`, network byte order) into h.payload_len. Does
// not judge it: minimal encoding and the 64-bit MSB rule are the parser's (§5.2).
void decode_extended_length(const uint8_t* p, FrameHeader& h);

// Decodes a whole header from `p`, which holds at least header_size(p[1]) bytes.
void decode_frame_header(const uint8_t* p, FrameHeader& h);

// Encodes a header with the minimal length form (§5.2) into `out` (room for
// kMaxFrameHeaderSize bytes); `mask_key` null means an unmasked frame. Returns the bytes written.
size_t encode_frame_header(uint8_t* out, Opcode opcode, bool fin, bool rsv1, uint64_t payload_len,
                           const uint8_t* mask_key);

// Size encode_frame_header will produce.
inline constexpr size_t encoded_header_size(uint64_t payload_len, bool masked) {
  return (payload_len < 126 ? size_t{2} : payload_len <= 0xFFFF ? size_t{4} : size_t{10}) +
         (masked ? size_t{4} : size_t{0});
}

}  // namespace sockudo::protocol
