#include "core/protocol/close_codes.h"

#include "core/utf8/utf8.h"

namespace sockudo::protocol {

bool is_valid_wire_close_code(uint16_t code) {
  // §7.4.1: 1004 is reserved; 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close
  // control frame". 0-999 are unused (§7.4.2), 1016-2999 are reserved for future RFCs, 3000-3999
  // are registered with IANA and 4000-4999 private; ≥ 5000 is outside every range.
  if (code >= 3000 && code <= 4999) return true;
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

bool is_valid_local_close_code(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

ProtocolError validate_close_payload(std::span<const uint8_t> payload) {
  if (payload.empty()) return ProtocolError::None;
  // §5.5.1: if there is a body, its first two bytes are the status code.
  if (payload.size() == 1) return ProtocolError::InvalidClosePayload;
  const uint16_t code = static_cast<uint16_t>(payload[0] << 8 | payload[1]);
  if (!is_valid_wire_close_code(code)) return ProtocolError::InvalidCloseCode;
  // §5.5.1: the reason is UTF-8; §8.1 makes invalid UTF-8 a 1007 failure.
  if (!utf8::is_valid(payload.data() + 2, payload.size() - 2)) return ProtocolError::InvalidUtf8;
  return ProtocolError::None;
}

ClosePayload parse_close_payload(std::span<const uint8_t> payload) {
  ClosePayload out;
  if (payload.size() >= 2) {
    out.code = static_cast<uint16_t>(payload[0] << 8 | payload[1]);
    out.reason = payload.subspan(2);
  }
  return out;
}

}  // namespace sockudo::protocol
