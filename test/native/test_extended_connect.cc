// The WebSocket bootstrap over HTTP/2 and HTTP/3 (RFC 8441 §4–5, RFC 9220 §3): classification of
// decoded request blocks, and the fields of the answer.
#include <string>
#include <utility>
#include <vector>

#include "core/handshake/extended_connect.h"
#include "harness.h"

using namespace sockudo::handshake;

namespace {

using Block = std::vector<std::pair<std::string, std::string>>;

// What Chromium sends (peers.md), give or take the cookie.
Block chromium() {
  return {{":method", "CONNECT"},
          {":authority", "localhost:8443"},
          {":scheme", "https"},
          {":path", "/chat?room=1"},
          {":protocol", "websocket"},
          {"sec-websocket-version", "13"},
          {"origin", "https://localhost:8443"},
          {"sec-websocket-protocol", "chat, superchat"},
          {"sec-websocket-extensions", "permessage-deflate; client_max_window_bits"}};
}

UpgradeVerdict classify(const Block& block, UpgradeRequest& out, ConnectRequest& req) {
  for (const auto& [n, v] : block) req.add(n, v);
  return validate_extended_connect(req, out);
}

void expect(const Block& block, UpgradeKind kind, int status, const char* label) {
  ConnectRequest req(HeadLimits{});
  UpgradeRequest out;
  const UpgradeVerdict v = classify(block, out, req);
  if (v.kind != kind || v.status != status)
    harness::fail(__FILE__, __LINE__, std::string(label) + ": got kind " + std::to_string(int(v.kind)) + " status " +
                                          std::to_string(v.status) + " (" + v.reason + ")");
}

Block without(Block b, std::string_view name) {
  std::erase_if(b, [&](const auto& f) { return f.first == name; });
  return b;
}

Block with(Block b, std::string name, std::string value) {
  b.emplace_back(std::move(name), std::move(value));
  return b;
}

Block replaced(Block b, std::string_view name, std::string value) {
  for (auto& f : b)
    if (f.first == name) f.second = std::move(value);
  return b;
}

}  // namespace

TEST(a_chromium_request_is_valid_and_read_protocol_neutrally) {
  ConnectRequest req(HeadLimits{});
  UpgradeRequest out;
  const UpgradeVerdict v = classify(chromium(), out, req);
  CHECK(v.kind == UpgradeKind::Valid);
  CHECK_EQ(v.status, 200);
  CHECK_EQ(std::string(out.method), "CONNECT");
  CHECK_EQ(std::string(out.target), "/chat?room=1");
  CHECK_EQ(std::string(out.path), "/chat");
  CHECK_EQ(std::string(out.query), "room=1");
  CHECK_EQ(std::string(out.host), "localhost:8443");
  CHECK(out.has_origin);
  CHECK_EQ(std::string(out.origin), "https://localhost:8443");
  CHECK(out.key.empty());
  CHECK_EQ(out.protocols.size(), size_t(2));
  CHECK_EQ(std::string(out.protocols[1]), "superchat");
  CHECK_EQ(out.extensions.size(), size_t(1));
  CHECK_EQ(req.header_count(), size_t(4));  // the regular fields only
  CHECK_EQ(std::string(req.header_name(0)), "sec-websocket-version");
}

TEST(other_requests_are_not_upgrades) {
  expect({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}, UpgradeKind::NotUpgrade, 404,
         "GET");
  expect({{":method", "CONNECT"}, {":authority", "a:443"}}, UpgradeKind::NotUpgrade, 501, "plain CONNECT");
  expect(replaced(chromium(), ":protocol", "webtransport"), UpgradeKind::Invalid, 501, "webtransport");
  expect(replaced(chromium(), ":protocol", "WebSocket"), UpgradeKind::Valid, 200, "token compared case-insensitively");
}

TEST(rfc8441_section4_pseudo_headers_are_required) {
  expect(without(chromium(), ":scheme"), UpgradeKind::Invalid, 400, "no :scheme");
  expect(without(chromium(), ":path"), UpgradeKind::Invalid, 400, "no :path");
  expect(without(chromium(), ":authority"), UpgradeKind::Invalid, 400, "no :authority");
  expect(replaced(chromium(), ":authority", ""), UpgradeKind::Invalid, 400, "empty :authority");
  expect(without(chromium(), ":method"), UpgradeKind::Invalid, 400, "no :method");
  expect(replaced(chromium(), ":scheme", "ftp"), UpgradeKind::Invalid, 400, "ftp scheme");
  expect(replaced(chromium(), ":path", "*"), UpgradeKind::Invalid, 400, "asterisk path");
  expect(replaced(chromium(), ":path", "/a#frag"), UpgradeKind::Invalid, 400, "fragment");
  expect(replaced(chromium(), ":scheme", "http"), UpgradeKind::Valid, 200, "http scheme (h2c)");
}

TEST(rfc9113_section8_3_pseudo_header_order_and_repetition) {
  Block late = chromium();
  late.insert(late.begin() + 5, {"x-early", "1"});
  late.push_back({":path", "/again"});
  expect(late, UpgradeKind::Invalid, 400, "pseudo after regular");
  expect(with(chromium(), ":protocol", "websocket"), UpgradeKind::Invalid, 400, "repeated pseudo (after regular too)");
  Block twice = chromium();
  twice.insert(twice.begin() + 1, {":method", "CONNECT"});
  expect(twice, UpgradeKind::Invalid, 400, "repeated :method");
  Block unknown = chromium();
  unknown.insert(unknown.begin(), {":status", "200"});
  expect(unknown, UpgradeKind::Invalid, 400, "response pseudo in a request");
}

TEST(rfc8441_section5_key_accept_and_connection_fields_are_refused) {
  expect(with(chromium(), "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), UpgradeKind::Invalid, 400, "key");
  expect(with(chromium(), "sec-websocket-accept", "x"), UpgradeKind::Invalid, 400, "accept");
  expect(with(chromium(), "connection", "upgrade"), UpgradeKind::Invalid, 400, "connection");
  expect(with(chromium(), "upgrade", "websocket"), UpgradeKind::Invalid, 400, "upgrade");
  expect(with(chromium(), "transfer-encoding", "chunked"), UpgradeKind::Invalid, 400, "transfer-encoding");
  expect(with(chromium(), "content-length", "5"), UpgradeKind::Invalid, 400, "a body");
  expect(with(chromium(), "content-length", "0"), UpgradeKind::Valid, 200, "content-length 0");
}

TEST(version_13_is_required_and_the_refusal_says_so) {
  ConnectRequest req(HeadLimits{});
  UpgradeRequest out;
  const UpgradeVerdict v = classify(replaced(chromium(), "sec-websocket-version", "8"), out, req);
  CHECK(v.kind == UpgradeKind::Invalid);
  CHECK_EQ(v.status, 400);
  CHECK(v.version_hint);
  expect(without(chromium(), "sec-websocket-version"), UpgradeKind::Invalid, 400, "no version");
  expect(with(chromium(), "sec-websocket-version", "13"), UpgradeKind::Invalid, 400, "two versions");
}

TEST(offers_are_checked_as_on_http1) {
  expect(replaced(chromium(), "sec-websocket-protocol", "a, a"), UpgradeKind::Invalid, 400, "duplicate subprotocol");
  expect(replaced(chromium(), "sec-websocket-protocol", "a b"), UpgradeKind::Invalid, 400, "not a token");
  expect(replaced(chromium(), "sec-websocket-extensions", ";;"), UpgradeKind::Invalid, 400, "bad extensions");
  expect(with(chromium(), "origin", "https://evil"), UpgradeKind::Invalid, 400, "two origins");
}

TEST(limits_answer_431) {
  HeadLimits small;
  small.max_head_size = 300;
  small.max_headers = 6;
  {
    ConnectRequest req(small);
    UpgradeRequest out;
    CHECK(validate_extended_connect((classify(with(chromium(), "x-big", std::string(200, 'a')), out, req), req), out).status == 431);
  }
  {
    ConnectRequest req(HeadLimits{16 * 1024, 4});
    UpgradeRequest out;
    const UpgradeVerdict v = classify(with(chromium(), "x-more", "1"), out, req);
    CHECK_EQ(v.status, 431);
    CHECK(req.failed());
  }
}

TEST(accept_fields_carry_status_choice_and_lower_cased_extras) {
  ConnectRequest req(HeadLimits{});
  UpgradeRequest r;
  CHECK(classify(chromium(), r, req).kind == UpgradeKind::Valid);
  std::vector<HeaderField> extra = {{"X-Session", "42"}};
  AcceptOptions o;
  o.subprotocol = "superchat";
  o.extensions = "permessage-deflate; client_max_window_bits=15";
  o.headers = extra;
  std::vector<OwnedField> out;
  CHECK(build_accept_fields(r, o, out) == BuildError::None);
  CHECK_EQ(out.size(), size_t(4));
  CHECK_EQ(out[0].name, ":status");
  CHECK_EQ(out[0].value, "200");
  CHECK_EQ(out[1].name, "sec-websocket-protocol");
  CHECK_EQ(out[2].value, "permessage-deflate; client_max_window_bits=15");
  CHECK_EQ(out[3].name, "x-session");

  std::vector<OwnedField> none;
  AcceptOptions bad;
  bad.subprotocol = "notoffered";
  CHECK(build_accept_fields(r, bad, none) == BuildError::SubprotocolNotOffered);
  std::vector<HeaderField> conn = {{"Connection", "close"}};
  AcceptOptions c;
  c.headers = conn;
  CHECK(build_accept_fields(r, c, none) == BuildError::ForbiddenHeader);
  std::vector<HeaderField> inj = {{"x-a", "1\r\nx-b: 2"}};
  c.headers = inj;
  CHECK(build_accept_fields(r, c, none) == BuildError::InvalidHeaderValue);
  CHECK(none.empty());
}

TEST(error_fields_refuse_2xx_and_connection_fields) {
  std::vector<OwnedField> out;
  CHECK(build_error_fields(200, "", {}, false, out) == BuildError::InvalidStatus);
  CHECK(build_error_fields(101, "", {}, false, out) == BuildError::InvalidStatus);
  std::vector<HeaderField> conn = {{"upgrade", "websocket"}};
  CHECK(build_error_fields(403, "", conn, false, out) == BuildError::ForbiddenHeader);
  CHECK(out.empty());
  CHECK(build_error_fields(403, "go away", {}, false, out) == BuildError::None);
  CHECK_EQ(out.size(), size_t(3));
  CHECK_EQ(out[0].value, "403");
  CHECK_EQ(out[1].name, "content-type");
  CHECK_EQ(out[2].value, "7");
  out.clear();
  CHECK(build_error_fields(400, "", {}, true, out) == BuildError::None);
  CHECK_EQ(out.back().name, "sec-websocket-version");
  CHECK_EQ(out.back().value, "13");
}
