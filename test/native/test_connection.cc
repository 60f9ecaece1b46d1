// Connection: the protocol engine end to end — automatic pongs, both closing handshakes,
// failure on violations (close frame with the right code, then input ignored), and every
// deadline driven by a fake clock.
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/connection.h"
#include "harness.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::hex;
using harness::to_hex;

namespace {

ConnectionConfig server_cfg() {
  ConnectionConfig c;
  c.role = Role::Server;
  return c;
}

// A client config whose first mask key is the RFC §5.7 key 37 fa 21 3d.
struct ClientSetup {
  FakeRandom rng{{0x37, 0xfa, 0x21, 0x3d}};
  MaskKeyPool keys{rng};
  ConnectionConfig cfg;
  ClientSetup() {
    cfg.role = Role::Client;
    cfg.mask_keys = &keys;
  }
};

// Frames in `wire` as a peer of the opposite role sees them.
std::string frames_sent(const std::vector<uint8_t>& wire, Role sender) {
  ParserConfig pc;
  pc.role = sender == Role::Server ? Role::Client : Role::Server;
  FrameParser parser(pc);
  FrameLog log;
  std::vector<uint8_t> copy = wire;
  const ProtocolError e = parser.feed(copy.data(), copy.size(), log);
  return join(log.events) + (e != ProtocolError::None ? std::string(" !") + error_name(e) : "");
}

struct Outcome {
  std::string events;
  std::string output;  // hex of everything queued
  ConnectionState state;
  bool close_transport;
};

// Replays `input` at every split into a fresh server connection and checks every replay ends the
// same way.
void expect_server(const std::vector<uint8_t>& input, const Outcome& want,
                   const ConnectionConfig& cfg = server_cfg()) {
  std::optional<Connection> conn;
  EventLog log;
  harness::replay_splits(
      input,
      [&] {
        conn.emplace(cfg, 0);
        log.clear();
      },
      [&](const uint8_t* p, size_t n) {
        std::vector<uint8_t> buf(p, p + n);
        conn->receive(buf.data(), buf.size(), 1, log);
      },
      [&](const std::string& label) {
        const Outcome got{join(log.events), to_hex(pending_bytes(conn->output())), conn->state(),
                          conn->should_close_transport()};
        if (got.events != want.events || got.output != want.output || got.state != want.state ||
            got.close_transport != want.close_transport)
          harness::fail(__FILE__, __LINE__,
                        label + ": got [" + got.events + "] out [" + got.output + "] state " +
                            std::to_string(static_cast<int>(got.state)) + ", want [" + want.events +
                            "] out [" + want.output + "] state " +
                            std::to_string(static_cast<int>(want.state)));
        if (log.closes > 1) harness::fail(__FILE__, __LINE__, label + ": on_close more than once");
      });
}

void feed(Connection& c, std::vector<uint8_t> bytes, uint64_t now, EventLog& log) {
  c.receive(bytes.data(), bytes.size(), now, log);
}

}  // namespace

// --- ping / pong ---------------------------------------------------------------------------------

TEST(server_answers_ping_with_pong_at_every_split) {
  expect_server(hex("89 85 37 fa 21 3d 7f 9f 4d 51 58"),
                {"ping:48 65 6c 6c 6f", "8a 05 48 65 6c 6c 6f", ConnectionState::Open, false});
}

TEST(empty_ping_gets_empty_pong) {
  expect_server(cframe(0x89, {}), {"ping:", "8a 00", ConnectionState::Open, false});
}

TEST(client_answers_ping_with_masked_pong) {
  ClientSetup s;
  Connection c(s.cfg, 0);
  EventLog log;
  feed(c, hex("89 05 48 65 6c 6c 6f"), 1, log);
  CHECK_EQ(join(log.events), "ping:48 65 6c 6c 6f");
  // Exactly the RFC's masked pong (§5.7), the key being the first from the pool.
  CHECK_EQ(to_hex(drain(c.output())), "8a 85 37 fa 21 3d 7f 9f 4d 51 58");
}

TEST(auto_pong_can_be_turned_off) {
  ConnectionConfig cfg = server_cfg();
  cfg.auto_pong = false;
  expect_server(hex("89 80 01 02 03 04"), {"ping:", "", ConnectionState::Open, false}, cfg);
}

TEST(every_ping_in_a_burst_gets_its_pong) {
  // Autobahn 2.10: ten pings with payloads in one read; each is answered, in order.
  Connection c(server_cfg(), 0);
  EventLog log;
  std::vector<uint8_t> burst;
  std::string expect;
  for (int i = 0; i < 10; i++) {
    auto f = cframe(0x89, {static_cast<uint8_t>('a' + i), static_cast<uint8_t>(i)});
    burst.insert(burst.end(), f.begin(), f.end());
    expect += (expect.empty() ? "" : " ") + to_hex(std::vector<uint8_t>{0x8a, 0x02, static_cast<uint8_t>('a' + i), static_cast<uint8_t>(i)});
  }
  c.receive(burst.data(), burst.size(), 1, log);
  CHECK_EQ(to_hex(pending_bytes(c.output())), expect);
}

TEST(two_hundred_pings_in_one_read_get_two_hundred_pongs) {
  // One QUIC packet can carry a whole burst of small pings (the conformance suite over HTTP/3
  // did): each still gets its pong, in order. It once stopped at 32 unwritten pongs per read.
  Connection c(server_cfg(), 0);
  EventLog log;
  std::vector<uint8_t> burst;
  std::vector<uint8_t> expect;
  for (int i = 0; i < 200; i++) {
    const std::vector<uint8_t> payload{static_cast<uint8_t>('p'), static_cast<uint8_t>(i)};
    auto f = cframe(0x89, payload);
    burst.insert(burst.end(), f.begin(), f.end());
    expect.insert(expect.end(), {0x8a, 0x02, payload[0], payload[1]});
  }
  c.receive(burst.data(), burst.size(), 1, log);
  CHECK_EQ(to_hex(pending_bytes(c.output())), to_hex(expect));
}

TEST(pongs_do_not_pile_up_when_the_peer_does_not_read) {
  Connection c(server_cfg(), 0);
  EventLog log;
  std::vector<uint8_t> burst;
  for (int i = 0; i < 1000; i++) {
    auto f = cframe(0x89, {static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    burst.insert(burst.end(), f.begin(), f.end());
  }
  c.receive(burst.data(), burst.size(), 1, log);
  CHECK_EQ(log.events.size(), size_t{1000});
  // Every pong queued (1,000 × 4 bytes, under the 4 KiB bound)...
  CHECK_EQ(c.output().bytes(), size_t{1000 * 4});
  // ...then 32 more of 3 bytes fill the bound; later pings wait for the output to be written.
  for (int round = 0; round < 1000; round++) {
    feed(c, cframe(0x89, {0xAB}), 2, log);
    REQUIRE(c.output().bytes() <= Connection::kMaxUnwrittenPongBytes);  // bounded while nothing is written
  }
  CHECK_EQ(c.output().bytes(), size_t{1000 * 4 + 32 * 3});
  drain(c.output());
  c.on_output_committed();
  // §5.5.3: once earlier pongs leave, the deferred pong answers the most recent ping.
  CHECK_EQ(to_hex(drain(c.output())), "8a 01 ab");
  c.on_output_committed();
  CHECK(c.output().empty());
}

// --- closing handshake ---------------------------------------------------------------------------

TEST(peer_close_is_echoed_with_its_code) {
  expect_server(cframe(0x88, hex("03 e8 62 79 65")),
                {"close 1000:bye", "88 02 03 e8", ConnectionState::Closed, true});
  expect_server(cframe(0x88, {}), {"close 1005:", "88 00", ConnectionState::Closed, true});
  expect_server(cframe(0x88, hex("0b b8")), {"close 3000:", "88 02 0b b8", ConnectionState::Closed, true});
  expect_server(cframe(0x88, hex("03 f4")), {"close 1012:", "88 02 03 f4", ConnectionState::Closed, true});
}

TEST(peer_close_is_echoed_with_its_reason_when_asked) {
  // echo_close_reason (sockudo-ws/ws: what ws does): the answer carries the peer's reason too.
  ConnectionConfig cfg = server_cfg();
  cfg.echo_close_reason = true;
  expect_server(cframe(0x88, hex("03 e8 62 79 65")), {"close 1000:bye", "88 05 03 e8 62 79 65", ConnectionState::Closed, true}, cfg);
  expect_server(cframe(0x88, {}), {"close 1005:", "88 00", ConnectionState::Closed, true}, cfg);
}

TEST(input_after_peer_close_is_ignored) {
  expect_server(cat({cframe(0x88, hex("03 e8")), cframe(0x81, bytes_of("late")), hex("ff ff ff")}),
                {"close 1000:", "88 02 03 e8", ConnectionState::Closed, true});
  Connection c(server_cfg(), 0);
  EventLog log;
  feed(c, cframe(0x88, hex("03 e8")), 1, log);
  drain(c.output());
  feed(c, cframe(0x89, {}), 2, log);
  CHECK_EQ(join(log.events), "close 1000:");
  CHECK(c.output().empty());
  CHECK_EQ(c.next_deadline(), kNoDeadline);
}

TEST(local_close_waits_for_the_peer) {
  Connection c(server_cfg(), 0);
  EventLog log;
  CHECK_EQ(c.close(1000, bytes_of("done"), 10), SendStatus::Ok);
  CHECK_EQ(to_hex(drain(c.output())), "88 06 03 e8 64 6f 6e 65");
  CHECK(c.state() == ConnectionState::Closing);
  CHECK(!c.should_close_transport());
  CHECK_EQ(c.next_deadline(), uint64_t{5010});
  // No more sending once our close is out (§5.5.1).
  CHECK_EQ(c.send_message(Opcode::Text, bytes_of("x"), 11), SendStatus::NotOpen);
  CHECK_EQ(c.send_ping({}, 11), SendStatus::NotOpen);
  CHECK_EQ(c.send_pong({}, 11), SendStatus::NotOpen);
  CHECK_EQ(c.close(1000, {}, 11), SendStatus::NotOpen);
  // The peer may still send data until it sees our close; pings are not answered any more.
  feed(c, cat({cframe(0x81, bytes_of("hi")), cframe(0x89, {})}), 20, log);
  CHECK_EQ(join(log.events), "text:68 69 | ping:");
  CHECK(c.output().empty());
  feed(c, cframe(0x88, hex("03 e8")), 30, log);
  CHECK_EQ(join(log.events), "text:68 69 | ping: | close 1000:");
  CHECK(c.output().empty());  // the handshake is complete: nothing more to send
  CHECK(c.state() == ConnectionState::Closed);
  CHECK(c.should_close_transport());
  CHECK_EQ(c.next_deadline(), kNoDeadline);
}

TEST(close_without_code) {
  Connection c(server_cfg(), 0);
  CHECK_EQ(c.close(1005, {}, 0), SendStatus::Ok);
  CHECK_EQ(to_hex(drain(c.output())), "88 00");
}

TEST(close_timeout_gives_up) {
  Connection c(server_cfg(), 0);
  EventLog log;
  CHECK_EQ(c.close(4000, {}, 100), SendStatus::Ok);
  CHECK_EQ(c.next_deadline(), uint64_t{5100});
  c.on_timer(5099, log);
  CHECK(log.events.empty());
  CHECK(c.state() == ConnectionState::Closing);
  c.on_timer(5100, log);
  CHECK_EQ(join(log.events), "close 1006:");
  CHECK(c.state() == ConnectionState::Closed);
  CHECK(c.should_close_transport());
  // A late close from the peer changes nothing.
  feed(c, cframe(0x88, hex("03 e8")), 5200, log);
  CHECK_EQ(log.closes, 1);
}

TEST(client_lets_the_server_close_tcp_first) {
  ClientSetup s;
  Connection c(s.cfg, 0);
  EventLog log;
  feed(c, hex("88 02 03 e8"), 1000, log);
  CHECK_EQ(join(log.events), "close 1000:");
  CHECK_EQ(frames_sent(drain(c.output()), Role::Client), "close:03 e8");
  CHECK(c.state() == ConnectionState::Closed);
  // §7.1.1: the client waits for the server's TCP close, within close_timeout_ms.
  CHECK(!c.should_close_transport());
  CHECK_EQ(c.next_deadline(), uint64_t{6000});
  c.on_timer(5999, log);
  CHECK(!c.should_close_transport());
  c.on_timer(6000, log);
  CHECK(c.should_close_transport());
  CHECK_EQ(c.next_deadline(), kNoDeadline);

  Connection d(s.cfg, 0);
  EventLog log2;
  feed(d, hex("88 00"), 1000, log2);
  d.on_eof(1001, log2);
  CHECK(d.should_close_transport());
  CHECK_EQ(join(log2.events), "close 1005:");  // EOF after the handshake reports nothing more
}

// On an HTTP/2 or HTTP/3 stream there is no TCP to wait for: each side ends its own direction
// after the closing handshake (RFC 8441 §5, RFC 9220 §3), so a client does at once.
TEST(client_on_a_stream_ends_its_direction_when_the_handshake_completes) {
  ClientSetup s;
  s.cfg.client_waits_for_server_close = false;
  Connection c(s.cfg, 0);
  EventLog log;
  feed(c, hex("88 02 03 e8"), 1000, log);
  CHECK_EQ(join(log.events), "close 1000:");
  CHECK(c.state() == ConnectionState::Closed);
  CHECK(c.should_close_transport());
  CHECK_EQ(c.next_deadline(), kNoDeadline);
}

TEST(eof_without_close_is_abnormal) {
  Connection c(server_cfg(), 0);
  EventLog log;
  c.on_eof(5, log);
  CHECK_EQ(join(log.events), "close 1006:");
  CHECK(c.should_close_transport());
  CHECK(c.state() == ConnectionState::Closed);
  CHECK_EQ(c.send_message(Opcode::Binary, {}, 6), SendStatus::NotOpen);
}

// --- violations ----------------------------------------------------------------------------------

TEST(violations_send_the_right_close_code_then_ignore_input) {
  ConnectionConfig small = server_cfg();
  small.max_message_size = 100;
  struct Case {
    std::vector<uint8_t> input;
    std::string events;
    std::string output;
    ConnectionConfig cfg;
  };
  const std::vector<Case> cases = {
      {hex("81 01 41"), "error WS_ERR_EXPECTED_MASK | close 1006:", "88 02 03 ea", server_cfg()},
      {cframe(0xa1, {}), "error WS_ERR_UNEXPECTED_RSV_2_3 | close 1006:", "88 02 03 ea", server_cfg()},
      {cframe(0x83, {}), "error WS_ERR_INVALID_OPCODE | close 1006:", "88 02 03 ea", server_cfg()},
      {cframe(0x80, {}), "error WS_ERR_UNEXPECTED_CONTINUATION | close 1006:", "88 02 03 ea", server_cfg()},
      {cframe(0x81, hex("c3 28")), "error WS_ERR_INVALID_UTF8 | close 1006:", "88 02 03 ef", server_cfg()},
      {cframe(0x88, hex("03 ee")), "error WS_ERR_INVALID_CLOSE_CODE | close 1006:", "88 02 03 ea",
       server_cfg()},
      {cframe(0x88, hex("03 e8 ff")), "error WS_ERR_INVALID_UTF8 | close 1006:", "88 02 03 ef", server_cfg()},
      {cframe(0x82, std::vector<uint8_t>(101, 0)), "error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH | close 1006:",
       "88 02 03 f1", small},
      // A good message first is still delivered; the later violation closes; what follows it is
      // ignored.
      {cat({cframe(0x81, bytes_of("ok")), cframe(0x89, hex("ff") /* fine */), hex("81 01 41"),
            cframe(0x81, bytes_of("never"))}),
       "text:6f 6b | ping:ff | error WS_ERR_EXPECTED_MASK | close 1006:", "8a 01 ff 88 02 03 ea",
       server_cfg()},
  };
  for (const auto& c : cases) expect_server(c.input, {c.events, c.output, ConnectionState::Closed, true}, c.cfg);

  // After the failure, nothing more is processed or sent.
  Connection c(server_cfg(), 0);
  EventLog log;
  feed(c, cframe(0x81, hex("ff")), 1, log);
  CHECK_EQ(to_hex(drain(c.output())), "88 02 03 ef");
  feed(c, cframe(0x89, {}), 2, log);
  c.on_timer(1000000, log);
  CHECK(c.output().empty());
  CHECK_EQ(join(log.events), "error WS_ERR_INVALID_UTF8 | close 1006:");
  CHECK_EQ(c.next_deadline(), kNoDeadline);
}

TEST(violation_while_closing_sends_no_second_close) {
  Connection c(server_cfg(), 0);
  EventLog log;
  CHECK_EQ(c.close(1000, {}, 0), SendStatus::Ok);
  drain(c.output());
  feed(c, hex("81 00"), 1, log);  // unmasked
  CHECK(c.output().empty());
  CHECK_EQ(join(log.events), "error WS_ERR_EXPECTED_MASK | close 1006:");
  CHECK(c.should_close_transport());
}

// --- deadlines -----------------------------------------------------------------------------------

TEST(idle_timeout) {
  ConnectionConfig cfg = server_cfg();
  cfg.auto_ping = false;
  cfg.idle_timeout_ms = 1000;
  Connection c(cfg, 0);
  EventLog log;
  CHECK_EQ(c.next_deadline(), uint64_t{1000});
  feed(c, cframe(0x82, {1}), 500, log);
  CHECK_EQ(c.next_deadline(), uint64_t{1500});
  c.on_timer(1499, log);
  CHECK_EQ(log.events.size(), size_t{1});
  CHECK_EQ(c.send_message(Opcode::Text, bytes_of("queued"), 1499), SendStatus::Ok);
  c.on_timer(1500, log);
  CHECK_EQ(join(log.events), "binary:01 | error WS_ERR_IDLE_TIMEOUT | close 1006:");
  CHECK(c.output().empty());  // the peer is gone: nothing is sent, queued bytes are dropped
  CHECK(c.should_close_transport());
  CHECK(c.state() == ConnectionState::Closed);
}

TEST(paused_connection_has_no_liveness_deadline_and_restarts_its_clocks_at_resume) {
  // Issue 13 item 2: while the application does not read, the peer's bytes (pongs included) wait
  // unread, so neither the idle nor the pong timeout may judge it.
  ConnectionConfig cfg = server_cfg();
  cfg.idle_timeout_ms = 1000;
  cfg.ping_interval_ms = 300;
  cfg.pong_timeout_ms = 200;
  Connection c(cfg, 0);
  EventLog log;
  c.on_timer(300, log);  // the automatic ping leaves
  CHECK_EQ(to_hex(drain(c.output())), std::string("89 00"));
  c.set_paused(true, 350);
  CHECK(c.paused());
  CHECK_EQ(c.next_deadline(), kNoDeadline);
  c.on_timer(10'000, log);  // long past every deadline: nothing happens
  CHECK(log.events.empty());
  CHECK(c.state() == ConnectionState::Open);
  CHECK(c.output().empty());
  c.set_paused(false, 20'000);
  CHECK_EQ(c.next_deadline(), uint64_t{20'300});  // the ping interval counts from the resume
  c.on_timer(20'300, log);
  CHECK_EQ(to_hex(drain(c.output())), std::string("89 00"));
  c.on_timer(20'500, log);  // and an unanswered ping after it is a dead peer again
  CHECK_EQ(join(log.events), "error WS_ERR_PONG_TIMEOUT | close 1006:");
}

TEST(idle_timeout_zero_is_off) {
  ConnectionConfig cfg = server_cfg();
  cfg.auto_ping = false;
  cfg.idle_timeout_ms = 0;
  Connection c(cfg, 0);
  CHECK_EQ(c.next_deadline(), kNoDeadline);
}

TEST(auto_ping_and_pong_timeout) {
  Connection c(server_cfg(), 0);  // defaults: ping every 30 s of silence, pong within 10 s
  EventLog log;
  CHECK_EQ(c.next_deadline(), uint64_t{30000});
  feed(c, cframe(0x82, {}), 20000, log);  // traffic postpones the ping
  CHECK_EQ(c.next_deadline(), uint64_t{50000});
  c.on_timer(49999, log);
  CHECK(c.output().empty());
  c.on_timer(50000, log);
  CHECK_EQ(to_hex(drain(c.output())), "89 00");
  CHECK_EQ(c.next_deadline(), uint64_t{60000});
  c.on_timer(55000, log);
  CHECK(c.output().empty());  // one ping at a time
  feed(c, cframe(0x8a, {}), 55000, log);
  CHECK_EQ(c.next_deadline(), uint64_t{85000});
  c.on_timer(85000, log);
  CHECK_EQ(to_hex(drain(c.output())), "89 00");
  c.on_timer(94999, log);
  CHECK(c.state() == ConnectionState::Open);
  c.on_timer(95000, log);
  CHECK_EQ(join(log.events), "binary: | pong: | error WS_ERR_PONG_TIMEOUT | close 1006:");
  CHECK(c.should_close_transport());
  CHECK_EQ(c.next_deadline(), kNoDeadline);
}

TEST(any_bytes_count_as_a_sign_of_life) {
  Connection c(server_cfg(), 0);
  EventLog log;
  c.on_timer(30000, log);
  drain(c.output());
  // Part of a large message arrives instead of the pong: the peer is alive.
  auto big = cframe(0x82, std::vector<uint8_t>(100000, 1));
  c.receive(big.data(), 50000, 39000, log);
  c.on_timer(40000, log);
  CHECK(c.state() == ConnectionState::Open);
  CHECK_EQ(c.next_deadline(), uint64_t{69000});
}

TEST(auto_ping_off_leaves_only_idle) {
  ConnectionConfig cfg = server_cfg();
  cfg.auto_ping = false;
  Connection c(cfg, 0);
  CHECK_EQ(c.next_deadline(), uint64_t{120000});
}

// --- local misuse ----------------------------------------------------------------------------------

TEST(local_misuse_is_a_status_not_a_failure) {
  Connection c(server_cfg(), 0);
  CHECK_EQ(c.close(1006, {}, 0), SendStatus::InvalidCloseCode);
  CHECK_EQ(c.close(1015, {}, 0), SendStatus::InvalidCloseCode);
  CHECK_EQ(c.close(1000, std::vector<uint8_t>(124, 'a'), 0), SendStatus::InvalidCloseReason);
  CHECK_EQ(c.close(1000, hex("ff"), 0), SendStatus::InvalidCloseReason);
  CHECK_EQ(c.send_message(Opcode::Ping, {}, 0), SendStatus::InvalidOpcode);
  CHECK_EQ(c.send_message(Opcode::Continuation, {}, 0), SendStatus::InvalidOpcode);
  CHECK_EQ(c.send_ping(std::vector<uint8_t>(126, 0), 0), SendStatus::ControlPayloadTooLong);
  CHECK(c.output().empty());
  CHECK(c.state() == ConnectionState::Open);
  CHECK_EQ(c.send_ping(std::vector<uint8_t>(125, 0), 0), SendStatus::Ok);
}

TEST(sending_after_close_is_a_status) {
  Connection c(server_cfg(), 0);
  EventLog log;
  c.terminate(log);
  c.terminate(log);
  CHECK_EQ(log.closes, 1);
  CHECK_EQ(c.send_message(Opcode::Text, bytes_of("x"), 1), SendStatus::NotOpen);
  CHECK_EQ(c.close(1000, {}, 1), SendStatus::NotOpen);
  CHECK(c.output().empty());
  c.on_output_committed();
  c.on_timer(1000000, log);
  CHECK_EQ(log.closes, 1);
}

// --- data path -----------------------------------------------------------------------------------

TEST(messages_arrive_zero_copy_and_sends_borrow) {
  Connection c(server_cfg(), 0);
  EventLog log;
  auto in = cframe(0x82, std::vector<uint8_t>(1000, 7));
  c.receive(in.data(), in.size(), 1, log);
  REQUIRE(log.zero_copies.size() == 1);
  CHECK(log.zero_copies[0]);
  CHECK(log.last_data == in.data() + 8);

  struct Owner final : io::BufferOwner {
    explicit Owner(bool& alive) : alive_(alive) { alive_ = true; }
    ~Owner() override { alive_ = false; }
    bool& alive_;
  };
  bool alive = false;
  const std::vector<uint8_t> big(20000, 3);
  CHECK_EQ(c.send_message(Opcode::Binary, big, 2, std::make_unique<Owner>(alive)), SendStatus::Ok);
  CHECK(alive);
  CHECK_EQ(c.output().slice_count(), size_t{2});
  drain(c.output());
  CHECK(!alive);
}

TEST(a_whole_conversation_at_every_split) {
  const auto input = cat({cframe(0x81, bytes_of("Hello")), cframe(0x02, {1, 2}), cframe(0x89, bytes_of("p")),
                          cframe(0x80, {3}), cframe(0x8a, {}), cframe(0x88, hex("03 e9 62 79 65")),
                          cframe(0x81, bytes_of("ignored"))});
  expect_server(input, {"text:48 65 6c 6c 6f | ping:70 | binary:01 02 03 | pong: | close 1001:bye",
                        "8a 01 70 88 02 03 e9", ConnectionState::Closed, true});
}

namespace {
// A user that acts from inside callbacks.
class ReentrantSink final : public EventLog {
 public:
  Connection* conn = nullptr;
  bool terminate_on_message = false;
  bool close_on_message = false;
  void on_message(Opcode op, std::span<const uint8_t> d, bool zc) override {
    EventLog::on_message(op, d, zc);
    if (terminate_on_message) conn->terminate(*this);
    if (close_on_message && conn->state() == ConnectionState::Open) conn->close(1000, {}, 0);
  }
};
}  // namespace

TEST(terminate_from_a_callback_stops_processing) {
  Connection c(server_cfg(), 0);
  ReentrantSink sink;
  sink.conn = &c;
  sink.terminate_on_message = true;
  auto in = cat({cframe(0x81, bytes_of("a")), cframe(0x81, bytes_of("b")), cframe(0x89, {})});
  c.receive(in.data(), in.size(), 1, sink);
  CHECK_EQ(join(sink.events), "text:61 | close 1006:");
  CHECK(c.output().empty());
  CHECK(c.should_close_transport());
}

TEST(close_from_a_callback_keeps_receiving) {
  Connection c(server_cfg(), 0);
  ReentrantSink sink;
  sink.conn = &c;
  sink.close_on_message = true;
  auto in = cat({cframe(0x81, bytes_of("a")), cframe(0x81, bytes_of("b")), cframe(0x89, {})});
  c.receive(in.data(), in.size(), 1, sink);
  CHECK_EQ(join(sink.events), "text:61 | text:62 | ping:");
  CHECK_EQ(to_hex(drain(c.output())), "88 02 03 e8");  // no pong after our close
  CHECK(c.state() == ConnectionState::Closing);
}

TEST(an_invalid_config_gives_a_closed_connection) {
#ifdef NDEBUG
  ConnectionConfig cfg;
  cfg.role = Role::Client;  // no mask keys
  Connection c(cfg, 0);
  CHECK(c.state() == ConnectionState::Closed);
  CHECK_EQ(c.send_message(Opcode::Text, bytes_of("x"), 0), SendStatus::NotOpen);
  CHECK(c.output().empty());
#else
  harness::skip("asserts on an invalid config in debug builds");
#endif
}

TEST(config_is_checked) {
  ConnectionConfig cfg;
  CHECK(config_error(cfg) == nullptr);
  CHECK(cfg.kernel != nullptr);
  cfg.role = Role::Client;
  CHECK(config_error(cfg) != nullptr);  // no mask keys
  ClientSetup s;
  CHECK(config_error(s.cfg) == nullptr);
  s.cfg.rsv1_allowed = true;
  CHECK(config_error(s.cfg) != nullptr);  // no transform
}

// --- sending large messages ----------------------------------------------------------------------

namespace {
struct CountingOwner final : io::BufferOwner {
  explicit CountingOwner(int* released) : released(released) {}
  ~CountingOwner() override { (*released)++; }
  int* released;
};
}  // namespace

TEST(messages_above_max_frame_size_are_sent_in_fragments) {
  // §5.4: a message larger than max_frame_size leaves as several frames of at most that size,
  // so a peer with the same limits accepts it; a borrowed payload stays borrowed and its owner
  // is released once, after the last fragment.
  ConnectionConfig scfg = server_cfg();
  scfg.max_frame_size = 1000;
  scfg.max_message_size = 10000;
  Connection server(scfg, 0);
  std::vector<uint8_t> payload(2500);
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<uint8_t>(i * 7);
  int released = 0;
  REQUIRE(server.send_message(Opcode::Binary, payload, 1, std::make_unique<CountingOwner>(&released)) == SendStatus::Ok);
  CHECK_EQ(released, 1);  // fragments below the borrow threshold are copied: nothing to keep alive
  std::vector<uint8_t> wire = pending_bytes(server.output());
  CHECK_EQ(wire.size(), size_t{2500 + 3 * 4});
  CHECK_EQ(to_hex(std::vector<uint8_t>(wire.begin(), wire.begin() + 4)), "02 7e 03 e8");  // binary, not fin, 1000
  CHECK_EQ(to_hex(std::vector<uint8_t>(wire.begin() + 1004, wire.begin() + 1008)), "00 7e 03 e8");  // continuation
  CHECK_EQ(to_hex(std::vector<uint8_t>(wire.begin() + 2008, wire.begin() + 2012)), "80 7e 01 f4");  // continuation, fin, 500
  drain(server.output());

  // A client with the same limits receives the whole message.
  ClientSetup client_setup;
  client_setup.cfg.max_frame_size = 1000;
  client_setup.cfg.max_message_size = 10000;
  Connection client(client_setup.cfg, 0);
  struct Collect final : EventLog {
    std::vector<uint8_t> got;
    void on_message(Opcode op, std::span<const uint8_t> d, bool zero_copy) override {
      got.assign(d.begin(), d.end());
      EventLog::on_message(op, d, zero_copy);
    }
  } log;
  client.receive(wire.data(), wire.size(), 2, log);
  CHECK_EQ(log.events.size(), size_t{1});
  CHECK(log.got == payload);
}

TEST(a_borrowed_fragmented_payload_stays_alive_until_its_last_borrowed_fragment_is_written) {
  // Fragments of 10000 bytes are borrowed (≥ the 8 KiB threshold). With a small copied tail
  // (25000 = 10000 + 10000 + 5000) the owner rides on the second fragment; with a borrowed tail
  // (30000) on the last. Either way it is released only after every borrowed byte is written.
  for (size_t size : {size_t{25000}, size_t{30000}}) {
    ConnectionConfig scfg = server_cfg();
    scfg.max_frame_size = 10000;
    Connection server(scfg, 0);
    std::vector<uint8_t> payload(size, 0x5a);
    int released = 0;
    REQUIRE(server.send_message(Opcode::Binary, payload, 1, std::make_unique<CountingOwner>(&released)) == SendStatus::Ok);
    CHECK_EQ(released, 0);
    const size_t total = server.output().bytes();
    // Write all but the last byte: the last borrowed fragment is not complete before that when
    // the tail is borrowed; with a copied tail, everything borrowed is written well before.
    server.output().commit(total - 1);
    CHECK_EQ(released, size == 25000 ? 1 : 0);
    server.output().commit(1);
    CHECK_EQ(released, 1);
  }
}
