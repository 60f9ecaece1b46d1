// Server side of the opening handshake (RFC 6455 §4.2): classify a parsed request head, then
// write either the 101 response or an error response.
//
//   HttpHeadParser head(HeadKind::Request, limits);   // feed until state() != NeedMore
//   UpgradeRequest req;
//   UpgradeVerdict v = validate_upgrade(head, req);
//   switch (v.kind) {
//     case UpgradeKind::Valid:       // ask the application; then build_accept_response(...)
//     case UpgradeKind::NotUpgrade:  // hand to the HTTP handler, or build_rejection(v, out) (426)
//     case UpgradeKind::Invalid:     // build_rejection(v, out) and close
//   }
//
// Decisions:
// - Only a request whose Upgrade header lists "websocket" is a WebSocket handshake; anything
//   else (a plain GET, "Upgrade: h2c") is NotUpgrade, never an error of ours.
// - HTTP/1.0 upgrade requests are answered 400, not 505: RFC 9110 §15.6.6 reserves 505 for an
//   unsupported *major* version (which the head parser already answers 505).
// - Version check before key check, so a client of another protocol version (e.g. hybi-00, which
//   has no Sec-WebSocket-Key) learns which version we speak (426 + Sec-WebSocket-Version, §4.4).
// - An upgrade request with a body (Transfer-Encoding, or Content-Length other than 0) is 400:
//   its body would otherwise be read as WebSocket frames.
// - Several Origin lines are 400: an Origin check must not have to guess which one counts.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/handshake_errors.h"
#include "core/handshake/header_syntax.h"
#include "core/handshake/http_head_parser.h"
#include "core/protocol/extension_header.h"

namespace sockudo::handshake {

enum class UpgradeKind : uint8_t {
  NotUpgrade,  // a complete, well-formed request that does not ask for a WebSocket upgrade
  Invalid,     // answer `status` (build_rejection) and close
  Valid,       // a WebSocket handshake the application may accept
};

struct UpgradeVerdict {
  UpgradeKind kind = UpgradeKind::Invalid;
  // Invalid: the status to answer (400, 414, 426, 431, 505). NotUpgrade: 426, the answer for a
  // server that has no HTTP handler. Valid: 101.
  int status = 400;
  const char* reason = "";  // fixed text, never peer bytes: safe as a log line or response body
  // Extended CONNECT: the request named a WebSocket version other than 13; the answer says which
  // we speak (RFC 6455 §4.4) without a 426's Upgrade field, which HTTP/2 and HTTP/3 forbid.
  bool version_hint = false;
};

// Views into the head parser's buffer: valid while that parser lives and is not reset.
struct UpgradeRequest {
  std::string_view method;
  std::string_view target;  // as sent (origin-form or absolute-form)
  std::string_view path;    // target's path, "/" when an absolute-form target has none
  std::string_view query;   // after '?', without it; empty when none
  std::string_view host;
  bool has_origin = false;
  std::string_view origin;
  std::string_view key;                     // Sec-WebSocket-Key, canonical base64 of 16 bytes
  std::vector<std::string_view> protocols;  // Sec-WebSocket-Protocol offers, in order, unique
  std::vector<protocol::Extension> extensions;  // Sec-WebSocket-Extensions offers, in order
};

// Classifies a head the parser has finished with (Complete or Failed; a parser failure becomes
// Invalid with the parser's status). Fills `out` (which it clears first) for Valid.
UpgradeVerdict validate_upgrade(const HttpHeadParser& head, UpgradeRequest& out);

struct AcceptOptions {
  std::string_view subprotocol;  // "" = none; otherwise exactly one the client offered (§4.2.2)
  std::string_view extensions;   // Sec-WebSocket-Extensions value (negotiate_deflate); "" = none
  std::span<const HeaderField> headers;  // extra fields, validated against injection
};

// Appends the 101 response (§4.2.2 step 5) to `out`. On error nothing is appended: the
// subprotocol was not offered, the extensions value is not valid extension syntax, an extra
// header is invalid or one the handshake writes itself (Upgrade, Connection, Sec-WebSocket-*,
// Content-Length, Transfer-Encoding), or `request` has no valid key.
BuildError build_accept_response(const UpgradeRequest& request, const AcceptOptions& options,
                                 std::string& out);

// Appends an error (or any non-101 final) response: status line with its reason phrase,
// "Connection: close", Content-Length, an optional body (text/plain unless the caller gives a
// Content-Type) and extra headers. A 426 also carries "Upgrade: websocket" (RFC 9110 §15.5.22)
// and "Sec-WebSocket-Version: 13" (RFC 6455 §4.4). Status must be 200..599.
BuildError build_error_response(int status, std::string_view body,
                                 std::span<const HeaderField> headers, std::string& out);

// The error response for a NotUpgrade or Invalid verdict, with the reason as its body.
inline void build_rejection(const UpgradeVerdict& verdict, std::string& out) {
  build_error_response(verdict.status, verdict.reason, {}, out);
}

}  // namespace sockudo::handshake
