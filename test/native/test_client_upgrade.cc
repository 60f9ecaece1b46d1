// Client side of the handshake (RFC 6455 §4.1): the request builder and the 101 validator. Every
// response vector goes through every split; each failure has its stable error code.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/handshake/client_upgrade.h"
#include "core/handshake/server_upgrade.h"
#include "harness.h"

using namespace sockudo::handshake;
using sockudo::protocol::DeflateOffer;

namespace {

// Deterministic "randomness": 0, 1, 2, ... so the key is AAECAwQFBgcICQoLDA0ODw==.
class CountingRandom : public sockudo::RandomSource {
 public:
  void fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; i++) out[i] = next_++;
    calls++;
  }
  int calls = 0;

 private:
  uint8_t next_ = 0;
};

constexpr std::string_view kKey = "AAECAwQFBgcICQoLDA0ODw==";
constexpr std::string_view kAccept = "Bz3qJYTGdOe8gUSpLosEdiLKDrk=";

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

ClientRequestOptions basic_options() {
  ClientRequestOptions o;
  o.host = "example.com";
  o.path = "/chat";
  return o;
}

// Builds a request with `opts`, then feeds `response` in every split to a fresh handshake.
void with_response(const ClientRequestOptions& opts, std::string_view response,
                   const std::function<void(const ClientHandshake&, size_t, const std::string&)>& check,
                   HeadLimits limits = {}) {
  std::unique_ptr<ClientHandshake> hs;
  size_t consumed = 0;
  harness::replay_splits(
      bytes(response),
      [&] {
        hs = std::make_unique<ClientHandshake>(limits);
        CountingRandom rng;
        std::string req;
        if (hs->build_request(opts, rng, req) != BuildError::None) harness::fail(__FILE__, __LINE__, "build failed");
        consumed = 0;
      },
      [&](const uint8_t* d, size_t n) { consumed += hs->feed(d, n).consumed; },
      [&](const std::string& label) { check(*hs, consumed, label); });
}

void expect_failure(const ClientRequestOptions& opts, std::string_view response, HandshakeError e,
                    const char* code, HeadLimits limits = {}) {
  with_response(opts, response, [&](const ClientHandshake& hs, size_t, const std::string& label) {
    if (hs.state() != HeadState::Failed || hs.error() != e || std::string(hs.error_code()) != code)
      harness::fail(__FILE__, __LINE__,
                    "[" + label + "] expected " + code + ", got state " + std::to_string(int(hs.state())) +
                        " " + hs.error_code() + " (" + hs.error_reason() + ") for:\n" + std::string(response));
  }, limits);
}

struct Resp {
  std::string status_line = "HTTP/1.1 101 Switching Protocols";
  std::vector<std::string> lines = {
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Accept: " + std::string(kAccept),
  };
  Resp& drop(std::string_view prefix) {
    std::erase_if(lines, [&](const std::string& l) { return l.starts_with(prefix); });
    return *this;
  }
  Resp& set(std::string_view prefix, std::string line) {
    drop(prefix);
    lines.push_back(std::move(line));
    return *this;
  }
  Resp& add(std::string line) {
    lines.push_back(std::move(line));
    return *this;
  }
  std::string str() const {
    std::string s = status_line + "\r\n";
    for (const auto& l : lines) s += l + "\r\n";
    return s + "\r\n";
  }
};

BuildError build(const ClientRequestOptions& o, std::string& out) {
  ClientHandshake hs;
  CountingRandom rng;
  const BuildError e = hs.build_request(o, rng, out);
  if (e != BuildError::None && (!out.empty() || rng.calls != 0))
    harness::fail(__FILE__, __LINE__, "failed build wrote output or drew randomness");
  return e;
}

}  // namespace

TEST(request_bytes) {
  ClientRequestOptions o = basic_options();
  const std::string_view protocols[] = {"chat", "superchat"};
  o.protocols = protocols;
  o.origin = "http://example.com";
  DeflateOffer deflate;
  o.deflate = &deflate;
  const HeaderField extra[] = {{"Authorization", "Bearer abc"}};
  o.headers = extra;
  ClientHandshake hs;
  CountingRandom rng;
  std::string out;
  CHECK(hs.build_request(o, rng, out) == BuildError::None);
  CHECK_EQ(out, std::string("GET /chat HTTP/1.1\r\n"
                            "Host: example.com\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw==\r\n"
                            "Sec-WebSocket-Version: 13\r\n"
                            "Sec-WebSocket-Protocol: chat, superchat\r\n"
                            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                            "Origin: http://example.com\r\n"
                            "Authorization: Bearer abc\r\n"
                            "\r\n"));
  CHECK_EQ(hs.key(), kKey);
  CHECK_EQ(rng.calls, 1);
}

TEST(request_is_accepted_by_our_server) {
  // Round trip: our request validates on our server, whose 101 validates on our client.
  ClientRequestOptions o = basic_options();
  const std::string_view protocols[] = {"v2.chat", "v1.chat"};
  o.protocols = protocols;
  DeflateOffer deflate;
  deflate.server_max_window_bits = 10;
  o.deflate = &deflate;
  ClientHandshake hs;
  CountingRandom rng;
  std::string request;
  REQUIRE(hs.build_request(o, rng, request) == BuildError::None);

  HttpHeadParser head(HeadKind::Request);
  REQUIRE(head.feed(request).state == HeadState::Complete);
  UpgradeRequest req;
  REQUIRE(validate_upgrade(head, req).kind == UpgradeKind::Valid);
  sockudo::protocol::DeflateServerConfig cfg;
  cfg.enabled = true;
  const auto n = sockudo::protocol::negotiate_deflate(cfg, req.extensions);
  REQUIRE(n.accepted);
  AcceptOptions a;
  a.subprotocol = "v1.chat";
  a.extensions = n.response;
  std::string response;
  REQUIRE(build_accept_response(req, a, response) == BuildError::None);

  const std::string frame = "\x81\x05Hello";
  const std::string input = response + frame;
  const HeadFeedResult r = hs.feed(input);
  REQUIRE(r.state == HeadState::Complete);
  CHECK_EQ(input.substr(r.consumed), frame);
  CHECK_EQ(hs.subprotocol(), std::string_view("v1.chat"));
  CHECK(hs.deflate_accepted());
  CHECK(hs.deflate() == n.agreed);
  CHECK_EQ(int(hs.deflate().server_max_window_bits), 10);
}

TEST(host_header_forms) {
  struct Case {
    const char* host;
    uint16_t port;
    bool secure;
    const char* expected;
  };
  const Case cases[] = {
      {"example.com", 0, false, "example.com"},
      {"example.com", 80, false, "example.com"},
      {"example.com", 443, false, "example.com:443"},
      {"example.com", 443, true, "example.com"},
      {"example.com", 80, true, "example.com:80"},
      {"example.com", 8080, true, "example.com:8080"},
      {"127.0.0.1", 9001, false, "127.0.0.1:9001"},
      {"::1", 9001, false, "[::1]:9001"},
      {"[::1]", 0, false, "[::1]"},
      {"[fe80::1%25eth0]", 80, false, "[fe80::1%25eth0]"},
  };
  for (const Case& c : cases) {
    ClientRequestOptions o = basic_options();
    o.host = c.host;
    o.port = c.port;
    o.secure = c.secure;
    std::string out;
    REQUIRE(build(o, out) == BuildError::None);
    const std::string expect = std::string("\r\nHost: ") + c.expected + "\r\n";
    if (out.find(expect) == std::string::npos) harness::fail(__FILE__, __LINE__, "no " + expect + " in " + out);
  }
  for (const char* bad : {"", "exa mple.com", "example.com/evil", "a\r\nX: y", "[::1", "[]", "a@b", "a?b",
                          "a#b", "[::1]x", "caf\xC3\xA9.com"}) {
    ClientRequestOptions o = basic_options();
    o.host = bad;
    std::string out;
    if (build(o, out) != BuildError::InvalidHost) harness::fail(__FILE__, __LINE__, std::string("accepted host ") + bad);
  }
  ClientRequestOptions nul = basic_options();
  nul.host = std::string_view("ex\0ample", 8);
  std::string out;
  CHECK(build(nul, out) == BuildError::InvalidHost);
}

TEST(request_misuse) {
  std::string out;
  for (const char* path : {"", "chat", "/a b", "/a#frag", "/a\r\nX: y", "/\xC3\xA9", "/\t"}) {
    ClientRequestOptions o = basic_options();
    o.path = path;
    if (build(o, out) != BuildError::InvalidPath) harness::fail(__FILE__, __LINE__, std::string("accepted path ") + path);
  }
  {
    ClientRequestOptions o = basic_options();
    const std::string_view bad[] = {"chat", "super chat"};
    o.protocols = bad;
    CHECK(build(o, out) == BuildError::InvalidSubprotocol);
    const std::string_view empty[] = {""};
    o.protocols = empty;
    CHECK(build(o, out) == BuildError::InvalidSubprotocol);
    const std::string_view comma[] = {"a,b"};
    o.protocols = comma;
    CHECK(build(o, out) == BuildError::InvalidSubprotocol);
    const std::string_view dup[] = {"chat", "x", "chat"};
    o.protocols = dup;
    CHECK(build(o, out) == BuildError::DuplicateSubprotocol);
  }
  {
    ClientRequestOptions o = basic_options();
    o.origin = "http://a\r\nX-Injected: 1";
    CHECK(build(o, out) == BuildError::InvalidOrigin);
  }
  {
    ClientRequestOptions o = basic_options();
    DeflateOffer d;
    d.server_max_window_bits = 16;
    o.deflate = &d;
    CHECK(build(o, out) == BuildError::InvalidDeflateOption);
  }
  for (std::string_view name : {"Host", "upgrade", "CONNECTION", "Origin", "Sec-WebSocket-Key", "sec-websocket-version",
                                "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
                                "Content-Length", "Transfer-Encoding"}) {
    ClientRequestOptions o = basic_options();
    const HeaderField h[] = {{name, "x"}};
    o.headers = h;
    if (build(o, out) != BuildError::ForbiddenHeader)
      harness::fail(__FILE__, __LINE__, "allowed override of " + std::string(name));
  }
  {
    ClientRequestOptions o = basic_options();
    const HeaderField inj[] = {{"X-A", "1\r\nHost: evil"}};
    o.headers = inj;
    CHECK(build(o, out) == BuildError::InvalidHeaderValue);
    const HeaderField nul[] = {{"X-A", std::string_view("1\0", 2)}};
    o.headers = nul;
    CHECK(build(o, out) == BuildError::InvalidHeaderValue);
    const HeaderField name[] = {{"X-A\r\nHost", "1"}};
    o.headers = name;
    CHECK(build(o, out) == BuildError::InvalidHeaderName);
  }
  CHECK(out.empty());
}

TEST(valid_101_every_split_with_leftover) {
  const std::string head = Resp().str();
  const std::string frames = "\x81\x02Hi\x89\x00";
  with_response(basic_options(), head + frames, [&](const ClientHandshake& hs, size_t consumed, const std::string& label) {
    REQUIRE_MSG(hs.state() == HeadState::Complete, label + " " + hs.error_reason());
    CHECK_EQ(consumed, head.size());
    CHECK_EQ(hs.status(), 101);
    CHECK_EQ(hs.subprotocol(), std::string_view(""));
    CHECK(!hs.deflate_accepted());
    CHECK(hs.error() == HandshakeError::None);
  });
}

TEST(valid_101_variants) {
  auto ok = [](const ClientRequestOptions& o, const std::string& r) {
    with_response(o, r, [&](const ClientHandshake& hs, size_t, const std::string& label) {
      if (hs.state() != HeadState::Complete)
        harness::fail(__FILE__, __LINE__, "[" + label + "] rejected (" + hs.error_reason() + "):\n" + r);
    });
  };
  ok(basic_options(), Resp().set("Upgrade", "upgrade: WebSocket").set("Connection", "CONNECTION: keep-alive, upgrade").str());
  ok(basic_options(), Resp().set("Sec-WebSocket-Accept", "sec-websocket-accept:  " + std::string(kAccept) + " ").str());
  Resp other_reason;
  other_reason.status_line = "HTTP/1.1 101 OK";
  ok(basic_options(), other_reason.str());
  ClientRequestOptions with_protocols = basic_options();
  const std::string_view protocols[] = {"chat", "superchat"};
  with_protocols.protocols = protocols;
  ok(with_protocols, Resp().str());  // none selected: allowed
  with_response(with_protocols, Resp().add("Sec-WebSocket-Protocol: superchat").str(),
                [&](const ClientHandshake& hs, size_t, const std::string& label) {
                  REQUIRE_MSG(hs.state() == HeadState::Complete, label);
                  CHECK_EQ(hs.subprotocol(), std::string_view("superchat"));
                });
}

TEST(bad_status_keeps_status_and_headers) {
  Resp r;
  r.status_line = "HTTP/1.1 302 Found";
  r.lines = {"Location: https://example.com/elsewhere", "Content-Length: 0"};
  expect_failure(basic_options(), r.str(), HandshakeError::BadStatus, "WS_ERR_HANDSHAKE_BAD_STATUS");
  with_response(basic_options(), r.str() + "body", [&](const ClientHandshake& hs, size_t consumed, const std::string&) {
    CHECK_EQ(hs.status(), 302);
    CHECK(find_field(hs.response(), "location") == std::optional<std::string_view>("https://example.com/elsewhere"));
    CHECK_EQ(consumed, r.str().size());
  });
  for (const char* line : {"HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request", "HTTP/1.1 426 Upgrade Required",
                           "HTTP/1.1 100 Continue", "HTTP/1.0 101 Switching Protocols"}) {
    Resp bad;
    bad.status_line = line;
    const bool v10 = std::string_view(line).starts_with("HTTP/1.0");
    expect_failure(basic_options(), bad.str(), v10 ? HandshakeError::Malformed : HandshakeError::BadStatus,
                   v10 ? "WS_ERR_HANDSHAKE_MALFORMED" : "WS_ERR_HANDSHAKE_BAD_STATUS");
  }
}

TEST(bad_upgrade_connection_accept) {
  const auto o = basic_options();
  const auto U = HandshakeError::BadUpgrade;
  expect_failure(o, Resp().drop("Upgrade").str(), U, "WS_ERR_HANDSHAKE_BAD_UPGRADE");
  expect_failure(o, Resp().set("Upgrade", "Upgrade: websockets").str(), U, "WS_ERR_HANDSHAKE_BAD_UPGRADE");
  expect_failure(o, Resp().set("Upgrade", "Upgrade: h2c, websocket").str(), U, "WS_ERR_HANDSHAKE_BAD_UPGRADE");
  expect_failure(o, Resp().add("Upgrade: websocket").str(), U, "WS_ERR_HANDSHAKE_BAD_UPGRADE");
  const auto C = HandshakeError::BadConnection;
  expect_failure(o, Resp().drop("Connection").str(), C, "WS_ERR_HANDSHAKE_BAD_CONNECTION");
  expect_failure(o, Resp().set("Connection", "Connection: close").str(), C, "WS_ERR_HANDSHAKE_BAD_CONNECTION");
  expect_failure(o, Resp().set("Connection", "Connection: upgrades").str(), C, "WS_ERR_HANDSHAKE_BAD_CONNECTION");
  const auto A = HandshakeError::BadAccept;
  expect_failure(o, Resp().drop("Sec-WebSocket-Accept").str(), A, "WS_ERR_HANDSHAKE_BAD_ACCEPT");
  expect_failure(o, Resp().set("Sec-WebSocket-Accept", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=").str(), A,
                 "WS_ERR_HANDSHAKE_BAD_ACCEPT");
  expect_failure(o, Resp().set("Sec-WebSocket-Accept", "Sec-WebSocket-Accept: bz3qJYTGdOe8gUSpLosEdiLKDrk=").str(), A,
                 "WS_ERR_HANDSHAKE_BAD_ACCEPT");  // base64 is case-sensitive
  expect_failure(o, Resp().add("Sec-WebSocket-Accept: " + std::string(kAccept)).str(), A, "WS_ERR_HANDSHAKE_BAD_ACCEPT");
  expect_failure(o, Resp().set("Sec-WebSocket-Accept", "Sec-WebSocket-Accept:").str(), A, "WS_ERR_HANDSHAKE_BAD_ACCEPT");
}

TEST(bad_protocol) {
  auto o = basic_options();
  const auto P = HandshakeError::BadProtocol;
  const char* code = "WS_ERR_HANDSHAKE_BAD_PROTOCOL";
  expect_failure(o, Resp().add("Sec-WebSocket-Protocol: chat").str(), P, code);  // none offered
  const std::string_view protocols[] = {"chat", "superchat"};
  o.protocols = protocols;
  expect_failure(o, Resp().add("Sec-WebSocket-Protocol: other").str(), P, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Protocol: Chat").str(), P, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Protocol: chat, superchat").str(), P, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Protocol: chat").add("Sec-WebSocket-Protocol: chat").str(), P, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Protocol:").str(), P, code);
}

TEST(bad_extension) {
  auto o = basic_options();
  const auto E = HandshakeError::BadExtension;
  const char* code = "WS_ERR_HANDSHAKE_BAD_EXTENSION";
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate").str(), E, code);  // not offered
  DeflateOffer d;
  o.deflate = &d;
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: x-webkit-deflate-frame").str(), E, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate").str(), E, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate").add("Sec-WebSocket-Extensions: permessage-deflate").str(), E, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate; foo").str(), E, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits").str(), E, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16").str(), E, code);
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate;").str(), E, code);
  DeflateOffer no_cmwb;
  no_cmwb.client_max_window_bits = false;
  o.deflate = &no_cmwb;
  expect_failure(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9").str(), E, code);
  // And a valid one is reported.
  o.deflate = &d;
  with_response(o, Resp().add("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=9").str(),
                [&](const ClientHandshake& hs, size_t, const std::string& label) {
                  REQUIRE_MSG(hs.state() == HeadState::Complete, label);
                  CHECK(hs.deflate_accepted());
                  CHECK(hs.deflate().server_no_context_takeover);
                  CHECK_EQ(int(hs.deflate().client_max_window_bits), 9);
                });
}

TEST(malformed_and_oversized_responses) {
  const auto o = basic_options();
  const auto M = HandshakeError::Malformed;
  const char* code = "WS_ERR_HANDSHAKE_MALFORMED";
  expect_failure(o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n", M, code);
  expect_failure(o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n continued\r\n\r\n", M, code);
  expect_failure(o, "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n", M, code);
  expect_failure(o, "SSH-2.0-OpenSSH_9.6\r\n", M, code);
  using namespace std::string_literals;
  expect_failure(o, "HTTP/1.1 101 X\r\nA: \0\r\n\r\n"s, M, code);
  expect_failure(o, "HTTP/2 101\r\n\r\n", M, code);
  HeadLimits small;
  small.max_head_size = 100;
  expect_failure(o, Resp().add("X-Pad: " + std::string(100, 'x')).str(), HandshakeError::HeadTooLarge,
                 "WS_ERR_HANDSHAKE_HEAD_TOO_LARGE", small);
  HeadLimits few;
  few.max_headers = 3;
  expect_failure(o, Resp().add("X: 1").str(), HandshakeError::HeadTooLarge, "WS_ERR_HANDSHAKE_HEAD_TOO_LARGE", few);
  // The server closes mid-head.
  ClientHandshake hs;
  CountingRandom rng;
  std::string req;
  hs.build_request(o, rng, req);
  CHECK(hs.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs").state == HeadState::NeedMore);
  CHECK(hs.finish() == HeadState::Failed);
  CHECK_EQ(std::string(hs.error_code()), std::string(code));
  CHECK_EQ(hs.feed("ocket\r\n\r\n").consumed, size_t{0});
}

// --- extended CONNECT (RFC 8441 §4–5) ---------------------------------------------------------

using Block = OwnedFieldList;

TEST(extended_connect_request_block) {
  std::vector<std::string_view> protocols = {"chat", "superchat"};
  std::vector<HeaderField> extra = {{"X-Token", "abc"}};
  sockudo::protocol::DeflateOffer offer;
  ClientRequestOptions o;
  o.host = "example.com";
  o.port = 8443;
  o.secure = true;
  o.path = "/ws?x=1";
  o.protocols = protocols;
  o.origin = "https://example.com";
  o.deflate = &offer;
  o.headers = extra;
  ClientHandshake hs;
  std::vector<OwnedField> f;
  CHECK(hs.build_connect(o, f) == BuildError::None);
  CHECK(hs.key().empty());  // §5: no Sec-WebSocket-Key
  std::vector<std::string> names;
  for (const auto& x : f) names.push_back(x.name);
  CHECK(names == std::vector<std::string>({":method", ":protocol", ":scheme", ":authority", ":path", "sec-websocket-version",
                                           "sec-websocket-protocol", "sec-websocket-extensions", "origin", "x-token"}));
  CHECK_EQ(f[0].value, "CONNECT");
  CHECK_EQ(f[2].value, "https");
  CHECK_EQ(f[3].value, "example.com:8443");
  CHECK_EQ(f[4].value, "/ws?x=1");
  CHECK_EQ(f[6].value, "chat, superchat");
  std::vector<HeaderField> bad = {{"Connection", "close"}};
  o.headers = bad;
  ClientHandshake hs2;
  std::vector<OwnedField> none;
  CHECK(hs2.build_connect(o, none) == BuildError::ForbiddenHeader);
  CHECK(none.empty());
}

TEST(extended_connect_response_2xx_opens_and_offers_are_checked) {
  std::vector<std::string_view> protocols = {"chat"};
  sockudo::protocol::DeflateOffer offer;
  ClientRequestOptions o;
  o.host = "h";
  o.protocols = protocols;
  o.deflate = &offer;
  {
    ClientHandshake hs;
    std::vector<OwnedField> f;
    CHECK(hs.build_connect(o, f) == BuildError::None);
    Block b;
    b.list = {{"sec-websocket-protocol", "chat"}, {"sec-websocket-extensions", "permessage-deflate"}};
    CHECK(hs.receive_response(200, b) == HeadState::Complete);
    CHECK_EQ(std::string(hs.subprotocol()), "chat");
    CHECK(hs.deflate_accepted());
  }
  {
    ClientHandshake hs;
    std::vector<OwnedField> f;
    CHECK(hs.build_connect(o, f) == BuildError::None);
    Block b;
    b.list = {{"sec-websocket-protocol", "other"}};
    CHECK(hs.receive_response(200, b) == HeadState::Failed);
    CHECK(hs.error() == HandshakeError::BadProtocol);
  }
  {
    ClientHandshake hs;
    std::vector<OwnedField> f;
    CHECK(hs.build_connect(o, f) == BuildError::None);
    Block b;
    b.list = {{"content-length", "4"}, {"x-why", "no"}};
    CHECK(hs.receive_response(403, b) == HeadState::Failed);
    CHECK(hs.error() == HandshakeError::BadStatus);
    CHECK_EQ(hs.status(), 403);
    CHECK(find_field(hs.response_fields(), "x-why") == std::optional<std::string_view>("no"));
  }
}

// expect_response: a request someone else sent (the ws drop-in's, over Node's http client) with
// its own key; the response is validated exactly as for build_request's, in every split.
TEST(expect_response_validates_a_request_sent_elsewhere) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3's example
  const std::string accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  ClientRequestOptions o = basic_options();
  const std::string_view protocols[] = {"chat"};
  o.protocols = protocols;
  DeflateOffer offer;
  o.deflate = &offer;
  auto replay = [&](const std::string& response, const std::function<void(const ClientHandshake&, const std::string&)>& check) {
    std::unique_ptr<ClientHandshake> hs;
    harness::replay_splits(
        bytes(response),
        [&] {
          hs = std::make_unique<ClientHandshake>();
          if (hs->expect_response(o, key) != BuildError::None) harness::fail(__FILE__, __LINE__, "expect_response failed");
        },
        [&](const uint8_t* d, size_t n) { hs->feed(d, n); },
        [&](const std::string& label) { check(*hs, label); });
  };
  Resp good;
  good.set("Sec-WebSocket-Accept", "Sec-WebSocket-Accept: " + accept).add("Sec-WebSocket-Protocol: chat").add("Sec-WebSocket-Extensions: permessage-deflate");
  replay(good.str(), [&](const ClientHandshake& hs, const std::string& label) {
    REQUIRE_MSG(hs.state() == HeadState::Complete, label + " " + hs.error_reason());
    CHECK_EQ(hs.subprotocol(), std::string_view("chat"));
    CHECK(hs.deflate_accepted());
  });
  // The accept of build_request's key is wrong for this one.
  replay(Resp().str(), [&](const ClientHandshake& hs, const std::string& label) {
    REQUIRE_MSG(hs.state() == HeadState::Failed && hs.error() == HandshakeError::BadAccept, label);
  });
  Resp unoffered = good;
  unoffered.set("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: other");
  replay(unoffered.str(), [&](const ClientHandshake& hs, const std::string& label) {
    REQUIRE_MSG(hs.state() == HeadState::Failed && hs.error() == HandshakeError::BadProtocol, label);
  });
  // A key that is not base64 of 16 bytes, and options build_request would refuse, are refused.
  ClientHandshake hs;
  CHECK(hs.expect_response(o, "short") == BuildError::InvalidKey);
  CHECK(hs.expect_response(o, "dGhlIHNhbXBsZSBub25jZQ=!") == BuildError::InvalidKey);
  ClientRequestOptions bad = o;
  bad.path = "no-slash";
  CHECK(hs.expect_response(bad, key) == BuildError::InvalidPath);
}
