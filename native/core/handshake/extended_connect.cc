#include "core/handshake/extended_connect.h"

#include <algorithm>

#include "core/handshake/header_writer.h"
#include "core/handshake/upgrade_fields.h"

namespace sockudo::handshake {

namespace {

// RFC 9113 §6.5.2 / RFC 9114 §7.2.4.1: a field's size is its name, its value and 32 octets.
constexpr size_t kFieldOverhead = 32;

UpgradeVerdict invalid(int status, const char* reason) { return {UpgradeKind::Invalid, status, reason}; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
  return out;
}

// RFC 9113 §8.2.2, RFC 9114 §4.2: fields that only mean something on an HTTP/1.1 connection.
BuildError check_connection_specific(std::span<const HeaderField> headers) {
  return check_extra_headers(headers, {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"});
}

}  // namespace

bool ConnectRequest::fail(int status, const char* reason) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_reason_ = reason;
  }
  return false;
}

bool ConnectRequest::add(std::string_view name, std::string_view value) {
  if (failed()) return false;
  size_ += name.size() + value.size() + kFieldOverhead;
  if (size_ > limits_.max_head_size) return fail(431, "request header block too large");
  if (!name.empty() && name.front() == ':') {
    // RFC 9113 §8.3: pseudo-header fields come first, each at most once, only the defined ones
    // (with RFC 8441 §3's :protocol).
    if (!fields_.empty()) return fail(400, "pseudo-header field after a regular field");
    std::optional<std::string>* slot = nullptr;
    if (name == ":method") slot = &method_;
    else if (name == ":scheme") slot = &scheme_;
    else if (name == ":authority") slot = &authority_;
    else if (name == ":path") slot = &path_;
    else if (name == ":protocol") slot = &protocol_;
    else return fail(400, "unknown pseudo-header field");
    if (slot->has_value()) return fail(400, "repeated pseudo-header field");
    slot->emplace(value);
    return true;
  }
  if (fields_.size() == limits_.max_headers) return fail(431, "too many header fields");
  fields_.push_back({std::string(name), std::string(value)});
  return true;
}

UpgradeVerdict validate_extended_connect(const ConnectRequest& request, UpgradeRequest& out) {
  out = UpgradeRequest{};
  if (request.failed()) return invalid(request.error_status(), request.error_reason());
  if (!request.method()) return invalid(400, "missing :method");
  // RFC 8441 §4: the bootstrap is a CONNECT carrying :protocol; anything else is another request.
  if (*request.method() != "CONNECT")
    return {UpgradeKind::NotUpgrade, 404, "this endpoint serves WebSockets only (extended CONNECT, RFC 8441)"};
  if (!request.protocol()) return {UpgradeKind::NotUpgrade, 501, "CONNECT tunnels are not supported"};
  if (!iequals(*request.protocol(), "websocket")) return invalid(501, "unsupported :protocol (this server speaks websocket)");
  // §4: "the :scheme and :path pseudo-header fields ... MUST also be included"; §5: :authority.
  if (!request.scheme() || !request.path() || !request.authority() || request.authority()->empty())
    return invalid(400, "extended CONNECT requires :scheme, :path and :authority");
  if (*request.scheme() != "https" && *request.scheme() != "http") return invalid(400, ":scheme must be http or https");

  UpgradeFields f;
  gather_upgrade_fields(request, f, out);
  // RFC 9113 §8.2.2 / RFC 9114 §4.2: a request with connection-specific fields is malformed.
  if (f.has_connection || f.has_upgrade) return invalid(400, "connection-specific header field in an HTTP/2 or HTTP/3 request");
  if (f.has_body) return invalid(400, "WebSocket request must not have a body");
  // RFC 8441 §5: Sec-WebSocket-Key and Sec-WebSocket-Accept are not used.
  if (f.key_count != 0 || f.accept_count != 0)
    return invalid(400, "Sec-WebSocket-Key/Accept are not used with extended CONNECT (RFC 8441 §5)");
  if (f.version_count > 1) return invalid(400, "duplicate Sec-WebSocket-Version header");
  if (f.version_count == 0 || f.version != "13") {
    UpgradeVerdict v = invalid(400, "unsupported or missing Sec-WebSocket-Version (this server speaks 13)");
    v.version_hint = true;
    return v;
  }
  if (const char* bad = check_offers(f, out)) return invalid(400, bad);
  const std::string& path = *request.path();
  if (path.empty() || path.front() != '/' || !split_target(path, out.path, out.query))
    return invalid(400, ":path must be an absolute path without a fragment");

  out.method = *request.method();
  out.target = path;
  out.host = *request.authority();
  out.has_origin = f.origin_count == 1;
  out.origin = f.origin;
  return {UpgradeKind::Valid, 200, ""};
}

BuildError build_accept_fields(const UpgradeRequest& request, const AcceptOptions& options, std::vector<OwnedField>& out) {
  if (BuildError e = check_answer(request, options); e != BuildError::None) return e;
  if (BuildError e = check_connection_specific(options.headers); e != BuildError::None) return e;
  if (BuildError e = check_extra_headers(options.headers, {"sec-websocket-accept", "sec-websocket-protocol",
                                                           "sec-websocket-extensions", "content-length"});
      e != BuildError::None)
    return e;
  out.push_back({":status", "200"});
  if (!options.subprotocol.empty()) out.push_back({"sec-websocket-protocol", std::string(options.subprotocol)});
  if (!options.extensions.empty()) out.push_back({"sec-websocket-extensions", std::string(options.extensions)});
  for (const HeaderField& h : options.headers) out.push_back({lower(h.name), std::string(h.value)});
  return BuildError::None;
}

BuildError build_error_fields(int status, std::string_view body, std::span<const HeaderField> headers, bool version_hint,
                              std::vector<OwnedField>& out) {
  if (status < 300 || status > 599) return BuildError::InvalidStatus;
  const bool no_content = status == 304;  // RFC 9110 §6.4.1
  if (no_content && !body.empty()) return BuildError::BodyNotAllowed;
  if (BuildError e = check_connection_specific(headers); e != BuildError::None) return e;
  if (BuildError e = check_extra_headers(headers, {"content-length"}); e != BuildError::None) return e;
  if (version_hint) {
    if (BuildError e = check_extra_headers(headers, {"sec-websocket-version"}); e != BuildError::None) return e;
  }
  out.push_back({":status", std::to_string(status)});
  bool has_content_type = false;
  for (const HeaderField& h : headers) has_content_type = has_content_type || iequals(h.name, "content-type");
  if (!body.empty() && !has_content_type) out.push_back({"content-type", "text/plain; charset=utf-8"});
  if (!no_content) out.push_back({"content-length", std::to_string(body.size())});
  if (version_hint) out.push_back({"sec-websocket-version", "13"});
  for (const HeaderField& h : headers) out.push_back({lower(h.name), std::string(h.value)});
  return BuildError::None;
}

}  // namespace sockudo::handshake
