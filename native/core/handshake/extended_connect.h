// The WebSocket bootstrap over HTTP/2 (RFC 8441) and HTTP/3 (RFC 9220): an extended CONNECT
// request with `:protocol websocket` opens one stream that then carries the WebSocket frames.
// Shared by the HTTP/2 session (nghttp2) and the HTTP/3 one (nghttp3): both decode a header
// block into a ConnectRequest, ask validate_extended_connect(), and answer with the fields built
// here (a 200 with the negotiated subprotocol and extensions, or an error status).
//
// Decisions:
// - RFC 8441 §4/§5 and RFC 9220 §3: `:method CONNECT`, `:protocol websocket`, `:scheme` (http or
//   https), `:path` (origin-form) and `:authority` must all be present; Sec-WebSocket-Version 13.
// - Sec-WebSocket-Key / -Accept are not part of this bootstrap (§5: "not used"); a request
//   carrying them is refused (400) rather than half-processed. Connection-specific fields
//   (Connection, Upgrade, Transfer-Encoding; RFC 9113 §8.2.2, RFC 9114 §4.2) make a request
//   malformed (400); nghttp2 already refuses most of these itself, nghttp3 some.
// - A request that is no WebSocket bootstrap (a GET, a plain CONNECT tunnel) is NotUpgrade: 404
//   for other methods (no resource here but WebSockets), 501 for CONNECT without :protocol or
//   with another protocol (RFC 9110 §15.6.2).
// - An unknown version is 400 with `sec-websocket-version: 13` (version_hint): a 426 must carry
//   an Upgrade field (RFC 9110 §15.5.22), which HTTP/2 and HTTP/3 forbid.
// - A refusal may not be 2xx: RFC 8441 §5 reads any 2xx as success.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/handshake_errors.h"
#include "core/handshake/header_list.h"
#include "core/handshake/header_syntax.h"
#include "core/handshake/http_head_parser.h"
#include "core/handshake/server_upgrade.h"

namespace sockudo::handshake {

// A header field the session copies into its frames; names are lower case.
struct OwnedField {
  std::string name;
  std::string value;
};

// Owned fields read as a HeaderList (a response block kept for reporting, a test's block).
class OwnedFieldList final : public HeaderList {
 public:
  std::vector<OwnedField> list;
  size_t header_count() const override { return list.size(); }
  std::string_view header_name(size_t i) const override { return list[i].name; }
  std::string_view header_value(size_t i) const override { return list[i].value; }
};

// A request header block as an HTTP/2 or HTTP/3 decoder delivers it, one field at a time.
class ConnectRequest final : public HeaderList {
 public:
  // max_head_size bounds the block as RFC 9113 §6.5.2 counts it (name + value + 32 per field);
  // max_headers bounds the number of regular fields.
  explicit ConnectRequest(const HeadLimits& limits) : limits_(limits) {}

  // Adds one field in the order received. False once the block is unusable (see error_status()):
  // a pseudo-header after a regular field, an unknown or repeated pseudo-header (RFC 9113 §8.3),
  // or over the limits (431).
  bool add(std::string_view name, std::string_view value);
  bool failed() const { return error_status_ != 0; }
  int error_status() const { return error_status_; }
  const char* error_reason() const { return error_reason_; }

  const std::optional<std::string>& method() const { return method_; }
  const std::optional<std::string>& scheme() const { return scheme_; }
  const std::optional<std::string>& authority() const { return authority_; }
  const std::optional<std::string>& path() const { return path_; }
  const std::optional<std::string>& protocol() const { return protocol_; }

  size_t header_count() const override { return fields_.size(); }
  std::string_view header_name(size_t i) const override { return fields_[i].name; }
  std::string_view header_value(size_t i) const override { return fields_[i].value; }

 private:
  bool fail(int status, const char* reason);

  HeadLimits limits_;
  std::optional<std::string> method_, scheme_, authority_, path_, protocol_;
  std::vector<OwnedField> fields_;
  size_t size_ = 0;
  int error_status_ = 0;
  const char* error_reason_ = "";
};

// Classifies a complete request block. Fills `out` (views into `request`, which must outlive
// it) for Valid: method "CONNECT", target and path from :path, host from :authority, no key.
UpgradeVerdict validate_extended_connect(const ConnectRequest& request, UpgradeRequest& out);

// The fields of a successful answer: `:status 200`, Sec-WebSocket-Protocol and
// -Extensions when chosen, then the extra fields (lower-cased). Nothing is appended on error:
// the same checks as build_accept_response, plus connection-specific fields refused.
BuildError build_accept_fields(const UpgradeRequest& request, const AcceptOptions& options,
                               std::vector<OwnedField>& out);

// The fields of a refusal (status 300..599; `content-type` for a body unless given,
// `content-length`, `sec-websocket-version: 13` with version_hint, then the extras).
BuildError build_error_fields(int status, std::string_view body, std::span<const HeaderField> headers,
                              bool version_hint, std::vector<OwnedField>& out);

}  // namespace sockudo::handshake
