#include "core/handshake/server_upgrade.h"

#include <algorithm>

#include "core/handshake/accept_key.h"
#include "core/handshake/header_writer.h"
#include "core/handshake/http_status.h"
#include "core/handshake/upgrade_fields.h"

namespace sockudo::handshake {

namespace {

UpgradeVerdict invalid(int status, const char* reason) {
  return {UpgradeKind::Invalid, status, reason};
}

}  // namespace

UpgradeVerdict validate_upgrade(const HttpHeadParser& head, UpgradeRequest& out) {
  out = UpgradeRequest{};
  if (head.kind() != HeadKind::Request) return invalid(500, "not a request head");
  if (head.state() == HeadState::Failed) return invalid(head.error_status(), head.error_reason());
  if (head.state() != HeadState::Complete) return invalid(400, "incomplete request head");

  UpgradeFields f;
  gather_upgrade_fields(head, f, out);

  // §4.2.1 item 3: without "Upgrade: websocket" this is someone else's request.
  if (!f.upgrade_websocket)
    return {UpgradeKind::NotUpgrade, 426, "this endpoint requires a WebSocket upgrade"};
  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
  if (head.method() != "GET") return invalid(400, "WebSocket upgrade requires the GET method");
  if (head.http_minor() < 1) return invalid(400, "WebSocket upgrade requires HTTP/1.1");
  // §4.2.1 item 4.
  if (!f.connection_upgrade) return invalid(400, "Connection header must include \"upgrade\"");
  // §4.2.1 item 2; RFC 9112 §3.2: exactly one Host line in an HTTP/1.1 request.
  if (f.host_count != 1 || f.host.empty()) return invalid(400, "missing or duplicate Host header");
  if (f.has_body) return invalid(400, "WebSocket upgrade request must not have a body");
  // §4.2.1 item 6, §4.4: an unknown version gets 426 with the version we speak.
  if (f.version_count > 1) return invalid(400, "duplicate Sec-WebSocket-Version header");
  if (f.version_count == 0 || f.version != "13")
    return invalid(426, "unsupported or missing Sec-WebSocket-Version (this server speaks 13)");
  // §4.2.1 item 5: base64 of a 16-byte nonce, exactly once (§11.3.1).
  if (f.key_count != 1) return invalid(400, "missing or duplicate Sec-WebSocket-Key header");
  if (!is_valid_key(f.key)) return invalid(400, "invalid Sec-WebSocket-Key");
  if (const char* bad = check_offers(f, out)) return invalid(400, bad);
  if (!split_target(head.target(), out.path, out.query))
    return invalid(400, "request-target must be an absolute path without a fragment");

  out.method = head.method();
  out.target = head.target();
  out.host = f.host;
  out.has_origin = f.origin_count == 1;
  out.origin = f.origin;
  out.key = f.key;
  return {UpgradeKind::Valid, 101, ""};
}

BuildError build_accept_response(const UpgradeRequest& request, const AcceptOptions& options,
                                 std::string& out) {
  if (!is_valid_key(request.key)) return BuildError::InvalidKey;
  if (BuildError e = check_answer(request, options); e != BuildError::None) return e;
  if (BuildError e = check_extra_headers(
          options.headers, {"upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol",
                            "sec-websocket-extensions", "content-length", "transfer-encoding"});
      e != BuildError::None)
    return e;

  // §4.2.2 step 5.
  const AcceptKey accept = compute_accept_key(request.key);
  out.append("HTTP/1.1 101 Switching Protocols\r\n");
  append_header(out, "Upgrade", "websocket");
  append_header(out, "Connection", "Upgrade");
  append_header(out, "Sec-WebSocket-Accept", as_view(accept));
  if (!options.subprotocol.empty()) append_header(out, "Sec-WebSocket-Protocol", options.subprotocol);
  if (!options.extensions.empty()) append_header(out, "Sec-WebSocket-Extensions", options.extensions);
  for (const HeaderField& h : options.headers) append_header(out, h.name, h.value);
  out.append("\r\n");
  return BuildError::None;
}

BuildError build_error_response(int status, std::string_view body,
                                std::span<const HeaderField> headers, std::string& out) {
  if (status < 200 || status > 599) return BuildError::InvalidStatus;
  // RFC 9110 §6.4.1: 204 and 304 never have content (nor, for 204, a Content-Length).
  const bool no_content = status == 204 || status == 304;
  if (no_content && !body.empty()) return BuildError::BodyNotAllowed;
  const bool upgrade_required = status == 426;
  BuildError e = upgrade_required
                     ? check_extra_headers(headers, {"connection", "content-length", "transfer-encoding",
                                                     "upgrade", "sec-websocket-version"})
                     : check_extra_headers(headers, {"connection", "content-length", "transfer-encoding"});
  if (e != BuildError::None) return e;

  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  if (upgrade_required) {
    // RFC 9110 §15.5.22: a 426 MUST carry Upgrade; §7.8: whoever sends Upgrade also lists it in
    // Connection. RFC 6455 §4.4: tell the client which version we speak.
    append_header(out, "Connection", "Upgrade, close");
    append_header(out, "Upgrade", "websocket");
    append_header(out, "Sec-WebSocket-Version", "13");
  } else {
    append_header(out, "Connection", "close");
  }
  bool has_content_type = false;
  for (const HeaderField& h : headers) has_content_type = has_content_type || iequals(h.name, "content-type");
  if (!body.empty() && !has_content_type) append_header(out, "Content-Type", "text/plain; charset=utf-8");
  if (!no_content) append_header(out, "Content-Length", std::to_string(body.size()));
  for (const HeaderField& h : headers) append_header(out, h.name, h.value);
  out.append("\r\n");
  out.append(body);
  return BuildError::None;
}

}  // namespace sockudo::handshake
