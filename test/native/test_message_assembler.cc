// MessageAssembler (driven by a FrameParser): whole messages at every split, zero-copy delivery,
// UTF-8 fail-fast, linear work for heavily fragmented messages, and the per-message transform hook.
#include <string>
#include <vector>

#include "core/protocol/message_assembler.h"
#include "harness.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::hex;

namespace {

// Parser + assembler, as the connection wires them.
class Reader final : public FrameSink {
 public:
  explicit Reader(const ParserConfig& cfg, MessageTransform* transform = nullptr)
      : parser(cfg), assembler(cfg.max_message_size, transform) {}
  ProtocolError on_data_frame_begin(const FrameHeader& h, bool start) override {
    return assembler.begin_frame(h, start);
  }
  ProtocolError on_data_payload(std::span<const uint8_t> b, bool, bool end) override {
    return assembler.payload(b, end, log);
  }
  ProtocolError on_control_frame(Opcode op, std::span<const uint8_t> p) override {
    if (op == Opcode::Ping) log.on_ping(p);
    return ProtocolError::None;
  }
  ProtocolError feed(uint8_t* p, size_t n) { return parser.feed(p, n, *this); }
  void reset() {
    parser.reset();
    assembler.reset();
    log.clear();
  }
  FrameParser parser;
  MessageAssembler assembler;
  EventLog log;
};

ParserConfig client_cfg() {
  ParserConfig c;
  c.role = Role::Client;
  return c;
}

void expect_messages(const std::vector<uint8_t>& input, const ParserConfig& cfg,
                     const std::vector<std::string>& want, ProtocolError want_error,
                     MessageTransform* transform = nullptr) {
  Reader r(cfg, transform);
  ProtocolError err = ProtocolError::None;
  harness::replay_splits(
      input, [&] { r.reset(); err = ProtocolError::None; },
      [&](const uint8_t* p, size_t n) {
        std::vector<uint8_t> buf(p, p + n);
        err = r.feed(buf.data(), buf.size());
      },
      [&](const std::string& label) {
        if (r.log.events != want || err != want_error)
          harness::fail(__FILE__, __LINE__,
                        label + ": got [" + join(r.log.events) + "] " + error_name(err) + ", want [" +
                            join(want) + "] " + error_name(want_error));
      });
}

std::vector<uint8_t> text_of(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>('a' + i % 26);
  return v;
}

}  // namespace

TEST(rfc_vectors_as_messages_at_every_split) {
  expect_messages(hex("81 05 48 65 6c 6c 6f"), client_cfg(), {"text:48 65 6c 6c 6f"}, ProtocolError::None);
  expect_messages(hex("01 03 48 65 6c 80 02 6c 6f"), client_cfg(), {"text:48 65 6c 6c 6f"},
                  ProtocolError::None);
  ParserConfig server;
  expect_messages(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), server, {"text:48 65 6c 6c 6f"},
                  ProtocolError::None);
  expect_messages(hex("01 02 48 65 89 00 00 01 6c 80 02 6c 6f"), client_cfg(),
                  {"ping:", "text:48 65 6c 6c 6f"}, ProtocolError::None);
}

TEST(empty_messages) {
  expect_messages(hex("81 00 82 00 01 00 80 00"), client_cfg(), {"text:", "binary:", "text:"},
                  ProtocolError::None);
}

TEST(zero_copy_when_a_single_frame_arrives_whole) {
  Reader r(client_cfg());
  auto input = hex("82 03 01 02 03 81 02 68 69");
  REQUIRE(r.feed(input.data(), input.size()) == ProtocolError::None);
  REQUIRE(r.log.events.size() == 2);
  CHECK(r.log.zero_copies[0]);
  CHECK(r.log.zero_copies[1]);
  CHECK(r.log.last_data == input.data() + 7);  // points into our buffer
  CHECK_EQ(r.assembler.stats().zero_copy_messages, uint64_t{2});
  CHECK_EQ(r.assembler.stats().buffered_bytes, uint64_t{0});
  CHECK_EQ(r.assembler.buffer_capacity(), size_t{0});

  // Masked: delivered unmasked, in place.
  Reader s{ParserConfig{}};
  auto masked = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
  REQUIRE(s.feed(masked.data(), masked.size()) == ProtocolError::None);
  CHECK(s.log.zero_copies.at(0));
  CHECK(s.log.last_data == masked.data() + 6);

  // Split payload or several fragments: copied.
  Reader t(client_cfg());
  auto a = hex("82 03 01");
  auto b = hex("02 03 01 01 41 80 01 42");
  REQUIRE(t.feed(a.data(), a.size()) == ProtocolError::None);
  REQUIRE(t.feed(b.data(), b.size()) == ProtocolError::None);
  CHECK_EQ(join(t.log.events), "binary:01 02 03 | text:41 42");
  CHECK(!t.log.zero_copies.at(0));
  CHECK(!t.log.zero_copies.at(1));
}

TEST(buffer_reserves_exactly_the_announced_size) {
  const size_t n = 100000;
  auto input = frame(0x82, text_of(n));
  Reader r(client_cfg());
  size_t half = input.size() / 2;
  REQUIRE(r.feed(input.data(), half) == ProtocolError::None);
  CHECK_EQ(r.assembler.buffer_capacity(), n);  // one reservation, exactly the header's length
  REQUIRE(r.feed(input.data() + half, input.size() - half) == ProtocolError::None);
  CHECK_EQ(r.assembler.stats().buffer_growths, uint64_t{1});
  CHECK_EQ(r.log.events.size(), size_t{1});
  // A message above the retained size does not keep its buffer.
  CHECK_EQ(r.assembler.buffer_capacity(), size_t{0});
}

TEST(announced_size_does_not_reserve_memory_the_peer_never_sends) {
  // A header announcing 32 MiB followed by a trickle: the reservation stays within
  // kMaxUpfrontReserve of what arrived, instead of the announced size.
  ParserConfig cfg = client_cfg();
  cfg.max_frame_size = cfg.max_message_size = 64u << 20;
  Reader r(cfg);
  std::vector<uint8_t> head = {0x82, 127, 0, 0, 0, 0, 0x02, 0, 0, 0};  // 32 MiB, unmasked (client reading)
  std::vector<uint8_t> some(100, 'x');
  REQUIRE(r.feed(head.data(), head.size()) == ProtocolError::None);
  REQUIRE(r.feed(some.data(), some.size()) == ProtocolError::None);
  CHECK(r.assembler.buffer_capacity() <= MessageAssembler::kMaxUpfrontReserve + some.size());
  // Feeding the full 32 MiB still assembles the message, with geometric (logarithmic) growth.
  std::vector<uint8_t> rest((32u << 20) - some.size(), 'y');
  REQUIRE(r.feed(rest.data(), rest.size()) == ProtocolError::None);
  CHECK_EQ(r.log.events.size(), size_t{1});
  CHECK(r.assembler.stats().buffer_growths <= 1);
}

TEST(invalid_utf8_fails_at_every_split) {
  expect_messages(hex("81 02 c3 28"), client_cfg(), {}, ProtocolError::InvalidUtf8);
  expect_messages(hex("81 04 ed a0 80 41"), client_cfg(), {}, ProtocolError::InvalidUtf8);  // surrogate
  expect_messages(hex("81 04 f4 90 80 80"), client_cfg(), {}, ProtocolError::InvalidUtf8);  // > U+10FFFF
  expect_messages(hex("81 02 c0 80"), client_cfg(), {}, ProtocolError::InvalidUtf8);        // overlong
  expect_messages(hex("81 02 e2 82"), client_cfg(), {}, ProtocolError::InvalidUtf8);        // truncated
  // Truncated at the end of a fragmented message.
  expect_messages(hex("01 01 41 80 02 e2 82"), client_cfg(), {}, ProtocolError::InvalidUtf8);
  // Binary is not validated.
  expect_messages(hex("82 02 c3 28"), client_cfg(), {"binary:c3 28"}, ProtocolError::None);
  CHECK_EQ(close_code_for(ProtocolError::InvalidUtf8), 1007);
}

TEST(code_points_split_across_fragments_are_valid) {
  // "€" = e2 82 ac, and U+1F600 = f0 9f 98 80, cut in every place by fragment boundaries.
  expect_messages(hex("01 01 e2 00 01 82 80 01 ac"), client_cfg(), {"text:e2 82 ac"}, ProtocolError::None);
  expect_messages(hex("01 03 41 f0 9f 00 00 80 02 98 80"), client_cfg(), {"text:41 f0 9f 98 80"},
                  ProtocolError::None);
}

TEST(utf8_fails_fast_inside_a_big_frame) {
  // A 1 MiB text frame whose first payload bytes are invalid fails as soon as they arrive,
  // long before the frame completes.
  std::vector<uint8_t> payload = text_of(1 << 20);
  payload[10] = 0xFF;
  auto input = frame(0x81, payload);
  Reader r(client_cfg());
  std::vector<uint8_t> first(input.begin(), input.begin() + 64);
  CHECK_EQ(r.feed(first.data(), first.size()), ProtocolError::InvalidUtf8);
  CHECK(r.log.events.empty());
  CHECK(r.assembler.stats().validated_bytes <= 64);
  // Also when the bad byte arrives alone, mid-frame, in a later read.
  Reader s(client_cfg());
  payload[10] = 'x';
  payload[5000] = 0xC0;
  input = frame(0x81, payload);
  CHECK_EQ(s.feed(input.data(), 5000), ProtocolError::None);
  CHECK_EQ(s.feed(input.data() + 5000, 20), ProtocolError::InvalidUtf8);
}

TEST(fragmented_4mib_text_is_linear) {
  // 4 MiB of text in 64-byte fragments (65536 frames). Every byte is validated exactly once and
  // copied exactly once, and the buffer grows O(log n) times — the same work as one frame.
  const size_t total = 4u << 20, piece = 64;
  const auto text = text_of(total);
  std::vector<uint8_t> input;
  input.reserve(total + total / piece * 2);
  for (size_t off = 0; off < total; off += piece) {
    const uint8_t first = off == 0 ? 0x01 : 0x00;
    const uint8_t fin = off + piece == total ? 0x80 : 0x00;
    input.push_back(first | fin);
    input.push_back(static_cast<uint8_t>(piece));
    input.insert(input.end(), text.begin() + static_cast<long>(off),
                 text.begin() + static_cast<long>(off + piece));
  }
  ParserConfig cfg = client_cfg();
  for (size_t read_size : {input.size(), size_t{1500}, size_t{65536}}) {
    Reader r(cfg);
    for (size_t off = 0; off < input.size(); off += read_size) {
      const size_t n = std::min(read_size, input.size() - off);
      REQUIRE(r.feed(input.data() + off, n) == ProtocolError::None);
    }
    REQUIRE(r.log.events.size() == 1);
    const auto& s = r.assembler.stats();
    CHECK_EQ(s.validated_bytes, uint64_t{total});
    CHECK_EQ(s.buffered_bytes, uint64_t{total});
    CHECK(s.buffer_growths <= 20);  // 64 → 4 MiB by doubling: 17 reallocations
    // One validator call per piece handed over: at most one per frame plus one per read.
    CHECK(s.validator_calls <= total / piece + input.size() / read_size + 1);
  }
  // The same message as one frame: the same bytes validated.
  Reader one(cfg);
  auto single = frame(0x81, text);
  REQUIRE(one.feed(single.data(), single.size()) == ProtocolError::None);
  CHECK_EQ(one.assembler.stats().validated_bytes, uint64_t{total});
}

TEST(message_size_cap_applies_before_buffering) {
  ParserConfig cfg = client_cfg();
  cfg.max_message_size = 1000;
  Reader r(cfg);
  auto input = hex("02 7e 01 f4");  // 500
  auto more = hex("00 7e 01 f5");   // 501: 1001 in total
  std::vector<uint8_t> payload(500, 7);
  input.insert(input.end(), payload.begin(), payload.end());
  input.insert(input.end(), more.begin(), more.end());
  CHECK_EQ(r.feed(input.data(), input.size()), ProtocolError::MessageTooLarge);
  CHECK(r.assembler.buffer_capacity() <= 1000);
}

// --- transform hook ------------------------------------------------------------------------------

namespace {
// Stand-in for an inflater: every input byte becomes two output bytes.
class Doubler final : public MessageTransform {
 public:
  ProtocolError decode(std::span<const uint8_t> in, bool last, std::vector<uint8_t>& out,
                       uint64_t max_size) override {
    calls++;
    if (last) lasts++;
    for (uint8_t c : in) {
      if (out.size() + 2 > max_size) return ProtocolError::MessageTooLarge;
      out.push_back(c);
      out.push_back(c);
    }
    return ProtocolError::None;
  }
  void reset() override { resets++; }
  int calls = 0, lasts = 0, resets = 0;
};
}  // namespace

TEST(rsv1_messages_go_through_the_transform) {
  Doubler d;
  ParserConfig cfg = client_cfg();
  cfg.rsv1_allowed = true;
  expect_messages(hex("c1 03 41 42 43"), cfg, {"text:41 41 42 42 43 43"}, ProtocolError::None, &d);
  // Fragmented: RSV1 on the first frame only (RFC 7692 §6.1); plain messages bypass the transform.
  expect_messages(hex("42 01 01 80 01 02 82 01 09"), cfg, {"binary:01 01 02 02", "binary:09"},
                  ProtocolError::None, &d);
  // Output is validated as text, and bounded by max_message_size.
  expect_messages(hex("c1 01 ff"), cfg, {}, ProtocolError::InvalidUtf8, &d);
  cfg.max_message_size = 5;
  expect_messages(hex("c2 03 01 02 03"), cfg, {}, ProtocolError::MessageTooLarge, &d);
}

TEST(rsv1_without_a_transform_is_rejected) {
  ParserConfig cfg = client_cfg();
  cfg.rsv1_allowed = true;
  expect_messages(hex("c1 01 41"), cfg, {}, ProtocolError::UnexpectedRsv1);
}
