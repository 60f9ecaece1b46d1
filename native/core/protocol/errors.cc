#include "core/protocol/errors.h"

#include <cstddef>

namespace sockudo::protocol {

namespace {
struct ErrorInfo {
  uint16_t close_code;
  const char* name;
  const char* message;
};

// Indexed by ProtocolError; keep in the enum's order.
constexpr ErrorInfo kErrors[] = {
    {0, "", ""},
    {1002, "WS_ERR_INVALID_OPCODE", "invalid opcode"},
    {1002, "WS_ERR_UNEXPECTED_RSV_1", "RSV1 must be clear"},
    {1002, "WS_ERR_UNEXPECTED_RSV_2_3", "RSV2 and RSV3 must be clear"},
    {1002, "WS_ERR_EXPECTED_MASK", "MASK must be set"},
    {1002, "WS_ERR_UNEXPECTED_MASK", "MASK must be clear"},
    {1002, "WS_ERR_EXPECTED_FIN", "FIN must be set on control frames"},
    {1002, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", "control frame payload longer than 125 bytes"},
    {1002, "WS_ERR_NON_MINIMAL_LENGTH", "payload length not in its minimal encoding"},
    {1002, "WS_ERR_INVALID_PAYLOAD_LENGTH", "most significant bit of a 64-bit length must be 0"},
    {1002, "WS_ERR_UNEXPECTED_CONTINUATION", "continuation frame without a message to continue"},
    {1002, "WS_ERR_EXPECTED_CONTINUATION", "new data frame while a fragmented message is in progress"},
    {1002, "WS_ERR_INVALID_CLOSE_PAYLOAD", "close frame payload of 1 byte"},
    {1002, "WS_ERR_INVALID_CLOSE_CODE", "invalid status code in close frame"},
    {1007, "WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence"},
    {1009, "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", "frame larger than maxFrameSize"},
    {1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "message larger than maxPayloadLength"},
    {1007, "WS_ERR_INVALID_COMPRESSED_DATA", "compressed message is not valid DEFLATE data"},
    {1011, "WS_ERR_COMPRESSOR_UNAVAILABLE", "no memory for a decompressor"},
    {1006, "WS_ERR_IDLE_TIMEOUT", "nothing received within the idle timeout"},
    {1006, "WS_ERR_PONG_TIMEOUT", "no pong received within the pong timeout"},
};
static_assert(sizeof(kErrors) / sizeof(kErrors[0]) == static_cast<size_t>(ProtocolError::PongTimeout) + 1,
              "kErrors must list every ProtocolError");

const ErrorInfo& info(ProtocolError e) {
  const auto i = static_cast<size_t>(e);
  return i < sizeof(kErrors) / sizeof(kErrors[0]) ? kErrors[i] : kErrors[0];
}
}  // namespace

uint16_t close_code_for(ProtocolError error) { return info(error).close_code; }
const char* error_name(ProtocolError error) { return info(error).name; }
const char* error_message(ProtocolError error) { return info(error).message; }
bool sends_close_frame(ProtocolError error) {
  const uint16_t code = close_code_for(error);
  return code != 0 && code != 1006;
}

const char* send_status_name(SendStatus status) {
  switch (status) {
    case SendStatus::Ok: return "";
    case SendStatus::NotOpen: return "WS_ERR_NOT_OPEN";
    case SendStatus::InvalidOpcode: return "WS_ERR_INVALID_SEND_OPCODE";
    case SendStatus::InvalidCloseCode: return "WS_ERR_INVALID_LOCAL_CLOSE_CODE";
    case SendStatus::InvalidCloseReason: return "WS_ERR_INVALID_CLOSE_REASON";
    case SendStatus::ControlPayloadTooLong: return "WS_ERR_CONTROL_PAYLOAD_TOO_LONG";
  }
  return "";
}

}  // namespace sockudo::protocol
