// Client side of the opening handshake (RFC 6455 §4.1): build the upgrade request, then parse and
// validate the server's response.
//
//   ClientHandshake hs;
//   if (BuildError e = hs.build_request(options, random, out); e != BuildError::None) -> throw
//   ... write `out`; then for every chunk received:
//   HeadFeedResult r = hs.feed(data, len);
//   Complete: open; bytes [r.consumed, len) are the first WebSocket frames, keep them.
//   Failed:   fail with hs.error_code() (BAD_STATUS: report status() and response() headers).
//
// Decisions:
// - A response that selects no subprotocol although we offered some is accepted (RFC 6455 §4.1
//   fails only a subprotocol that was not offered; WHATWG WebSocket then reports protocol "").
// - The response's Upgrade must be exactly "websocket" on one line (§4.1 item 2: "a value that
//   is not an ASCII case-insensitive match for websocket"), while Connection only has to list
//   "upgrade" (item 3: "contain a token").
// - Any status other than 101, including other 1xx, is BAD_STATUS: a GET upgrade request does
//   not solicit interim responses, and following redirects is the API layer's choice.
// - The only extension the core implements is permessage-deflate, so it is the only one the
//   request can offer; anything else in the response is BAD_EXTENSION (§9.1).
#pragma once

#include <array>
#include <optional>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/accept_key.h"
#include "core/handshake/extended_connect.h"
#include "core/handshake/handshake_errors.h"
#include "core/handshake/header_syntax.h"
#include "core/handshake/http_head_parser.h"
#include "core/protocol/deflate_params.h"
#include "core/random_source.h"

namespace sockudo::handshake {

struct ClientRequestOptions {
  // URL host: a registered name, an IPv4 address, or an IPv6 address with or without brackets.
  std::string_view host;
  uint16_t port = 0;            // 0 or the scheme's default: no port in Host (§4.1 item 4)
  bool secure = false;          // wss: default port 443, else 80
  std::string_view path = "/";  // resource name: origin-form path and query (§3, RFC 9112 §3.2.1)
  std::span<const std::string_view> protocols;  // Sec-WebSocket-Protocol offers: unique tokens
  std::string_view origin;                      // "" = no Origin header
  const protocol::DeflateOffer* deflate = nullptr;  // null = no Sec-WebSocket-Extensions
  // Extra fields. Fields the handshake writes (Host, Upgrade, Connection, Origin,
  // Sec-WebSocket-*, Content-Length, Transfer-Encoding) are ForbiddenHeader: use the options.
  std::span<const HeaderField> headers;
};

class ClientHandshake {
 public:
  explicit ClientHandshake(HeadLimits limits = {});

  // Appends the upgrade request to `out` and remembers the key and the offers for validating the
  // response. On error nothing is appended and no randomness is drawn. Call once, before feed().
  BuildError build_request(const ClientRequestOptions& options, RandomSource& random,
                           std::string& out);

  // For a request someone else sent (the `ws` drop-in sends it with Node's http client and hands
  // over the socket): checks the options as build_request does and remembers `key` (the request's
  // Sec-WebSocket-Key, 24 characters of base64, §4.1 item 7) and the offers, so that feed()
  // validates the response exactly as for our own request. InvalidKey for a malformed key.
  BuildError expect_response(const ClientRequestOptions& options, std::string_view key);

  // The same handshake as an extended CONNECT on an HTTP/2 stream (RFC 8441 §4–5): the request
  // block (":method CONNECT", ":protocol websocket", ":scheme", ":authority", ":path", then
  // Sec-WebSocket-Version 13, the offers, Origin and the extra fields, lower-cased); no key.
  // Same checks and errors as build_request (connection-specific extras are ForbiddenHeader).
  BuildError build_connect(const ClientRequestOptions& options, std::vector<OwnedField>& out);
  // The response block of an extended CONNECT: a 2xx opens the WebSocket (§5), checked like a
  // 101 for the subprotocol (item 6) and the extensions (item 5); any other status is BAD_STATUS.
  HeadState receive_response(int status, const HeaderList& fields);

  // Feeds response bytes. Complete means the handshake succeeded; bytes of this chunk after
  // `consumed` belong to the WebSocket connection.
  HeadFeedResult feed(const uint8_t* data, size_t len);
  HeadFeedResult feed(std::string_view s) {
    return feed(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  // The server closed before the end of the head: MALFORMED.
  HeadState finish();

  HeadState state() const { return state_; }
  HandshakeError error() const { return error_; }
  const char* error_code() const { return handshake_error_name(error_); }
  const char* error_reason() const { return reason_; }  // fixed text, "" when none

  int status() const { return extended_ ? status_ : head_.status_code(); }  // 0 until the status arrived
  const HttpHeadParser& response() const { return head_; }  // the HTTP/1.1 response head
  // Headers of any response received (the HTTP/1.1 head, or the extended CONNECT's block).
  const HeaderList& response_fields() const { return extended_ ? static_cast<const HeaderList&>(fields_) : head_; }
  std::string_view key() const { return {key_.data(), built_ && !extended_ ? key_.size() : 0}; }

  // Valid once Complete.
  std::string_view subprotocol() const {  // "" = none selected
    return subprotocol_ < 0 ? std::string_view() : std::string_view(offered_protocols_[subprotocol_]);
  }
  bool deflate_accepted() const { return deflate_accepted_; }
  const protocol::DeflateAgreement& deflate() const { return deflate_; }

 private:
  HeadFeedResult fail(HandshakeError e, const char* reason, size_t consumed);
  BuildError check_options(const ClientRequestOptions& options) const;
  void remember_offers(const ClientRequestOptions& options);
  void validate();
  void validate_offers(const HeaderList& fields);

  HttpHeadParser head_;
  HeadState state_ = HeadState::NeedMore;
  HandshakeError error_ = HandshakeError::None;
  const char* reason_ = "";

  bool built_ = false;
  std::array<char, kKeyLength> key_{};
  AcceptKey expected_accept_{};
  std::vector<std::string> offered_protocols_;
  bool offered_deflate_ = false;
  protocol::DeflateOffer deflate_offer_;

  int subprotocol_ = -1;  // index into offered_protocols_
  bool deflate_accepted_ = false;
  protocol::DeflateAgreement deflate_;
  bool extended_ = false;  // an extended CONNECT (build_connect)
  int status_ = 0;
  OwnedFieldList fields_;  // the extended CONNECT's response block (names lower-case, no pseudo-header fields)
};

// The value of the first field named `name` (case-insensitive), if any.
std::optional<std::string_view> find_field(const HeaderList& fields, std::string_view name);

}  // namespace sockudo::handshake
