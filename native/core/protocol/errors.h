// The two families of errors (DESIGN §7):
//  - ProtocolError: what the peer did wrong (or a liveness failure the engine detected). Each has
//    the close code the connection closes with and a stable string code. Names mirror the `ws`
//    package's where one exists, so users porting error handling keep their `err.code` checks.
//  - SendStatus: misuse by the local program (send after close, a close code a local endpoint may
//    not send, an oversized control payload). Never closes the connection.
#pragma once

#include <cstdint>

namespace sockudo::protocol {

enum class ProtocolError : uint8_t {
  None = 0,
  // --- violations of RFC 6455 by the peer ---------------------------------------------------
  InvalidOpcode,                // 1002 WS_ERR_INVALID_OPCODE: reserved opcode (§5.2)
  UnexpectedRsv1,               // 1002 WS_ERR_UNEXPECTED_RSV_1 (§5.2, RFC 7692 §6.1)
  UnexpectedRsv23,              // 1002 WS_ERR_UNEXPECTED_RSV_2_3 (§5.2)
  ExpectedMask,                 // 1002 WS_ERR_EXPECTED_MASK: unmasked client frame (§5.1)
  UnexpectedMask,               // 1002 WS_ERR_UNEXPECTED_MASK: masked server frame (§5.1)
  ExpectedFin,                  // 1002 WS_ERR_EXPECTED_FIN: fragmented control frame (§5.5)
  InvalidControlPayloadLength,  // 1002 WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: > 125 (§5.5)
  NonMinimalLength,             // 1002 WS_ERR_NON_MINIMAL_LENGTH (§5.2)
  InvalidPayloadLength,         // 1002 WS_ERR_INVALID_PAYLOAD_LENGTH: 64-bit length MSB set (§5.2)
  UnexpectedContinuation,       // 1002 WS_ERR_UNEXPECTED_CONTINUATION: nothing to continue (§5.4)
  ExpectedContinuation,         // 1002 WS_ERR_EXPECTED_CONTINUATION: new message mid-message (§5.4)
  InvalidClosePayload,          // 1002 WS_ERR_INVALID_CLOSE_PAYLOAD: 1-byte close body (§5.5.1)
  InvalidCloseCode,             // 1002 WS_ERR_INVALID_CLOSE_CODE (§7.4.1, §7.4.2)
  InvalidUtf8,                  // 1007 WS_ERR_INVALID_UTF8: text or close reason (§8.1)
  FrameTooLarge,                // 1009 WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: > max_frame_size
  MessageTooLarge,              // 1009 WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: > max_message_size
  // --- permessage-deflate (RFC 7692) ---------------------------------------------------------
  InvalidCompressedData,        // 1007 WS_ERR_INVALID_COMPRESSED_DATA: not DEFLATE (§6.2, §8.2.3)
  CompressorUnavailable,        // 1011 WS_ERR_COMPRESSOR_UNAVAILABLE: inflater memory refused
  // --- liveness failures: no close frame is exchanged, reported locally as 1006 -------------
  IdleTimeout,                  // 1006 WS_ERR_IDLE_TIMEOUT: nothing received for idle_timeout_ms
  PongTimeout,                  // 1006 WS_ERR_PONG_TIMEOUT: no answer to our ping in time
  // --- not an error ------------------------------------------------------------------------
  // A sink callback used up this turn's work budget (inflate output, message_transform.h):
  // parsing stops after the bytes already taken and resumes on a later turn (Connection::resume).
  Yield = 0xFF,
};

// The close code the connection fails with (§7.4.1): 1002, 1007, 1009, or 1006 for liveness
// failures (never sent on the wire). 0 for None.
uint16_t close_code_for(ProtocolError error);
// Stable string code ("WS_ERR_..."); "" for None.
const char* error_name(ProtocolError error);
// One-line human description, for logs and error messages.
const char* error_message(ProtocolError error);
// Whether failing with this error sends a close frame first (peer violations) or not (liveness).
bool sends_close_frame(ProtocolError error);

enum class SendStatus : uint8_t {
  Ok = 0,
  NotOpen,                // WS_ERR_NOT_OPEN: a close frame was already sent or the connection is closed
  InvalidOpcode,          // WS_ERR_INVALID_SEND_OPCODE: send_message takes Text or Binary only
  InvalidCloseCode,       // WS_ERR_INVALID_LOCAL_CLOSE_CODE: not a code a local endpoint may send
  InvalidCloseReason,     // WS_ERR_INVALID_CLOSE_REASON: > 123 bytes, not UTF-8, or without a code
  ControlPayloadTooLong,  // WS_ERR_CONTROL_PAYLOAD_TOO_LONG: ping/pong payload > 125 bytes (§5.5)
};

const char* send_status_name(SendStatus status);

// The numbers behind a size failure (FrameTooLarge, MessageTooLarge), for a message that names
// the limit and what broke it.
struct SizeViolation {
  uint64_t limit = 0;
  uint64_t size = 0;      // the frame's or message's size as announced so far; 0 when unknown
  bool inflated = false;  // a compressed message grew past the limit while inflating (size ≥ limit + 1)
};

}  // namespace sockudo::protocol
