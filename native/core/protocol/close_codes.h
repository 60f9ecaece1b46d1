// Close status codes (RFC 6455 §7.4) and the close frame body (§5.5.1): which codes may appear on
// the wire, which a local program may send, and how a close payload is validated and read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/protocol/errors.h"

namespace sockudo::protocol {

namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kReserved = 1004;            // never on the wire
inline constexpr uint16_t kNoStatus = 1005;            // never on the wire: "the close had no code"
inline constexpr uint16_t kAbnormal = 1006;            // never on the wire: "no close frame at all"
inline constexpr uint16_t kInvalidPayload = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kMandatoryExtension = 1010;  // sent by clients only
inline constexpr uint16_t kInternalError = 1011;
inline constexpr uint16_t kServiceRestart = 1012;      // IANA registry
inline constexpr uint16_t kTryAgainLater = 1013;       // IANA registry
inline constexpr uint16_t kBadGateway = 1014;          // IANA registry
inline constexpr uint16_t kTlsHandshake = 1015;        // never on the wire
}  // namespace close_code

// Max close reason: the 125-byte control payload minus the 2-byte code (§5.5, §5.5.1).
inline constexpr size_t kMaxCloseReason = 123;

// Whether a peer may put `code` in a close frame (§7.4.1, §7.4.2 and the IANA registry):
// 1000-1003, 1007-1014 and 3000-4999.
bool is_valid_wire_close_code(uint16_t code);

// Whether the local program may send `code`: 1000, 1001-1003, 1007-1014 (1012-1014 from the IANA
// registry: service restart, try again later, bad gateway; `ws` sends them too) and 3000-4999.
bool is_valid_local_close_code(uint16_t code);

// Checks a received close body (§5.5.1): empty, or a valid code followed by a UTF-8 reason.
// Returns InvalidClosePayload (1 byte), InvalidCloseCode or InvalidUtf8, else None.
ProtocolError validate_close_payload(std::span<const uint8_t> payload);

struct ClosePayload {
  uint16_t code = close_code::kNoStatus;  // kNoStatus when the body is empty
  std::span<const uint8_t> reason;
};
// Reads a body that validate_close_payload accepted.
ClosePayload parse_close_payload(std::span<const uint8_t> payload);

}  // namespace sockudo::protocol
