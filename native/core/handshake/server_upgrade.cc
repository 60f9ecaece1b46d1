#include "core/handshake/server_upgrade.h"

#include <algorithm>

#include "core/handshake/accept_key.h"
#include "core/handshake/header_writer.h"
#include "core/handshake/http_status.h"

namespace sockudo::handshake {

namespace {

UpgradeVerdict invalid(int status, const char* reason) {
  return {UpgradeKind::Invalid, status, reason};
}

// Real clients offer a handful of subprotocols; the cap keeps a 16 KiB header of "a,a,a,..." from
// becoming thousands of entries (and a sort of them).
constexpr size_t kMaxSubprotocols = 128;

// The header fields the validator looks at, gathered in one pass over the head.
struct Fields {
  size_t host_count = 0, key_count = 0, version_count = 0, origin_count = 0;
  std::string_view host, key, version, origin;
  bool upgrade_websocket = false;
  bool connection_upgrade = false;
  bool has_body = false;
  bool bad_protocol = false;
  const char* bad_extensions = nullptr;
};

constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits the request-target into path and query (RFC 9112 §3.2): origin-form "/p?q", or
// absolute-form "scheme://authority/p?q", which §3.2.2 requires servers to accept. Other forms
// (authority, asterisk) are not valid for GET. A fragment is not part of a request-target, and
// RFC 6455 §3 forbids it in WebSocket URIs.
bool split_target(std::string_view target, std::string_view& path, std::string_view& query) {
  if (target.find('#') != std::string_view::npos) return false;
  std::string_view rest = target;
  if (rest.empty()) return false;
  if (rest.front() != '/') {
    const size_t sep = rest.find("://");
    if (sep == std::string_view::npos || sep == 0 || !is_alpha(rest[0])) return false;
    for (size_t i = 1; i < sep; i++) {
      const char c = rest[i];
      if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
    }
    rest.remove_prefix(sep + 3);
    const size_t path_start = rest.find_first_of("/?");
    if (rest.empty() || path_start == 0) return false;  // empty authority
    rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  }
  const size_t q = rest.find('?');
  path = rest.substr(0, q);
  query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  if (path.empty()) path = "/";
  return true;
}

void gather(const HttpHeadParser& head, Fields& f, UpgradeRequest& out) {
  for (size_t i = 0; i < head.header_count(); i++) {
    const std::string_view name = head.header_name(i);
    const std::string_view value = head.header_value(i);
    if (iequals(name, "host")) {
      f.host_count++;
      f.host = value;
    } else if (iequals(name, "upgrade")) {
      f.upgrade_websocket = f.upgrade_websocket || list_contains_token(value, "websocket");
    } else if (iequals(name, "connection")) {
      f.connection_upgrade = f.connection_upgrade || list_contains_token(value, "upgrade");
    } else if (iequals(name, "sec-websocket-key")) {
      f.key_count++;
      f.key = value;
    } else if (iequals(name, "sec-websocket-version")) {
      f.version_count++;
      f.version = value;
    } else if (iequals(name, "origin")) {
      f.origin_count++;
      f.origin = value;
    } else if (iequals(name, "sec-websocket-protocol")) {
      // §4.1 / §11.3.4: a comma-separated list of tokens, possibly over several lines.
      for_each_list_element(value, [&](std::string_view p) {
        if (!is_token(p) || out.protocols.size() == kMaxSubprotocols) {
          f.bad_protocol = true;
          return false;
        }
        out.protocols.push_back(p);
        return true;
      });
    } else if (iequals(name, "sec-websocket-extensions")) {
      if (!f.bad_extensions) {
        auto r = protocol::parse_extension_header(value, out.extensions);
        if (!r.ok) f.bad_extensions = r.error;
      }
    } else if (iequals(name, "transfer-encoding")) {
      f.has_body = true;
    } else if (iequals(name, "content-length")) {
      f.has_body = f.has_body || value != "0";
    }
  }
}

// Duplicates by sorting a copy: O(n log n), so a head full of one-letter offers stays cheap.
bool has_duplicates(const std::vector<std::string_view>& v) {
  std::vector<std::string_view> sorted(v);
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

}  // namespace

UpgradeVerdict validate_upgrade(const HttpHeadParser& head, UpgradeRequest& out) {
  out = UpgradeRequest{};
  if (head.kind() != HeadKind::Request) return invalid(500, "not a request head");
  if (head.state() == HeadState::Failed) return invalid(head.error_status(), head.error_reason());
  if (head.state() != HeadState::Complete) return invalid(400, "incomplete request head");

  Fields f;
  gather(head, f, out);

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
  // §4.2.1 item 8, §4.1: tokens, unique.
  if (f.bad_protocol) return invalid(400, "invalid Sec-WebSocket-Protocol header");
  if (has_duplicates(out.protocols)) return invalid(400, "duplicate subprotocol in Sec-WebSocket-Protocol");
  // §4.2.1 item 9, §9.1: a syntactically broken extension list is a bad request (an offer with
  // unknown parameters is merely declined, by the extension's negotiation).
  if (f.bad_extensions) return invalid(400, "invalid Sec-WebSocket-Extensions header");
  if (f.origin_count > 1) return invalid(400, "duplicate Origin header");
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
  if (!options.subprotocol.empty() &&
      std::find(request.protocols.begin(), request.protocols.end(), options.subprotocol) ==
          request.protocols.end())
    return BuildError::SubprotocolNotOffered;
  if (!options.extensions.empty()) {
    std::vector<protocol::Extension> parsed;
    if (!is_field_value(options.extensions) ||
        !protocol::parse_extension_header(options.extensions, parsed).ok || parsed.empty())
      return BuildError::InvalidExtensions;
  }
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
