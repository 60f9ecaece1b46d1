#include "core/handshake/client_upgrade.h"

#include <algorithm>

#include "core/handshake/header_writer.h"
#include "core/protocol/extension_header.h"

namespace sockudo::handshake {

namespace {

// RFC 3986 §2.3 unreserved and §2.2 sub-delims, plus '%' for pct-encoded: the characters of a
// reg-name or an IPv4 address (§3.2.2).
constexpr bool is_host_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '%': case '!': case '$': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

// Host field value (RFC 9110 §7.2, RFC 6455 §4.1 item 4): host, bracketed when an IPv6 literal,
// plus ":port" unless the port is the scheme's default. Empty on invalid input.
std::string host_field(const ClientRequestOptions& o) {
  std::string_view h = o.host;
  bool bracketed = false;
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return {};
    h = h.substr(1, h.size() - 2);
    bracketed = true;
  }
  if (h.empty()) return {};
  const bool ipv6 = bracketed || h.find(':') != std::string_view::npos;
  for (char c : h)
    if (!is_host_char(c) && !(ipv6 && c == ':')) return {};
  std::string s;
  if (ipv6) s += '[';
  s += h;
  if (ipv6) s += ']';
  const uint16_t default_port = o.secure ? 443 : 80;
  if (o.port != 0 && o.port != default_port) {
    s += ':';
    s += std::to_string(o.port);
  }
  return s;
}

// origin-form (RFC 9112 §3.2.1): "/" then visible ASCII; a fragment never goes on the wire
// (RFC 6455 §3).
bool is_valid_path(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (char c : p)
    if (c <= 0x20 || c >= 0x7F || c == '#') return false;
  return true;
}

BuildError check_protocols(std::span<const std::string_view> protocols) {
  for (size_t i = 0; i < protocols.size(); i++) {
    if (!is_token(protocols[i])) return BuildError::InvalidSubprotocol;
    for (size_t j = 0; j < i; j++)
      if (protocols[j] == protocols[i]) return BuildError::DuplicateSubprotocol;
  }
  return BuildError::None;
}

}  // namespace

ClientHandshake::ClientHandshake(HeadLimits limits) : head_(HeadKind::Response, limits) {}

BuildError ClientHandshake::check_options(const ClientRequestOptions& o) const {
  if (host_field(o).empty()) return BuildError::InvalidHost;
  if (!is_valid_path(o.path)) return BuildError::InvalidPath;
  if (BuildError e = check_protocols(o.protocols); e != BuildError::None) return e;
  if (!is_field_value(o.origin)) return BuildError::InvalidOrigin;
  if (o.deflate && !protocol::is_valid_offer(*o.deflate)) return BuildError::InvalidDeflateOption;
  return check_extra_headers(o.headers, {"host", "upgrade", "connection", "origin", "sec-websocket-key", "sec-websocket-version",
                                         "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions",
                                         "content-length", "transfer-encoding", "keep-alive", "proxy-connection"});
}

void ClientHandshake::remember_offers(const ClientRequestOptions& o) {
  built_ = true;
  offered_protocols_.assign(o.protocols.begin(), o.protocols.end());
  offered_deflate_ = o.deflate != nullptr;
  if (o.deflate) deflate_offer_ = *o.deflate;
}

BuildError ClientHandshake::build_request(const ClientRequestOptions& o, RandomSource& random,
                                          std::string& out) {
  if (BuildError e = check_options(o); e != BuildError::None) return e;
  const std::string host = host_field(o);

  // §4.1 item 7: a nonce of 16 random bytes, base64-encoded.
  uint8_t nonce[kKeyBytes];
  random.fill(nonce, sizeof nonce);
  key_ = make_key(nonce);
  expected_accept_ = compute_accept_key(std::string_view(key_.data(), key_.size()));
  remember_offers(o);

  // §4.1 items 1-10.
  out.append("GET ");
  out.append(o.path);
  out.append(" HTTP/1.1\r\n");
  append_header(out, "Host", host);
  append_header(out, "Upgrade", "websocket");
  append_header(out, "Connection", "Upgrade");
  append_header(out, "Sec-WebSocket-Key", std::string_view(key_.data(), key_.size()));
  append_header(out, "Sec-WebSocket-Version", "13");
  if (!o.protocols.empty()) append_header(out, "Sec-WebSocket-Protocol", join_tokens(o.protocols));
  if (o.deflate) append_header(out, "Sec-WebSocket-Extensions", protocol::format_deflate_offer(*o.deflate));
  if (!o.origin.empty()) append_header(out, "Origin", o.origin);
  for (const HeaderField& h : o.headers) append_header(out, h.name, h.value);
  out.append("\r\n");
  return BuildError::None;
}

BuildError ClientHandshake::expect_response(const ClientRequestOptions& o, std::string_view key) {
  if (BuildError e = check_options(o); e != BuildError::None) return e;
  if (!is_valid_key(key)) return BuildError::InvalidKey;
  std::copy(key.begin(), key.end(), key_.begin());
  expected_accept_ = compute_accept_key(key);
  remember_offers(o);
  return BuildError::None;
}

BuildError ClientHandshake::build_connect(const ClientRequestOptions& o, std::vector<OwnedField>& out) {
  if (BuildError e = check_options(o); e != BuildError::None) return e;
  remember_offers(o);
  extended_ = true;
  // RFC 8441 §4: :scheme and :path of the target URI, :authority (§5: as Host would be).
  out.push_back({":method", "CONNECT"});
  out.push_back({":protocol", "websocket"});
  out.push_back({":scheme", o.secure ? "https" : "http"});
  out.push_back({":authority", host_field(o)});
  out.push_back({":path", std::string(o.path)});
  out.push_back({"sec-websocket-version", "13"});
  if (!o.protocols.empty()) out.push_back({"sec-websocket-protocol", join_tokens(o.protocols)});
  if (o.deflate) out.push_back({"sec-websocket-extensions", protocol::format_deflate_offer(*o.deflate)});
  if (!o.origin.empty()) out.push_back({"origin", std::string(o.origin)});
  for (const HeaderField& h : o.headers) {
    std::string name(h.name);
    for (char& c : name) c = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;  // RFC 9113 §8.2.1
    out.push_back({std::move(name), std::string(h.value)});
  }
  return BuildError::None;
}

HeadState ClientHandshake::receive_response(int status, const HeaderList& fields) {
  if (state_ != HeadState::NeedMore) return state_;
  status_ = status;
  fields_.list.clear();
  for (size_t i = 0; i < fields.header_count(); i++)
    fields_.list.push_back({std::string(fields.header_name(i)), std::string(fields.header_value(i))});
  // RFC 8441 §5: a 2xx response means the stream now carries the WebSocket.
  if (status < 200 || status > 299) {
    fail(HandshakeError::BadStatus, "server answered the extended CONNECT with a non-2xx status", 0);
    return state_;
  }
  validate_offers(fields_);
  return state_;
}

std::optional<std::string_view> find_field(const HeaderList& fields, std::string_view name) {
  for (size_t i = 0; i < fields.header_count(); i++)
    if (iequals(fields.header_name(i), name)) return fields.header_value(i);
  return std::nullopt;
}

HeadFeedResult ClientHandshake::fail(HandshakeError e, const char* reason, size_t consumed) {
  state_ = HeadState::Failed;
  error_ = e;
  reason_ = reason;
  return {state_, consumed};
}

HeadFeedResult ClientHandshake::feed(const uint8_t* data, size_t len) {
  if (state_ != HeadState::NeedMore) return {state_, 0};
  const HeadFeedResult r = head_.feed(data, len);
  if (r.state == HeadState::NeedMore) return r;
  if (r.state == HeadState::Failed) {
    const HeadError e = head_.error();
    const bool too_large = e == HeadError::HeadTooLarge || e == HeadError::TooManyHeaders;
    return fail(too_large ? HandshakeError::HeadTooLarge : HandshakeError::Malformed,
                head_.error_reason(), r.consumed);
  }
  validate();
  return {state_, r.consumed};
}

HeadState ClientHandshake::finish() {
  if (state_ == HeadState::NeedMore) {
    head_.finish();
    fail(HandshakeError::Malformed, head_.error_reason(), 0);
  }
  return state_;
}

// RFC 6455 §4.1, "the client MUST validate the server's response as follows", items 1-6.
void ClientHandshake::validate() {
  // Item 1.
  if (head_.status_code() != 101) {
    fail(HandshakeError::BadStatus, "server responded with a status other than 101", 0);
    return;
  }
  if (head_.http_minor() < 1) {
    fail(HandshakeError::Malformed, "101 response must be HTTP/1.1", 0);
    return;
  }
  size_t upgrade_count = 0, accept_count = 0;
  bool upgrade_ok = false, connection_ok = false, accept_ok = false;
  for (size_t i = 0; i < head_.header_count(); i++) {
    const std::string_view name = head_.header_name(i);
    const std::string_view value = head_.header_value(i);
    if (iequals(name, "upgrade")) {
      upgrade_count++;
      upgrade_ok = iequals(value, "websocket");
    } else if (iequals(name, "connection")) {
      connection_ok = connection_ok || list_contains_token(value, "upgrade");
    } else if (iequals(name, "sec-websocket-accept")) {
      accept_count++;
      accept_ok = value == as_view(expected_accept_);
    }
  }
  // Items 2, 3, 4.
  if (upgrade_count != 1 || !upgrade_ok) {
    fail(HandshakeError::BadUpgrade, "Upgrade header is not \"websocket\"", 0);
    return;
  }
  if (!connection_ok) {
    fail(HandshakeError::BadConnection, "Connection header does not include \"upgrade\"", 0);
    return;
  }
  if (accept_count != 1 || !accept_ok) {
    fail(HandshakeError::BadAccept, "missing, duplicate or wrong Sec-WebSocket-Accept", 0);
    return;
  }
  validate_offers(head_);
}

// Items 5 and 6, shared with the extended CONNECT's response.
void ClientHandshake::validate_offers(const HeaderList& fields) {
  size_t protocol_count = 0;
  std::string_view protocol;
  std::vector<protocol::Extension> extensions;
  const char* extension_error = nullptr;
  for (size_t i = 0; i < fields.header_count(); i++) {
    const std::string_view name = fields.header_name(i);
    const std::string_view value = fields.header_value(i);
    if (iequals(name, "sec-websocket-protocol")) {
      protocol_count++;
      protocol = value;
    } else if (iequals(name, "sec-websocket-extensions") && !extension_error) {
      const auto r = protocol::parse_extension_header(value, extensions);
      if (!r.ok) extension_error = r.error;
    }
  }
  // Item 6: absent, or exactly one subprotocol that we offered.
  if (protocol_count > 1) {
    fail(HandshakeError::BadProtocol, "more than one Sec-WebSocket-Protocol header", 0);
    return;
  }
  if (protocol_count == 1) {
    const auto it = std::find(offered_protocols_.begin(), offered_protocols_.end(), protocol);
    if (it == offered_protocols_.end()) {
      fail(HandshakeError::BadProtocol, "server selected a subprotocol that was not offered", 0);
      return;
    }
    subprotocol_ = static_cast<int>(it - offered_protocols_.begin());
  }
  // Item 5: only extensions we offered, with parameters valid for the offer.
  if (extension_error) {
    fail(HandshakeError::BadExtension, extension_error, 0);
    return;
  }
  for (const protocol::Extension& ext : extensions) {
    if (ext.name != protocol::kPermessageDeflate || !offered_deflate_) {
      fail(HandshakeError::BadExtension, "server accepted an extension that was not offered", 0);
      return;
    }
    if (deflate_accepted_) {
      fail(HandshakeError::BadExtension, "permessage-deflate accepted more than once", 0);
      return;
    }
    if (const char* why = protocol::accept_deflate_response(deflate_offer_, ext, deflate_); *why) {
      fail(HandshakeError::BadExtension, why, 0);
      return;
    }
    deflate_accepted_ = true;
  }
  state_ = HeadState::Complete;
}

}  // namespace sockudo::handshake
