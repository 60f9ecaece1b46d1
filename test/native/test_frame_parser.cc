// FrameParser: RFC 6455 §5.7 vectors and every §5 violation, replayed at every split point.
#include <string>
#include <vector>

#include "core/protocol/frame_parser.h"
#include "core/simd/cpu_features.h"
#include "harness.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::hex;

namespace {

struct Run {
  std::vector<std::string> events;
  ProtocolError error = ProtocolError::None;
};

ParserConfig config_for(Role role) {
  ParserConfig c;
  c.role = role;
  return c;
}

// Parses `input` at every split (or a subset, for big inputs) and checks that every replay gives
// exactly `expected_events` and `expected_error`.
void expect_everywhere(const std::vector<uint8_t>& input, const ParserConfig& cfg,
                       const std::vector<std::string>& expected_events, ProtocolError expected_error,
                       bool all_splits = true) {
  FrameParser parser(cfg);
  FrameLog log;
  ProtocolError err = ProtocolError::None;
  auto reset = [&] {
    parser.reset();
    log.clear();
    err = ProtocolError::None;
  };
  auto feed = [&](const uint8_t* p, size_t n) {
    std::vector<uint8_t> buf(p, p + n);  // feed() unmasks in place: give it a mutable copy
    err = parser.feed(buf.data(), buf.size(), log);
  };
  auto check = [&](const std::string& label) {
    if (log.events != expected_events || err != expected_error) {
      harness::fail(__FILE__, __LINE__,
                    label + ": got [" + join(log.events) + "] " + error_name(err) + ", want [" +
                        join(expected_events) + "] " + error_name(expected_error));
    }
  };
  if (all_splits)
    harness::replay_splits(input, reset, feed, check);
  else
    replay_some_splits(input, reset, feed, check);
}

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

}  // namespace

// --- RFC 6455 §5.7 examples ----------------------------------------------------------------------

TEST(rfc_single_frame_unmasked_text) {
  expect_everywhere(hex("81 05 48 65 6c 6c 6f"), config_for(Role::Client),
                    {"text fin start len=5:48 65 6c 6c 6f [end]"}, ProtocolError::None);
}

TEST(rfc_single_frame_masked_text) {
  expect_everywhere(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), config_for(Role::Server),
                    {"text fin start len=5:48 65 6c 6c 6f [end]"}, ProtocolError::None);
}

TEST(rfc_fragmented_unmasked_text) {
  expect_everywhere(hex("01 03 48 65 6c 80 02 6c 6f"), config_for(Role::Client),
                    {"text start len=3:48 65 6c", "cont fin len=2:6c 6f [end]"}, ProtocolError::None);
}

TEST(rfc_unmasked_ping) {
  expect_everywhere(hex("89 05 48 65 6c 6c 6f"), config_for(Role::Client), {"ping:48 65 6c 6c 6f"},
                    ProtocolError::None);
}

TEST(rfc_masked_pong) {
  expect_everywhere(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"), config_for(Role::Server),
                    {"pong:48 65 6c 6c 6f"}, ProtocolError::None);
}

TEST(rfc_256_bytes_binary_16_bit_length) {
  const auto payload = pattern(256);
  auto input = cat({hex("82 7e 01 00"), payload});
  expect_everywhere(input, config_for(Role::Client),
                    {"binary fin start len=256:" + FrameLog::summarize(payload) + " [end]"},
                    ProtocolError::None);
  // Masked, as a server receives it.
  expect_everywhere(cframe(0x82, payload), config_for(Role::Server),
                    {"binary fin start len=256:" + FrameLog::summarize(payload) + " [end]"},
                    ProtocolError::None);
}

TEST(rfc_64k_binary_64_bit_length) {
  const auto payload = pattern(65536);
  auto input = cat({hex("82 7f 00 00 00 00 00 01 00 00"), payload});
  const std::string want = "binary fin start len=65536:" + FrameLog::summarize(payload) + " [end]";
  expect_everywhere(input, config_for(Role::Client), {want}, ProtocolError::None, false);
  expect_everywhere(cframe(0x82, payload), config_for(Role::Server), {want}, ProtocolError::None,
                    false);
}

TEST(every_supported_kernel_unmasks_identically) {
  const auto cpu = sockudo::simd::detect_cpu_features();
  const auto payload = pattern(5000);
  const std::string want = "binary fin start len=5000:" + FrameLog::summarize(payload) + " [end]";
  for (const auto& k : sockudo::simd::mask_kernels()) {
    if (!k.supported(cpu)) continue;
    ParserConfig cfg = config_for(Role::Server);
    cfg.kernel = &k;
    // Odd split points so the key phase at each resume differs.
    FrameParser parser(cfg);
    FrameLog log;
    auto input = cframe(0x82, payload);
    for (size_t at : {size_t{1}, size_t{9}, size_t{13}, size_t{1001}, size_t{4097}}) {
      parser.reset();
      log.clear();
      std::vector<uint8_t> a(input.begin(), input.begin() + static_cast<long>(at));
      std::vector<uint8_t> b(input.begin() + static_cast<long>(at), input.end());
      CHECK_EQ(parser.feed(a.data(), a.size(), log), ProtocolError::None);
      CHECK_EQ(parser.feed(b.data(), b.size(), log), ProtocolError::None);
      REQUIRE_MSG(log.events.size() == 1 && log.events[0] == want, k.name);
    }
  }
}

TEST(unmasks_in_place_in_the_callers_buffer) {
  auto input = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
  FrameParser parser(config_for(Role::Server));
  FrameLog log;
  CHECK_EQ(parser.feed(input.data(), input.size(), log), ProtocolError::None);
  CHECK_EQ(harness::to_hex(input.data() + 6, 5), "48 65 6c 6c 6f");
}

TEST(control_frames_interleave_fragments) {
  expect_everywhere(hex("01 02 48 65 89 01 21 80 03 6c 6c 6f"), config_for(Role::Client),
                    {"text start len=2:48 65", "ping:21", "cont fin len=3:6c 6c 6f [end]"},
                    ProtocolError::None);
}

TEST(empty_frames) {
  expect_everywhere(hex("81 00 02 00 00 00 80 00 89 00 8a 00"), config_for(Role::Client),
                    {"text fin start len=0: [end]", "binary start len=0:", "cont len=0:",
                     "cont fin len=0: [end]", "ping:", "pong:"},
                    ProtocolError::None);
}

TEST(valid_close_frames) {
  expect_everywhere(hex("88 00"), config_for(Role::Client), {"close:"}, ProtocolError::None);
  expect_everywhere(hex("88 05 03 e8 62 79 65"), config_for(Role::Client), {"close:03 e8 62 79 65"},
                    ProtocolError::None);
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                        3999, 4000, 4999}) {
    std::vector<uint8_t> body{static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    expect_everywhere(frame(0x88, body), config_for(Role::Client),
                      {"close:" + harness::to_hex(body)}, ProtocolError::None);
  }
}

TEST(input_after_close_is_ignored) {
  FrameParser parser(config_for(Role::Client));
  FrameLog log;
  auto input = hex("88 02 03 e8 81 01 41 ff ff");  // trailing garbage must not be judged either
  CHECK_EQ(parser.feed(input.data(), input.size(), log), ProtocolError::None);
  CHECK_EQ(join(log.events), "close:03 e8");
  CHECK(parser.state() == FrameParser::State::Closed);
  auto more = hex("81 01 41");
  CHECK_EQ(parser.feed(more.data(), more.size(), log), ProtocolError::None);
  CHECK_EQ(log.events.size(), size_t{1});
}

// --- violations ----------------------------------------------------------------------------------

namespace {
struct Violation {
  const char* what;
  std::string input;  // hex
  Role role;
  ProtocolError error;
  std::vector<std::string> events_before = {};
  bool rsv1_allowed = false;
  uint64_t max_frame = kDefaultMaxFrameSize;
  uint64_t max_message = kDefaultMaxMessageSize;
};
}  // namespace

TEST(every_violation_fails_with_its_code_at_every_split) {
  const std::vector<Violation> cases = {
      {"RSV2", "a1 00", Role::Client, ProtocolError::UnexpectedRsv23},
      {"RSV3", "91 00", Role::Client, ProtocolError::UnexpectedRsv23},
      {"RSV2 on ping", "a9 00", Role::Client, ProtocolError::UnexpectedRsv23},
      {"RSV1 without extension", "c1 00", Role::Client, ProtocolError::UnexpectedRsv1},
      {"RSV1 on control", "c9 00", Role::Client, ProtocolError::UnexpectedRsv1, {}, true},
      {"RSV1 on continuation", "41 01 41 c0 01 42", Role::Client, ProtocolError::UnexpectedRsv1,
       {"text rsv1 start len=1:41"}, true},
      {"server gets unmasked", "81 00", Role::Server, ProtocolError::ExpectedMask},
      {"server gets unmasked ping", "89 00", Role::Server, ProtocolError::ExpectedMask},
      {"client gets masked", "81 80 00 00 00 00", Role::Client, ProtocolError::UnexpectedMask},
      {"fragmented ping", "09 00", Role::Client, ProtocolError::ExpectedFin},
      {"fragmented close", "08 00", Role::Client, ProtocolError::ExpectedFin},
      {"ping of 126", "89 7e 00 7e", Role::Client, ProtocolError::InvalidControlPayloadLength},
      {"close of 127-form", "88 7f 00 00 00 00 00 00 00 7e", Role::Client,
       ProtocolError::InvalidControlPayloadLength},
      {"16-bit form for 125", "82 7e 00 7d", Role::Client, ProtocolError::NonMinimalLength},
      {"16-bit form for 0", "82 7e 00 00", Role::Client, ProtocolError::NonMinimalLength},
      {"64-bit form for 65535", "82 7f 00 00 00 00 00 00 ff ff", Role::Client,
       ProtocolError::NonMinimalLength},
      {"64-bit form for 1", "82 ff 00 00 00 00 00 00 00 01 00 00 00 00", Role::Server,
       ProtocolError::NonMinimalLength},
      {"64-bit MSB", "82 7f 80 00 00 00 00 00 00 00", Role::Client, ProtocolError::InvalidPayloadLength},
      {"64-bit all ones", "82 7f ff ff ff ff ff ff ff ff", Role::Client,
       ProtocolError::InvalidPayloadLength},
      {"frame over max_frame_size", "82 7e 03 e9", Role::Client, ProtocolError::FrameTooLarge, {}, false,
       1000},
      {"message over max_message_size", "02 06 01 02 03 04 05 06 80 05", Role::Client,
       ProtocolError::MessageTooLarge, {"binary start len=6:01 02 03 04 05 06"}, false, 100, 10},
      {"single frame over max_message_size", "82 0b", Role::Client, ProtocolError::MessageTooLarge, {},
       false, 100, 10},
      {"continuation first", "80 00", Role::Client, ProtocolError::UnexpectedContinuation},
      {"non-FIN continuation first", "00 01 41", Role::Client, ProtocolError::UnexpectedContinuation},
      {"continuation after finished message", "81 01 41 80 00", Role::Client,
       ProtocolError::UnexpectedContinuation, {"text fin start len=1:41 [end]"}},
      {"text inside text", "01 01 41 81 01 42", Role::Client, ProtocolError::ExpectedContinuation,
       {"text start len=1:41"}},
      {"binary inside text", "01 01 41 02 01 42", Role::Client, ProtocolError::ExpectedContinuation,
       {"text start len=1:41"}},
      {"close of 1 byte", "88 01 03", Role::Client, ProtocolError::InvalidClosePayload},
      {"close reason not UTF-8", "88 04 03 e8 ff fe", Role::Client, ProtocolError::InvalidUtf8},
      {"close reason truncated UTF-8", "88 04 03 e8 e2 82", Role::Client, ProtocolError::InvalidUtf8},
      {"masked close of 1 byte", "88 81 37 fa 21 3d 34", Role::Server, ProtocolError::InvalidClosePayload},
  };
  for (const auto& c : cases) {
    ParserConfig cfg = config_for(c.role);
    cfg.rsv1_allowed = c.rsv1_allowed;
    cfg.max_frame_size = c.max_frame;
    cfg.max_message_size = c.max_message;
    const int before = harness::state().failures;
    expect_everywhere(hex(c.input), cfg, c.events_before, c.error);
    // §7.4.1: invalid UTF-8 is 1007, a message too big to process 1009, everything else 1002.
    const uint16_t want_code = c.error == ProtocolError::InvalidUtf8 ? 1007
                               : c.error == ProtocolError::FrameTooLarge || c.error == ProtocolError::MessageTooLarge
                                   ? 1009
                                   : 1002;
    CHECK_EQ(close_code_for(c.error), want_code);
    CHECK(std::string(error_name(c.error)).rfind("WS_ERR_", 0) == 0);
    if (harness::state().failures != before) std::printf("    (case: %s)\n", c.what);
  }
}

TEST(reserved_opcodes_fail) {
  for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    expect_everywhere({static_cast<uint8_t>(0x80 | op), 0x00}, config_for(Role::Client), {},
                      ProtocolError::InvalidOpcode);
    expect_everywhere({static_cast<uint8_t>(0x80 | op), 0x80, 1, 2, 3, 4}, config_for(Role::Server), {},
                      ProtocolError::InvalidOpcode);
  }
}

TEST(invalid_close_codes_fail) {
  for (uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    std::vector<uint8_t> body{static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    expect_everywhere(frame(0x88, body), config_for(Role::Client), {}, ProtocolError::InvalidCloseCode);
    expect_everywhere(cframe(0x88, body), config_for(Role::Server), {}, ProtocolError::InvalidCloseCode);
  }
}

TEST(violation_codes_map_to_close_codes) {
  CHECK_EQ(close_code_for(ProtocolError::InvalidOpcode), 1002);
  CHECK_EQ(close_code_for(ProtocolError::NonMinimalLength), 1002);
  CHECK_EQ(close_code_for(ProtocolError::InvalidCloseCode), 1002);
  CHECK_EQ(close_code_for(ProtocolError::InvalidUtf8), 1007);
  CHECK_EQ(close_code_for(ProtocolError::FrameTooLarge), 1009);
  CHECK_EQ(close_code_for(ProtocolError::MessageTooLarge), 1009);
  CHECK_EQ(std::string(error_name(ProtocolError::FrameTooLarge)), "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH");
  CHECK_EQ(std::string(error_name(ProtocolError::MessageTooLarge)), "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
}

TEST(frame_cap_fails_from_the_header_before_payload) {
  // A client announces 2^40 bytes; the server fails once the length is known, before the mask
  // key and before a single payload byte.
  ParserConfig cfg = config_for(Role::Server);
  FrameParser parser(cfg);
  FrameLog log;
  auto header = hex("82 ff 00 00 01 00 00 00 00 00");
  CHECK_EQ(parser.feed(header.data(), header.size(), log), ProtocolError::FrameTooLarge);
  CHECK_EQ(close_code_for(parser.error()), 1009);
  CHECK(log.events.empty());
  CHECK_EQ(log.payload_bytes, uint64_t{0});
  // Exactly max_frame_size is accepted; one more byte is not.
  cfg.max_frame_size = 65536;
  cfg.role = Role::Client;
  FrameParser at_cap(cfg);
  auto ok = hex("82 7f 00 00 00 00 00 01 00 00");
  CHECK_EQ(at_cap.feed(ok.data(), ok.size(), log), ProtocolError::None);
  FrameParser over_cap(cfg);
  auto over = hex("82 7f 00 00 00 00 00 01 00 01");
  CHECK_EQ(over_cap.feed(over.data(), over.size(), log), ProtocolError::FrameTooLarge);
}

TEST(message_cap_counts_every_fragment) {
  ParserConfig cfg = config_for(Role::Client);
  cfg.max_message_size = 10;
  // 4 + 4 + 2 = 10 is fine; a ping in between does not count.
  expect_everywhere(hex("02 04 01 02 03 04 00 04 05 06 07 08 89 00 80 02 09 0a"), cfg,
                    {"binary start len=4:01 02 03 04", "cont len=4:05 06 07 08", "ping:",
                     "cont fin len=2:09 0a [end]"},
                    ProtocolError::None);
  // The next message starts from zero.
  expect_everywhere(hex("82 0a 00 00 00 00 00 00 00 00 00 00 82 0a 00 00 00 00 00 00 00 00 00 00"), cfg,
                    {"binary fin start len=10:00 00 00 00 00 00 00 00 00 00 [end]",
                     "binary fin start len=10:00 00 00 00 00 00 00 00 00 00 [end]"},
                    ProtocolError::None);
}

TEST(errors_stick_and_later_input_is_ignored) {
  FrameParser parser(config_for(Role::Client));
  FrameLog log;
  auto bad = hex("a1 00 81 01 41");
  CHECK_EQ(parser.feed(bad.data(), bad.size(), log), ProtocolError::UnexpectedRsv23);
  auto good = hex("81 01 41");
  CHECK_EQ(parser.feed(good.data(), good.size(), log), ProtocolError::UnexpectedRsv23);
  CHECK(log.events.empty());
  CHECK(parser.state() == FrameParser::State::Failed);
}

namespace {
class StoppingSink final : public FrameSink {
 public:
  explicit StoppingSink(FrameParser& p) : parser(p) {}
  ProtocolError on_data_frame_begin(const FrameHeader&, bool) override { return ProtocolError::None; }
  ProtocolError on_data_payload(std::span<const uint8_t>, bool, bool message_end) override {
    if (message_end && ++messages == 1) parser.stop();
    return ProtocolError::None;
  }
  ProtocolError on_control_frame(Opcode, std::span<const uint8_t>) override { return ProtocolError::None; }
  FrameParser& parser;
  int messages = 0;
};
}  // namespace

TEST(stop_from_a_callback_ends_parsing) {
  FrameParser parser(config_for(Role::Client));
  StoppingSink sink(parser);
  auto input = hex("81 01 41 81 01 42");
  CHECK_EQ(parser.feed(input.data(), input.size(), sink), ProtocolError::None);
  CHECK_EQ(sink.messages, 1);
  CHECK(parser.state() == FrameParser::State::Stopped);
}

TEST(parser_state_is_small) {
  // No per-frame allocation; the state is the spill, the control buffer and a few counters.
  CHECK(sizeof(FrameParser) <= 256);
}

TEST(many_frames_in_one_read) {
  std::vector<uint8_t> input;
  std::vector<std::string> want;
  for (int i = 0; i < 300; i++) {
    const auto payload = pattern(static_cast<size_t>(i % 130));
    auto f = cframe(0x82, payload);
    input.insert(input.end(), f.begin(), f.end());
    want.push_back("binary fin start len=" + std::to_string(payload.size()) + ":" +
                   FrameLog::summarize(payload) + " [end]");
  }
  expect_everywhere(input, config_for(Role::Server), want, ProtocolError::None, false);
}
