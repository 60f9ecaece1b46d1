// Close codes (RFC 6455 §7.4, IANA registry), close payload validation (§5.5.1) and the error
// tables: every error has a close code and a unique, stable WS_ERR_ name.
#include <set>
#include <string>

#include "core/protocol/close_codes.h"
#include "core/protocol/errors.h"
#include "harness.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::hex;

TEST(wire_close_codes_follow_the_registry) {
  for (uint32_t code = 0; code <= 65535; code++) {
    const auto c = static_cast<uint16_t>(code);
    const bool want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    REQUIRE_MSG(is_valid_wire_close_code(c) == want, std::to_string(code));
  }
  for (uint16_t never : {1004, 1005, 1006, 1015}) CHECK(!is_valid_wire_close_code(never));
}

TEST(local_close_codes_are_a_subset_of_wire_codes) {
  for (uint32_t code = 0; code <= 65535; code++) {
    const auto c = static_cast<uint16_t>(code);
    if (is_valid_local_close_code(c)) REQUIRE(is_valid_wire_close_code(c));
  }
  CHECK(is_valid_local_close_code(1000));
  CHECK(is_valid_local_close_code(1011));
  CHECK(is_valid_local_close_code(1014));
  CHECK(!is_valid_local_close_code(1015));
  CHECK(!is_valid_local_close_code(1005));
  CHECK(is_valid_local_close_code(4999));
}

TEST(close_payload_validation) {
  CHECK_EQ(validate_close_payload({}), ProtocolError::None);
  CHECK_EQ(validate_close_payload(hex("03")), ProtocolError::InvalidClosePayload);
  CHECK_EQ(validate_close_payload(hex("03 e8")), ProtocolError::None);
  CHECK_EQ(validate_close_payload(hex("03 ed")), ProtocolError::InvalidCloseCode);  // 1005
  CHECK_EQ(validate_close_payload(hex("0b b8 e2 82 ac")), ProtocolError::None);     // 3000 "€"
  CHECK_EQ(validate_close_payload(hex("0b b8 e2 82")), ProtocolError::InvalidUtf8);
  CHECK_EQ(validate_close_payload(hex("13 88")), ProtocolError::InvalidCloseCode);  // 5000
  // The code is judged before the reason.
  CHECK_EQ(validate_close_payload(hex("00 00 ff")), ProtocolError::InvalidCloseCode);
}

TEST(close_payload_parsing) {
  const auto body = hex("03 e9 62 79 65");
  const ClosePayload p = parse_close_payload(body);
  CHECK_EQ(p.code, 1001);
  CHECK_EQ(std::string(p.reason.begin(), p.reason.end()), "bye");
  const ClosePayload empty = parse_close_payload({});
  CHECK_EQ(empty.code, close_code::kNoStatus);
  CHECK(empty.reason.empty());
}

TEST(every_error_has_a_code_and_a_unique_name) {
  std::set<std::string> names;
  const auto last = static_cast<int>(ProtocolError::PongTimeout);
  for (int i = 1; i <= last; i++) {
    const auto e = static_cast<ProtocolError>(i);
    const std::string name = error_name(e);
    CHECK(name.rfind("WS_ERR_", 0) == 0);
    CHECK(names.insert(name).second);
    CHECK(std::string(error_message(e)).size() > 0);
    const uint16_t code = close_code_for(e);
    // 1011: the only failure that is ours, not the peer's (no memory for an inflater).
    CHECK(code == 1002 || code == 1007 || code == 1009 || code == 1011 || code == 1006);
    CHECK_EQ(sends_close_frame(e), code != 1006);
  }
  CHECK_EQ(close_code_for(ProtocolError::InvalidCompressedData), 1007);
  CHECK_EQ(close_code_for(ProtocolError::CompressorUnavailable), 1011);
  CHECK_EQ(close_code_for(ProtocolError::None), 0);
  CHECK_EQ(std::string(error_name(ProtocolError::None)), "");
  // The names `ws` users already match on.
  CHECK_EQ(std::string(error_name(ProtocolError::InvalidOpcode)), "WS_ERR_INVALID_OPCODE");
  CHECK_EQ(std::string(error_name(ProtocolError::UnexpectedRsv1)), "WS_ERR_UNEXPECTED_RSV_1");
  CHECK_EQ(std::string(error_name(ProtocolError::UnexpectedRsv23)), "WS_ERR_UNEXPECTED_RSV_2_3");
  CHECK_EQ(std::string(error_name(ProtocolError::ExpectedMask)), "WS_ERR_EXPECTED_MASK");
  CHECK_EQ(std::string(error_name(ProtocolError::UnexpectedMask)), "WS_ERR_UNEXPECTED_MASK");
  CHECK_EQ(std::string(error_name(ProtocolError::ExpectedFin)), "WS_ERR_EXPECTED_FIN");
  CHECK_EQ(std::string(error_name(ProtocolError::InvalidControlPayloadLength)),
           "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH");
  CHECK_EQ(std::string(error_name(ProtocolError::InvalidCloseCode)), "WS_ERR_INVALID_CLOSE_CODE");
  CHECK_EQ(std::string(error_name(ProtocolError::InvalidUtf8)), "WS_ERR_INVALID_UTF8");
}

TEST(send_status_names_are_unique) {
  std::set<std::string> names;
  for (auto s : {SendStatus::NotOpen, SendStatus::InvalidOpcode, SendStatus::InvalidCloseCode,
                 SendStatus::InvalidCloseReason, SendStatus::ControlPayloadTooLong}) {
    const std::string name = send_status_name(s);
    CHECK(name.rfind("WS_ERR_", 0) == 0);
    CHECK(names.insert(name).second);
  }
  CHECK_EQ(std::string(send_status_name(SendStatus::Ok)), "");
}
