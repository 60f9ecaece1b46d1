// The bounded incremental HTTP/1.1 head parser: every vector is replayed whole, byte by byte and
// split in two at every offset, and must give the same verdict, fields and consumed count.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/handshake/http_head_parser.h"
#include "harness.h"

using namespace sockudo::handshake;

namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Feeds `input` in every split through a fresh parser and runs `check(parser, consumed)` after
// each replay; `consumed` is the total the parser claimed.
void replay(HeadKind kind, std::string_view input, HeadLimits limits,
            const std::function<void(const HttpHeadParser&, size_t, const std::string&)>& check) {
  std::unique_ptr<HttpHeadParser> p;
  size_t consumed = 0;
  harness::replay_splits(
      bytes(input),
      [&] {
        p = std::make_unique<HttpHeadParser>(kind, limits);
        consumed = 0;
      },
      [&](const uint8_t* d, size_t n) { consumed += p->feed(d, n).consumed; },
      [&](const std::string& label) { check(*p, consumed, label); });
}

void expect_error(HeadKind kind, std::string_view input, HeadError error, int status,
                  HeadLimits limits = {}) {
  replay(kind, input, limits, [&](const HttpHeadParser& p, size_t, const std::string& label) {
    if (p.state() != HeadState::Failed || p.error() != error || p.error_status() != status)
      harness::fail(__FILE__, __LINE__,
                    "[" + label + "] expected error " + std::to_string(static_cast<int>(error)) +
                        " got state " + std::to_string(static_cast<int>(p.state())) + " error " +
                        std::to_string(static_cast<int>(p.error())) + " for: " + std::string(input));
  });
}

void expect_request_error(std::string_view input, HeadError error = HeadError::Malformed,
                          int status = 400) {
  expect_error(HeadKind::Request, input, error, status);
}

const std::string kRequest =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

}  // namespace

TEST(request_rfc6455_example) {
  replay(HeadKind::Request, kRequest, {}, [&](const HttpHeadParser& p, size_t consumed, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(consumed, kRequest.size());
    CHECK_EQ(p.method(), std::string_view("GET"));
    CHECK_EQ(p.target(), std::string_view("/chat?room=1"));
    CHECK_EQ(p.http_major(), 1);
    CHECK_EQ(p.http_minor(), 1);
    CHECK_EQ(p.header_count(), size_t{7});
    CHECK_EQ(p.header_name(0), std::string_view("Host"));
    CHECK_EQ(p.header_value(0), std::string_view("server.example.com"));
    CHECK_EQ(p.header_value(5), std::string_view("chat, superchat"));
    CHECK_EQ(p.head_size(), kRequest.size());
  });
}

TEST(response_101) {
  const std::string r =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "\r\n";
  replay(HeadKind::Response, r, {}, [&](const HttpHeadParser& p, size_t consumed, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(consumed, r.size());
    CHECK_EQ(p.status_code(), 101);
    CHECK_EQ(p.reason_phrase(), std::string_view("Switching Protocols"));
    CHECK_EQ(p.count("sec-websocket-accept"), size_t{1});
  });
}

TEST(response_status_line_variants) {
  // Any reason phrase (including empty, obs-text, and none at all with no SP).
  for (std::string_view line : {"HTTP/1.1 101 \r\n", "HTTP/1.1 101\r\n", "HTTP/1.1 101 OK then\t!\r\n",
                                "HTTP/1.1 404 Nicht gefunden \xC3\xA4\r\n", "HTTP/1.0 200 OK\r\n"}) {
    const std::string r = std::string(line) + "\r\n";
    replay(HeadKind::Response, r, {}, [&](const HttpHeadParser& p, size_t, const std::string& label) {
      REQUIRE_MSG(p.state() == HeadState::Complete, label + " " + r);
    });
  }
  for (std::string_view bad : {"HTTP/1.1 10 Short\r\n\r\n", "HTTP/1.1 1011 Long\r\n\r\n",
                               "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1  101 Two spaces\r\n\r\n",
                               "HTTP/1.1 abc X\r\n\r\n", "http/1.1 101 X\r\n\r\n",
                               "HTTP/11 101 X\r\n\r\n", "HTTP/1.1101 X\r\n\r\n", "\r\nHTTP/1.1 101 X\r\n\r\n",
                               "ICY 200 OK\r\n\r\n"}) {
    expect_error(HeadKind::Response, bad, HeadError::Malformed, 400);
  }
  expect_error(HeadKind::Response, "HTTP/2.0 101 X\r\n\r\n", HeadError::VersionNotSupported, 505);
}

TEST(bytes_after_head_are_not_consumed) {
  // A 101 followed in the same buffer by a text frame "Hi" and the start of another frame.
  const std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  const std::string frames = "\x81\x02Hi\x82\x7e\x01";
  const std::string input = head + frames;
  replay(HeadKind::Response, input, {}, [&](const HttpHeadParser& p, size_t consumed, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(consumed, head.size());
    CHECK_EQ(p.head_size(), head.size());
  });
  // Whole buffer at once: the leftover is exactly the frame bytes.
  HttpHeadParser p(HeadKind::Response);
  const HeadFeedResult r = p.feed(input);
  CHECK(r.state == HeadState::Complete);
  CHECK_EQ(input.substr(r.consumed), frames);
  // Further feeds consume nothing.
  CHECK_EQ(p.feed(frames).consumed, size_t{0});
}

TEST(header_values_trimmed_and_lookup_case_insensitive) {
  const std::string r =
      "GET / HTTP/1.1\r\n"
      "HOST:   a.example \t \r\n"
      "x-Empty:\r\n"
      "X-Tabs:\t\tv a l\t\r\n"
      "upgrade: one\r\n"
      "UPGRADE: two\r\n"
      "X-Obs: caf\xC3\xA9\r\n"
      "\r\n";
  replay(HeadKind::Request, r, {}, [&](const HttpHeadParser& p, size_t, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK(p.find("host") == std::optional<std::string_view>("a.example"));
    CHECK(p.find("X-EMPTY") == std::optional<std::string_view>(""));
    CHECK(p.find("x-tabs") == std::optional<std::string_view>("v a l"));
    CHECK(p.find("Upgrade") == std::optional<std::string_view>("one"));
    CHECK_EQ(p.count("upgrade"), size_t{2});
    CHECK(!p.find("missing").has_value());
    CHECK(p.find("x-obs") == std::optional<std::string_view>("caf\xC3\xA9"));
  });
}

TEST(leading_empty_lines_before_request_line_ignored) {
  const std::string r = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  replay(HeadKind::Request, r, {}, [&](const HttpHeadParser& p, size_t consumed, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(consumed, r.size());
    CHECK_EQ(p.method(), std::string_view("GET"));
  });
}

TEST(http_versions) {
  const std::string v10 = "GET / HTTP/1.0\r\n\r\n";
  replay(HeadKind::Request, v10, {}, [&](const HttpHeadParser& p, size_t, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(p.http_minor(), 0);
  });
  expect_request_error("GET / HTTP/2.0\r\n\r\n", HeadError::VersionNotSupported, 505);
  expect_request_error("GET / HTTP/0.9\r\n\r\n", HeadError::VersionNotSupported, 505);
  expect_request_error("GET / HTTP/1.10\r\n\r\n");
  expect_request_error("GET / HTTP/1\r\n\r\n");
  expect_request_error("GET / HTTPS/1.1\r\n\r\n");
  expect_request_error("GET / http/1.1\r\n\r\n");
}

TEST(malformed_request_lines) {
  const char* bad[] = {
      "GET\r\n\r\n",
      "GET /\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",      // double space
      "GET /  HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 \r\n\r\n",      // trailing space
      " GET / HTTP/1.1\r\n\r\n",      // leading space
      "G(T / HTTP/1.1\r\n\r\n",       // non-token method
      "GET /a b HTTP/1.1\r\n\r\n",    // space in target
      "GET /\xC3\xA4 HTTP/1.1\r\n\r\n",  // non-ASCII target
      "GET\t/ HTTP/1.1\r\n\r\n",      // HTAB separator
      "/ HTTP/1.1\r\n\r\n",
  };
  for (const char* s : bad) expect_request_error(s);
}

TEST(malformed_field_lines) {
  using namespace std::string_literals;
  const std::string start = "GET / HTTP/1.1\r\n";
  const std::string bad[] = {
      "Host : a\r\n\r\n"s,               // whitespace before colon (RFC 9112 §5.1)
      "Host\t: a\r\n\r\n"s,
      "Ho st: a\r\n\r\n"s,               // space inside name
      ": a\r\n\r\n"s,                    // empty name
      "Host a\r\n\r\n"s,                 // no colon
      "Host: a\r\n continued\r\n\r\n"s,  // obs-fold (RFC 9112 §5.2)
      "Host: a\r\n\tcontinued\r\n\r\n"s,
      "H\xC3\xA4st: a\r\n\r\n"s,         // non-token name
      "X-A: a\x00b\r\n\r\n"s,             // NUL in value
      "X-A: a\x01\r\n\r\n"s,              // control character
      "X-A: a\x7F\r\n\r\n"s,              // DEL
      "X-A: a\rb\r\n\r\n"s,               // bare CR in value
      "X-A: a\n\r\n"s,                    // bare LF line ending
      "X-A: a\r\n\n"s,                    // bare LF final line
      "X-A: a\r\r\n\r\n"s,               // CR CR LF
      "[Host]: a\r\n\r\n"s,
      "X-A: a\r\n\r"s + "X"s,             // CR not followed by LF at the end of the head
  };
  for (const std::string& tail : bad) expect_request_error(start + tail);
  // Whitespace before the first field line (RFC 9112 §2.2).
  expect_request_error(start + " Host: a\r\n\r\n");
  expect_request_error(" " + start + "Host: a\r\n\r\n");
}

TEST(garbage_fails_on_the_first_byte) {
  // A TLS ClientHello sent to a cleartext port: 0x16 is a control character.
  HttpHeadParser p(HeadKind::Request);
  const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  CHECK(p.feed(hello, sizeof hello).state == HeadState::Failed);
  CHECK_EQ(p.error_status(), 400);
  expect_request_error(std::string("\x00\x00\x00\x00", 4));
  // Bytes that cannot start a request line fail before any line end arrives.
  for (std::string_view junk : {"\xff\xfe\xfd", "GE(", "{\"json\": 1}", "SSH-2.0-OpenSSH_9.6\r\n"}) {
    HttpHeadParser q(HeadKind::Request);
    CHECK(q.feed(junk).state == HeadState::Failed);
    CHECK_EQ(q.error_status(), 400);
  }
  for (std::string_view junk : {"ICY", "HTTX", "<html>", "\x81\x05"}) {
    HttpHeadParser q(HeadKind::Response);
    CHECK(q.feed(junk).state == HeadState::Failed);
  }
}

TEST(missing_end_of_head) {
  // Without CRLF CRLF the head never completes; finish() (peer closed) makes it malformed.
  const std::string partial = "GET / HTTP/1.1\r\nHost: a\r\n";
  replay(HeadKind::Request, partial, {}, [&](const HttpHeadParser& p, size_t consumed, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::NeedMore, label);
    CHECK_EQ(consumed, partial.size());
  });
  HttpHeadParser p(HeadKind::Request);
  p.feed(partial);
  CHECK(p.finish() == HeadState::Failed);
  CHECK(p.error() == HeadError::Malformed);
  CHECK_EQ(p.error_status(), 400);
  // finish() after completion changes nothing.
  HttpHeadParser q(HeadKind::Request);
  q.feed(partial + "\r\n");
  CHECK(q.finish() == HeadState::Complete);
}

TEST(head_size_limit_431) {
  HeadLimits limits;
  limits.max_head_size = 64;
  const std::string start = "GET / HTTP/1.1\r\n";  // 16 bytes
  // Exactly at the limit: accepted.
  std::string fits = start + "X: " + std::string(64 - 16 - 3 - 4, 'a') + "\r\n\r\n";
  CHECK_EQ(fits.size(), size_t{64});
  replay(HeadKind::Request, fits + "extra", limits, [&](const HttpHeadParser& p, size_t consumed, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(consumed, size_t{64});
  });
  // One byte more: 431.
  std::string over = start + "X: " + std::string(64 - 16 - 3 - 4 + 1, 'a') + "\r\n\r\n";
  expect_error(HeadKind::Request, over, HeadError::HeadTooLarge, 431, limits);
  // An endless header with no line end at all.
  expect_error(HeadKind::Request, start + "X: " + std::string(1000, 'a'), HeadError::HeadTooLarge, 431, limits);
  // A bad byte past the limit in the same chunk: the verdict is the limit whatever the split (the
  // bytes that fit are checked first, the rest is never looked at).
  expect_error(HeadKind::Request, start + "X: " + std::string(100, 'a') + "\x01\r\n\r\n",
               HeadError::HeadTooLarge, 431, limits);
  // ...and a bad byte within the limit wins over the size, whatever the split.
  expect_error(HeadKind::Request, start + "X: \x01" + std::string(100, 'a') + "\r\n\r\n",
               HeadError::Malformed, 400, limits);
  // A request line that alone does not fit: 414 (RFC 9112 §3).
  expect_error(HeadKind::Request, "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n",
               HeadError::UriTooLong, 414, limits);
  // Responses report the size as too large (no 414 on the client side).
  expect_error(HeadKind::Response, "HTTP/1.1 101 " + std::string(100, 'a') + "\r\n\r\n",
               HeadError::HeadTooLarge, 0 + 431, limits);
}

TEST(default_head_size_limit_16k) {
  std::string big = "GET / HTTP/1.1\r\n";
  while (big.size() < 16 * 1024) big += "X-Pad: " + std::string(990, 'p') + "\r\n";
  big += "\r\n";
  HttpHeadParser p(HeadKind::Request);
  const HeadFeedResult r = p.feed(big);
  CHECK(r.state == HeadState::Failed);
  CHECK(p.error() == HeadError::HeadTooLarge);
  CHECK_EQ(p.error_status(), 431);
  CHECK(p.head_size() <= 16 * 1024);
}

TEST(too_many_headers_431) {
  HeadLimits limits;
  limits.max_headers = 5;
  std::string ok = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 5; i++) ok += "X-" + std::to_string(i) + ": v\r\n";
  replay(HeadKind::Request, ok + "\r\n", limits, [&](const HttpHeadParser& p, size_t, const std::string& label) {
    REQUIRE_MSG(p.state() == HeadState::Complete, label);
    CHECK_EQ(p.header_count(), size_t{5});
  });
  expect_error(HeadKind::Request, ok + "X-5: v\r\n\r\n", HeadError::TooManyHeaders, 431, limits);
  // Default: 100.
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; i++) many += "X: v\r\n";
  HttpHeadParser p(HeadKind::Request);
  p.feed(many + "\r\n");
  CHECK(p.error() == HeadError::TooManyHeaders);
}

TEST(reset_reuses_the_parser) {
  HttpHeadParser p(HeadKind::Request);
  p.feed("GARBAGE\x01");
  CHECK(p.state() == HeadState::Failed);
  p.reset();
  CHECK(p.state() == HeadState::NeedMore);
  CHECK(p.feed(kRequest).state == HeadState::Complete);
  CHECK_EQ(p.header_count(), size_t{7});
  CHECK(p.error() == HeadError::None);
}

TEST(feed_after_failure_consumes_nothing) {
  HttpHeadParser p(HeadKind::Request);
  p.feed("GET / HTTP/1.1\r\nBad Name: x\r\n");
  CHECK(p.state() == HeadState::Failed);
  const HeadFeedResult r = p.feed("more");
  CHECK(r.state == HeadState::Failed);
  CHECK_EQ(r.consumed, size_t{0});
  CHECK(std::string(p.error_reason()).size() > 0);
}
