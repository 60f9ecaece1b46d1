// FrameWriter and MaskKeyPool: exact encodings (RFC 6455 §5.7), round trips through a parser of
// the opposite role, borrowing vs copying, and the local close-code rules.
#include <string>
#include <vector>

#include "core/protocol/frame_writer.h"
#include "core/protocol/mask_key_pool.h"
#include "harness.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::hex;
using harness::to_hex;

namespace {

const simd::MaskKernel& best_kernel() {
  return *simd::choose_mask_kernel(simd::detect_cpu_features(), "").kernel;
}

struct Owner final : io::BufferOwner {
  explicit Owner(int& alive) : alive_(alive) { alive_++; }
  ~Owner() override { alive_--; }
  int& alive_;
};

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(i * 13 + 1);
  return v;
}

}  // namespace

TEST(header_encoding_uses_the_minimal_length_form) {
  uint8_t out[kMaxFrameHeaderSize];
  struct Case {
    uint64_t len;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{{0, "82 00"},
                                         {1, "82 01"},
                                         {125, "82 7d"},
                                         {126, "82 7e 00 7e"},
                                         {65535, "82 7e ff ff"},
                                         {65536, "82 7f 00 00 00 00 00 01 00 00"},
                                         {1ull << 32, "82 7f 00 00 00 01 00 00 00 00"}}) {
    const size_t n = encode_frame_header(out, Opcode::Binary, true, false, c.len, nullptr);
    CHECK_EQ(to_hex(out, n), c.want);
    CHECK_EQ(n, encoded_header_size(c.len, false));
  }
  const uint8_t key[4] = {1, 2, 3, 4};
  const size_t n = encode_frame_header(out, Opcode::Text, false, true, 3, key);
  CHECK_EQ(to_hex(out, n), "41 83 01 02 03 04");
  CHECK_EQ(n, encoded_header_size(3, true));
}

TEST(server_frame_matches_rfc_vector) {
  io::OutputQueue q;
  FrameWriter w(Role::Server, best_kernel(), nullptr);
  w.write_frame(q, Opcode::Text, true, false, bytes_of("Hello"));
  CHECK_EQ(to_hex(drain(q)), "81 05 48 65 6c 6c 6f");
  CHECK_EQ(w.write_ping(q, bytes_of("Hello")), SendStatus::Ok);
  CHECK_EQ(to_hex(drain(q)), "89 05 48 65 6c 6c 6f");
  // Fragmented, as in §5.7.
  w.write_frame(q, Opcode::Text, false, false, bytes_of("Hel"));
  w.write_frame(q, Opcode::Continuation, true, false, bytes_of("lo"));
  CHECK_EQ(to_hex(drain(q)), "01 03 48 65 6c 80 02 6c 6f");
}

TEST(client_frame_matches_rfc_vector) {
  FakeRandom rng({0x37, 0xfa, 0x21, 0x3d});
  MaskKeyPool keys(rng);
  io::OutputQueue q;
  FrameWriter w(Role::Client, best_kernel(), &keys);
  const auto hello = bytes_of("Hello");
  w.write_frame(q, Opcode::Text, true, false, hello);
  CHECK_EQ(to_hex(drain(q)), "81 85 37 fa 21 3d 7f 9f 4d 51 58");
  CHECK_EQ(std::string(hello.begin(), hello.end()), "Hello");  // caller's bytes untouched
  // The next frame gets a fresh key (§5.3).
  w.write_frame(q, Opcode::Text, true, false, hello);
  const auto second = drain(q);
  CHECK(to_hex(second.data() + 2, 4) != "37 fa 21 3d");
}

TEST(round_trips_through_the_opposite_role) {
  FakeRandom rng;
  MaskKeyPool keys(rng);
  for (size_t len : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536},
                     size_t{1} << 20}) {
    const auto payload = pattern(len);
    for (Role role : {Role::Server, Role::Client}) {
      io::OutputQueue q;
      FrameWriter w(role, best_kernel(), &keys);
      w.write_frame(q, Opcode::Binary, true, false, payload);
      auto wire = drain(q);
      CHECK_EQ(wire.size(), encoded_header_size(len, role == Role::Client) + len);
      CHECK(payload == pattern(len));  // never mutated
      ParserConfig cfg;
      cfg.role = role == Role::Server ? Role::Client : Role::Server;
      FrameParser parser(cfg);
      FrameLog log;
      // In two reads, so unmasking resumes mid-payload.
      const size_t half = wire.size() / 2;
      CHECK_EQ(parser.feed(wire.data(), half, log), ProtocolError::None);
      CHECK_EQ(parser.feed(wire.data() + half, wire.size() - half, log), ProtocolError::None);
      REQUIRE(log.events.size() == 1);
      CHECK_EQ(log.events[0], "binary fin start len=" + std::to_string(len) + ":" +
                                  FrameLog::summarize(payload) + " [end]");
    }
  }
}

TEST(round_trip_control_and_rsv1_frames) {
  FakeRandom rng;
  MaskKeyPool keys(rng);
  io::OutputQueue q;
  FrameWriter w(Role::Client, best_kernel(), &keys);
  CHECK_EQ(w.write_ping(q, pattern(125)), SendStatus::Ok);
  CHECK_EQ(w.write_pong(q, bytes_of("p")), SendStatus::Ok);
  w.write_frame(q, Opcode::Text, true, true, bytes_of("z"));
  CHECK_EQ(w.write_close(q, 4000, bytes_of("bye")), SendStatus::Ok);
  auto wire = drain(q);
  ParserConfig cfg;
  cfg.rsv1_allowed = true;
  FrameParser parser(cfg);
  FrameLog log;
  CHECK_EQ(parser.feed(wire.data(), wire.size(), log), ProtocolError::None);
  CHECK_EQ(join(log.events), "ping:" + FrameLog::summarize(pattern(125)) +
                                 " | pong:70 | text fin rsv1 start len=1:7a [end] | close:0f a0 62 79 65");
}

TEST(server_borrows_large_payloads_with_an_owner) {
  io::OutputQueue q;
  FrameWriter w(Role::Server, best_kernel(), nullptr, 1024);
  const auto big = pattern(5000);
  int alive = 0;
  w.write_frame(q, Opcode::Binary, true, false, big, std::make_unique<Owner>(alive));
  CHECK_EQ(alive, 1);
  REQUIRE(q.slice_count() == 2);
  io::Slice s[2];
  q.gather(s, 2);
  CHECK_EQ(to_hex(s[0].data, s[0].len), "82 7e 13 88");
  CHECK(s[1].data == big.data());  // not copied
  q.commit(4 + 4999);
  CHECK_EQ(alive, 1);  // one byte still unwritten
  q.commit(1);
  CHECK_EQ(alive, 0);

  // Small payloads, or no owner: copied with the header into one slice; the owner goes at once.
  w.write_frame(q, Opcode::Binary, true, false, pattern(100), std::make_unique<Owner>(alive));
  CHECK_EQ(alive, 0);
  w.write_frame(q, Opcode::Binary, true, false, big);
  CHECK_EQ(q.slice_count(), size_t{2});
  CHECK_EQ(q.bytes(), size_t{2 + 100 + 4 + 5000});
}

TEST(client_masks_into_owned_memory) {
  FakeRandom rng;
  MaskKeyPool keys(rng);
  io::OutputQueue q;
  FrameWriter w(Role::Client, best_kernel(), &keys, 1024);
  const auto big = pattern(5000);
  int alive = 0;
  w.write_frame(q, Opcode::Binary, true, false, big, std::make_unique<Owner>(alive));
  CHECK_EQ(alive, 0);  // copied, so the caller's buffer is free at once
  CHECK(big == pattern(5000));
  CHECK_EQ(q.slice_count(), size_t{1});
}

TEST(local_close_codes) {
  for (uint32_t code = 0; code <= 65535; code++) {
    const auto c = static_cast<uint16_t>(code);
    const bool want = c == 1000 || (c >= 1001 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                      (c >= 3000 && c <= 4999) || c == 1005;
    REQUIRE_MSG((validate_local_close(c, {}) == SendStatus::Ok) == want, std::to_string(code));
  }
  CHECK_EQ(validate_local_close(1006, {}), SendStatus::InvalidCloseCode);
  CHECK_EQ(validate_local_close(1012, {}), SendStatus::Ok);  // IANA: service restart (ws sends it too)
  CHECK_EQ(validate_local_close(1015, {}), SendStatus::InvalidCloseCode);
  CHECK_EQ(validate_local_close(1005, bytes_of("x")), SendStatus::InvalidCloseReason);
  CHECK_EQ(validate_local_close(1000, std::vector<uint8_t>(123, 'a')), SendStatus::Ok);
  CHECK_EQ(validate_local_close(1000, std::vector<uint8_t>(124, 'a')), SendStatus::InvalidCloseReason);
  CHECK_EQ(validate_local_close(1000, hex("c3 28")), SendStatus::InvalidCloseReason);
  CHECK_EQ(std::string(send_status_name(SendStatus::InvalidCloseCode)), "WS_ERR_INVALID_LOCAL_CLOSE_CODE");
}

TEST(close_frame_bodies) {
  io::OutputQueue q;
  FrameWriter w(Role::Server, best_kernel(), nullptr);
  CHECK_EQ(w.write_close(q, 1000, bytes_of("done")), SendStatus::Ok);
  CHECK_EQ(to_hex(drain(q)), "88 06 03 e8 64 6f 6e 65");
  CHECK_EQ(w.write_close(q, 1005, {}), SendStatus::Ok);  // no body
  CHECK_EQ(to_hex(drain(q)), "88 00");
  CHECK_EQ(w.write_close(q, 1004, {}), SendStatus::InvalidCloseCode);
  CHECK(q.empty());  // a refused close writes nothing
  // The engine's own closes may carry any wire-valid code.
  w.write_close_unchecked(q, 1013, {});
  CHECK_EQ(to_hex(drain(q)), "88 02 03 f5");
}

TEST(control_payload_limit) {
  io::OutputQueue q;
  FrameWriter w(Role::Server, best_kernel(), nullptr);
  CHECK_EQ(w.write_ping(q, pattern(125)), SendStatus::Ok);
  CHECK_EQ(w.write_ping(q, pattern(126)), SendStatus::ControlPayloadTooLong);
  CHECK_EQ(w.write_pong(q, pattern(126)), SendStatus::ControlPayloadTooLong);
  CHECK_EQ(q.bytes(), size_t{127});
}

TEST(mask_key_pool_draws_in_blocks) {
  FakeRandom rng({1, 2, 3, 4, 5, 6, 7, 8});
  MaskKeyPool pool(rng, 4096);
  CHECK_EQ(rng.fills, 0);  // nothing drawn until needed
  uint8_t key[4];
  pool.next(key);
  CHECK_EQ(to_hex(key, 4), "01 02 03 04");
  pool.next(key);
  CHECK_EQ(to_hex(key, 4), "05 06 07 08");
  for (int i = 2; i < 1024; i++) pool.next(key);
  CHECK_EQ(rng.fills, 1);  // 1024 keys per 4 KiB block
  pool.next(key);
  CHECK_EQ(rng.fills, 2);
  FakeRandom other;
  CHECK_EQ(MaskKeyPool(other, 1).block_size(), size_t{4});
  CHECK_EQ(MaskKeyPool(other, 10).block_size(), size_t{12});
}
