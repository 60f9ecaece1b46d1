// Server side of the handshake (RFC 6455 §4.2): classification of request heads, the 101
// response, error responses, header injection. Request vectors go through every split.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/handshake/server_upgrade.h"
#include "core/protocol/deflate_params.h"
#include "harness.h"

using namespace sockudo::handshake;

namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Parses `input` in every split, validates, and runs check(verdict, request, consumed, label).
void with_request(std::string_view input,
                  const std::function<void(const UpgradeVerdict&, const UpgradeRequest&, size_t,
                                           const std::string&)>& check,
                  HeadLimits limits = {}) {
  std::unique_ptr<HttpHeadParser> p;
  size_t consumed = 0;
  harness::replay_splits(
      bytes(input),
      [&] {
        p = std::make_unique<HttpHeadParser>(HeadKind::Request, limits);
        consumed = 0;
      },
      [&](const uint8_t* d, size_t n) { consumed += p->feed(d, n).consumed; },
      [&](const std::string& label) {
        UpgradeRequest req;
        const UpgradeVerdict v = validate_upgrade(*p, req);
        check(v, req, consumed, label);
      });
}

void expect_verdict(std::string_view input, UpgradeKind kind, int status, HeadLimits limits = {}) {
  with_request(input, [&](const UpgradeVerdict& v, const UpgradeRequest&, size_t, const std::string& label) {
    if (v.kind != kind || v.status != status)
      harness::fail(__FILE__, __LINE__,
                    "[" + label + "] got kind " + std::to_string(int(v.kind)) + " status " +
                        std::to_string(v.status) + " (" + v.reason + ") for:\n" + std::string(input));
  }, limits);
}

// RFC 6455 §1.2 / §4.1 example request, built from lines so tests can swap or drop one.
struct Req {
  std::string request_line = "GET /chat HTTP/1.1";
  std::vector<std::string> lines = {
      "Host: server.example.com",
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Origin: http://example.com",
      "Sec-WebSocket-Protocol: chat, superchat",
      "Sec-WebSocket-Version: 13",
  };
  Req& drop(std::string_view prefix) {
    std::erase_if(lines, [&](const std::string& l) { return l.starts_with(prefix); });
    return *this;
  }
  Req& set(std::string_view prefix, std::string line) {
    drop(prefix);
    lines.push_back(std::move(line));
    return *this;
  }
  Req& add(std::string line) {
    lines.push_back(std::move(line));
    return *this;
  }
  std::string str() const {
    std::string s = request_line + "\r\n";
    for (const auto& l : lines) s += l + "\r\n";
    return s + "\r\n";
  }
};

// Parses whole (no splits) for builder tests; the parser must outlive the request views.
struct Parsed {
  HttpHeadParser parser{HeadKind::Request};
  UpgradeRequest req;
  UpgradeVerdict verdict;
  explicit Parsed(const std::string& s) {
    parser.feed(s);
    verdict = validate_upgrade(parser, req);
  }
};

}  // namespace

TEST(rfc6455_example_is_valid) {
  const std::string s = Req().str();
  with_request(s, [&](const UpgradeVerdict& v, const UpgradeRequest& r, size_t consumed, const std::string& label) {
    REQUIRE_MSG(v.kind == UpgradeKind::Valid, label + " " + v.reason);
    CHECK_EQ(v.status, 101);
    CHECK_EQ(consumed, s.size());
    CHECK_EQ(r.method, std::string_view("GET"));
    CHECK_EQ(r.path, std::string_view("/chat"));
    CHECK_EQ(r.query, std::string_view(""));
    CHECK_EQ(r.host, std::string_view("server.example.com"));
    CHECK(r.has_origin);
    CHECK_EQ(r.origin, std::string_view("http://example.com"));
    CHECK_EQ(r.key, std::string_view("dGhlIHNhbXBsZSBub25jZQ=="));
    REQUIRE(r.protocols.size() == 2);
    CHECK_EQ(r.protocols[0], std::string_view("chat"));
    CHECK_EQ(r.protocols[1], std::string_view("superchat"));
    CHECK(r.extensions.empty());
  });
}

TEST(accept_response_rfc6455_example) {
  Parsed p(Req().str());
  REQUIRE(p.verdict.kind == UpgradeKind::Valid);
  std::string out = "prefix|";
  AcceptOptions o;
  o.subprotocol = "chat";
  CHECK(build_accept_response(p.req, o, out) == BuildError::None);
  CHECK_EQ(out, std::string("prefix|"
                            "HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                            "Sec-WebSocket-Protocol: chat\r\n"
                            "\r\n"));
}

TEST(accept_response_with_extensions_and_headers) {
  Parsed p(Req().drop("Sec-WebSocket-Protocol")
               .add("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
               .str());
  REQUIRE(p.verdict.kind == UpgradeKind::Valid);
  REQUIRE(p.req.extensions.size() == 1);
  sockudo::protocol::DeflateServerConfig cfg;
  cfg.enabled = true;
  cfg.server_max_window_bits = 12;
  const auto n = sockudo::protocol::negotiate_deflate(cfg, p.req.extensions);
  REQUIRE(n.accepted);
  const HeaderField extra[] = {{"Set-Cookie", "id=1; HttpOnly"}, {"X-Server", "sockudo"}};
  AcceptOptions o;
  o.extensions = n.response;
  o.headers = extra;
  std::string out;
  CHECK(build_accept_response(p.req, o, out) == BuildError::None);
  CHECK_EQ(out, std::string("HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n"
                            "Set-Cookie: id=1; HttpOnly\r\n"
                            "X-Server: sockudo\r\n"
                            "\r\n"));
}

TEST(accept_response_misuse) {
  Parsed p(Req().str());
  REQUIRE(p.verdict.kind == UpgradeKind::Valid);
  auto build = [&](AcceptOptions o) {
    std::string out;
    const BuildError e = build_accept_response(p.req, o, out);
    if (e != BuildError::None && !out.empty()) harness::fail(__FILE__, __LINE__, "wrote output on error");
    return e;
  };
  AcceptOptions o;
  o.subprotocol = "superchat";
  CHECK(build(o) == BuildError::None);
  o.subprotocol = "Chat";  // subprotocols compare exactly
  CHECK(build(o) == BuildError::SubprotocolNotOffered);
  o.subprotocol = "chat, superchat";  // exactly one
  CHECK(build(o) == BuildError::SubprotocolNotOffered);
  o = {};
  o.extensions = "permessage-deflate\r\nX-Injected: 1";
  CHECK(build(o) == BuildError::InvalidExtensions);
  o.extensions = "permessage-deflate;";
  CHECK(build(o) == BuildError::InvalidExtensions);
  o.extensions = " , ";
  CHECK(build(o) == BuildError::InvalidExtensions);

  const HeaderField injections[][1] = {
      {{"X-A", "ok\r\nSet-Cookie: evil=1"}}, {{"X-A", "a\nb"}}, {{"X-A", "a\rb"}},
      {{"X-A", std::string_view("a\0b", 3)}}, {{"X-A", "\x7f"}},
  };
  for (const auto& h : injections) {
    o = {};
    o.headers = h;
    CHECK(build(o) == BuildError::InvalidHeaderValue);
  }
  const HeaderField bad_names[][1] = {{{"X A", "v"}}, {{"", "v"}}, {{"X-A:", "v"}}, {{"X\r\nY", "v"}}};
  for (const auto& h : bad_names) {
    o = {};
    o.headers = h;
    CHECK(build(o) == BuildError::InvalidHeaderName);
  }
  for (std::string_view name : {"upgrade", "CONNECTION", "Sec-WebSocket-Accept", "sec-websocket-protocol",
                                "Sec-WebSocket-Extensions", "Content-Length", "transfer-encoding"}) {
    const HeaderField h[] = {{name, "x"}};
    o = {};
    o.headers = h;
    CHECK(build(o) == BuildError::ForbiddenHeader);
  }
  // A request that never validated has no key.
  UpgradeRequest empty;
  std::string out;
  CHECK(build_accept_response(empty, {}, out) == BuildError::InvalidKey);
}

TEST(case_insensitive_names_and_token_lists) {
  expect_verdict(Req().set("Upgrade", "UPGRADE: WebSocket").set("Connection", "connection: keep-alive, Upgrade").str(),
                 UpgradeKind::Valid, 101);
  expect_verdict(Req().set("Upgrade", "upgrade: h2c, websocket").str(), UpgradeKind::Valid, 101);
  expect_verdict(Req().set("Connection", "Connection: keep-alive,upgrade").str(), UpgradeKind::Valid, 101);
  expect_verdict(Req().set("Connection", "Connection: keep-alive").add("Connection: UPGRADE").str(),
                 UpgradeKind::Valid, 101);
  expect_verdict(Req().set("Sec-WebSocket-Key", "sec-websocket-key:   dGhlIHNhbXBsZSBub25jZQ==  ").str(),
                 UpgradeKind::Valid, 101);
  expect_verdict(Req().set("Connection", "Connection: upgraded").str(), UpgradeKind::Invalid, 400);
  expect_verdict(Req().set("Connection", "Connection: keep-alive").str(), UpgradeKind::Invalid, 400);
}

TEST(not_upgrade_requests) {
  expect_verdict("GET / HTTP/1.1\r\nHost: a\r\n\r\n", UpgradeKind::NotUpgrade, 426);
  expect_verdict("POST /form HTTP/1.0\r\nContent-Length: 3\r\n\r\n", UpgradeKind::NotUpgrade, 426);
  expect_verdict(Req().set("Upgrade", "Upgrade: h2c").str(), UpgradeKind::NotUpgrade, 426);
  expect_verdict(Req().set("Upgrade", "Upgrade: websocket/13").str(), UpgradeKind::NotUpgrade, 426);
  expect_verdict(Req().drop("Upgrade").str(), UpgradeKind::NotUpgrade, 426);
}

TEST(invalid_upgrade_requests) {
  struct Case {
    std::string input;
    int status;
  };
  Req post;
  post.request_line = "POST /chat HTTP/1.1";
  Req http10;
  http10.request_line = "GET /chat HTTP/1.0";
  Req star;
  star.request_line = "GET * HTTP/1.1";
  Req authority;
  authority.request_line = "GET server.example.com:80 HTTP/1.1";
  Req fragment;
  fragment.request_line = "GET /chat#x HTTP/1.1";
  Req lower_get;
  lower_get.request_line = "get /chat HTTP/1.1";
  const Case cases[] = {
      {post.str(), 400},
      {lower_get.str(), 400},  // methods are case-sensitive (RFC 9110 §9.1)
      {http10.str(), 400},
      {star.str(), 400},
      {authority.str(), 400},
      {fragment.str(), 400},
      {Req().drop("Connection").str(), 400},
      {Req().drop("Host").str(), 400},
      {Req().set("Host", "Host:").str(), 400},
      {Req().add("Host: other.example").str(), 400},
      {Req().add("Content-Length: 5").str(), 400},
      {Req().add("Transfer-Encoding: chunked").str(), 400},
      {Req().drop("Sec-WebSocket-Version").str(), 426},
      {Req().set("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8").str(), 426},
      {Req().set("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8").str(), 426},
      {Req().set("Sec-WebSocket-Version", "Sec-WebSocket-Version: 013").str(), 426},
      {Req().add("Sec-WebSocket-Version: 13").str(), 400},
      {Req().drop("Sec-WebSocket-Key").str(), 400},
      {Req().add("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==").str(), 400},
      {Req().set("Sec-WebSocket-Key", "Sec-WebSocket-Key:").str(), 400},
      {Req().set("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ").str(), 400},
      {Req().set("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j").str(), 400},       // 15 bytes
      {Req().set("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODxAR").str(), 400},  // 18 bytes
      {Req().set("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=").str(), 400},
      {Req().set("Sec-WebSocket-Key", "Sec-WebSocket-Key: not base64 at all").str(), 400},
      {Req().set("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat, super chat").str(), 400},
      {Req().set("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat, (x)").str(), 400},
      {Req().set("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat, chat").str(), 400},
      {Req().add("Sec-WebSocket-Protocol: superchat").str(), 400},  // duplicate across lines
      {Req().add("Sec-WebSocket-Extensions: permessage-deflate;").str(), 400},
      {Req().add("Sec-WebSocket-Extensions: permessage-deflate; a=\"b c\"").str(), 400},
      {Req().add("Sec-WebSocket-Extensions: x").add("Sec-WebSocket-Extensions: ;").str(), 400},
      {Req().add("Origin: http://evil.example").str(), 400},
  };
  for (const Case& c : cases) expect_verdict(c.input, UpgradeKind::Invalid, c.status);
}

TEST(parser_failures_become_verdicts) {
  HeadLimits small;
  small.max_head_size = 128;
  expect_verdict(Req().add("X-Pad: " + std::string(200, 'x')).str(), UpgradeKind::Invalid, 431, small);
  HeadLimits few;
  few.max_headers = 7;
  expect_verdict(Req().add("X-One-Too-Many: 1").str(), UpgradeKind::Invalid, 431, few);
  expect_verdict(Req().str(), UpgradeKind::Valid, 101, few);
  Req long_target;
  long_target.request_line = "GET /" + std::string(200, 'a') + " HTTP/1.1";
  expect_verdict(long_target.str(), UpgradeKind::Invalid, 414, small);
  Req v2;
  v2.request_line = "GET /chat HTTP/2.0";
  expect_verdict(v2.str(), UpgradeKind::Invalid, 505);
  expect_verdict(Req().add("Bad Header: x").str(), UpgradeKind::Invalid, 400);
  expect_verdict(Req().add("X: a\r\n b").str(), UpgradeKind::Invalid, 400);  // obs-fold
  // Incomplete heads are not classified as valid.
  HttpHeadParser p(HeadKind::Request);
  p.feed("GET / HTTP/1.1\r\n");
  UpgradeRequest r;
  CHECK(validate_upgrade(p, r).kind == UpgradeKind::Invalid);
}

TEST(subprotocols_and_extensions_across_lines) {
  const std::string s = Req()
                            .set("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: a, b")
                            .add("sec-websocket-protocol: , c ,")
                            .add("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
                            .add("Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate")
                            .str();
  with_request(s, [&](const UpgradeVerdict& v, const UpgradeRequest& r, size_t, const std::string& label) {
    REQUIRE_MSG(v.kind == UpgradeKind::Valid, label + " " + v.reason);
    REQUIRE(r.protocols.size() == 3);
    CHECK_EQ(r.protocols[2], std::string_view("c"));
    REQUIRE(r.extensions.size() == 3);
    CHECK_EQ(r.extensions[0].name, std::string_view("permessage-deflate"));
    CHECK_EQ(r.extensions[0].params.size(), size_t{1});
    CHECK_EQ(r.extensions[1].name, std::string_view("x-webkit-deflate-frame"));
  });
  // The subprotocol list has a cap (a 16 KiB header of one-letter offers is refused).
  std::string many = "Sec-WebSocket-Protocol: p0";
  for (int i = 1; i < 129; i++) many += ", p" + std::to_string(i);
  expect_verdict(Req().set("Sec-WebSocket-Protocol", many).str(), UpgradeKind::Invalid, 400);
}

TEST(targets_path_and_query) {
  struct Case {
    const char* target;
    const char* path;
    const char* query;
  };
  const Case cases[] = {
      {"/", "/", ""},
      {"/chat?room=1&x=2", "/chat", "room=1&x=2"},
      {"/?", "/", ""},
      {"/a/b/c", "/a/b/c", ""},
      {"ws://server.example.com/chat?x", "/chat", "x"},
      {"http://server.example.com:8080", "/", ""},
      {"wss://h?q=1", "/", "q=1"},
  };
  for (const Case& c : cases) {
    Req q;
    q.request_line = std::string("GET ") + c.target + " HTTP/1.1";
    Parsed p(q.str());
    REQUIRE_MSG(p.verdict.kind == UpgradeKind::Valid, c.target);
    CHECK_EQ(p.req.target, std::string_view(c.target));
    CHECK_EQ(p.req.path, std::string_view(c.path));
    CHECK_EQ(p.req.query, std::string_view(c.query));
  }
  for (const char* bad : {"chat", "://x/", "1ws://x/", "ws:///chat", "ws://", "w s://x/"}) {
    Req q;
    q.request_line = std::string("GET ") + bad + " HTTP/1.1";
    Parsed p(q.str());
    if (p.verdict.kind != UpgradeKind::Invalid) harness::fail(__FILE__, __LINE__, std::string("accepted target ") + bad);
  }
}

TEST(no_origin_is_fine) {
  Parsed p(Req().drop("Origin").str());
  CHECK(p.verdict.kind == UpgradeKind::Valid);
  CHECK(!p.req.has_origin);
}

TEST(head_followed_by_frames_leaves_frames) {
  const std::string head = Req().str();
  // A masked text frame "Hi" sent right behind the handshake.
  const std::string frame = "\x81\x82\x01\x02\x03\x04\x49\x6b";
  const std::string input = head + frame;
  with_request(input, [&](const UpgradeVerdict& v, const UpgradeRequest&, size_t consumed, const std::string& label) {
    REQUIRE_MSG(v.kind == UpgradeKind::Valid, label);
    CHECK_EQ(consumed, head.size());
  });
  HttpHeadParser p(HeadKind::Request);
  const HeadFeedResult r = p.feed(input);
  CHECK(r.state == HeadState::Complete);
  CHECK_EQ(harness::to_hex(reinterpret_cast<const uint8_t*>(input.data()) + r.consumed, input.size() - r.consumed),
           harness::to_hex(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
}

TEST(error_responses) {
  std::string out;
  CHECK(build_error_response(400, "bad", {}, out) == BuildError::None);
  CHECK_EQ(out, std::string("HTTP/1.1 400 Bad Request\r\n"
                            "Connection: close\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Length: 3\r\n"
                            "\r\n"
                            "bad"));
  out.clear();
  CHECK(build_error_response(431, "", {}, out) == BuildError::None);
  CHECK_EQ(out, std::string("HTTP/1.1 431 Request Header Fields Too Large\r\n"
                            "Connection: close\r\n"
                            "Content-Length: 0\r\n"
                            "\r\n"));
  out.clear();
  const HeaderField h[] = {{"Content-Type", "application/json"}, {"Retry-After", "5"}};
  CHECK(build_error_response(503, "{}", h, out) == BuildError::None);
  CHECK_EQ(out, std::string("HTTP/1.1 503 Service Unavailable\r\n"
                            "Connection: close\r\n"
                            "Content-Length: 2\r\n"
                            "Content-Type: application/json\r\n"
                            "Retry-After: 5\r\n"
                            "\r\n"
                            "{}"));
  out.clear();
  CHECK(build_error_response(204, "", {}, out) == BuildError::None);
  CHECK_EQ(out, std::string("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"));
  out.clear();
  CHECK(build_error_response(499, "", {}, out) == BuildError::None);
  CHECK(out.starts_with("HTTP/1.1 499 Client Error\r\n"));
}

TEST(rejection_426_carries_version) {
  Parsed p(Req().set("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8").str());
  REQUIRE(p.verdict.kind == UpgradeKind::Invalid);
  REQUIRE(p.verdict.status == 426);
  std::string out;
  build_rejection(p.verdict, out);
  const std::string body = p.verdict.reason;
  CHECK_EQ(out, "HTTP/1.1 426 Upgrade Required\r\n"
                "Connection: Upgrade, close\r\n"
                "Upgrade: websocket\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Length: " + std::to_string(body.size()) + "\r\n"
                "\r\n" + body);
  // The response itself parses as a valid HTTP response.
  HttpHeadParser r(HeadKind::Response);
  CHECK(r.feed(out).state == HeadState::Complete);
  CHECK_EQ(r.status_code(), 426);
  CHECK(r.find("sec-websocket-version") == std::optional<std::string_view>("13"));
  // A 426 may not have its Upgrade / version overridden.
  const HeaderField h[] = {{"Sec-WebSocket-Version", "8"}};
  std::string o2;
  CHECK(build_error_response(426, "", h, o2) == BuildError::ForbiddenHeader);
  CHECK(o2.empty());
}

TEST(error_response_misuse) {
  std::string out;
  for (int status : {0, 99, 100, 101, 199, 600, -1}) CHECK(build_error_response(status, "", {}, out) == BuildError::InvalidStatus);
  CHECK(build_error_response(204, "x", {}, out) == BuildError::BodyNotAllowed);
  CHECK(build_error_response(304, "x", {}, out) == BuildError::BodyNotAllowed);
  const HeaderField inj[] = {{"X-Reason", "a\r\n\r\nHTTP/1.1 200 OK"}};
  CHECK(build_error_response(400, "", inj, out) == BuildError::InvalidHeaderValue);
  const HeaderField badname[] = {{"X Reason", "a"}};
  CHECK(build_error_response(400, "", badname, out) == BuildError::InvalidHeaderName);
  for (std::string_view n : {"Content-Length", "connection", "Transfer-Encoding"}) {
    const HeaderField f[] = {{n, "1"}};
    CHECK(build_error_response(400, "", f, out) == BuildError::ForbiddenHeader);
  }
  CHECK(out.empty());
  CHECK_EQ(std::string(build_error_name(BuildError::InvalidHeaderValue)), std::string("WS_ERR_INVALID_HEADER_VALUE"));
  CHECK_EQ(std::string(build_error_name(BuildError::SubprotocolNotOffered)), std::string("WS_ERR_SUBPROTOCOL_NOT_OFFERED"));
}
