// fuzz_extended_connect: the WebSocket bootstrap over HTTP/2 and HTTP/3 (RFC 8441 §4–5), both
// sides: a request block as an HTTP/2 decoder hands it over (any names, values, order, repeats),
// its validation, the answer the server builds, and the client's check of a response block.
//
// Input layout:
//   [0] choices   bit0: the answer selects the first offered subprotocol; bit1: it carries the
//                 extension value taken from the block; bits 2-3: extra answer field {none,
//                 x-a: 1, connection: close, upgrade: x}; bits 4-7: response status class
//                 {200, 101, 204, 403, ...} for the client side
//   then fields:  [name length u8][value length u8][name][value], until the input ends; a
//                 field whose name is "~" ends the request block, the rest is the response block
//
// Properties: a Valid verdict implies every RFC 8441 rule (CONNECT, :protocol websocket, http or
// https, an absolute :path, non-empty :authority, exactly one "sec-websocket-version: 13", no
// key/accept/connection/upgrade/body fields, unique token subprotocols); an accept answer built
// for it starts with ":status 200", has lower-case names only and no CR/LF/NUL in any value, and
// refuses connection-specific extras; an error answer is 300..599 and likewise clean; the client
// completes only on a 2xx, with a subprotocol it offered.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/client_upgrade.h"
#include "core/handshake/extended_connect.h"
#include "core/handshake/header_syntax.h"
#include "fuzz_common.h"

namespace fuzz_extended_connect {

using namespace sockudo::handshake;

inline void check_clean(const std::vector<OwnedField>& fields) {
  for (const auto& f : fields) {
    for (char c : f.name) FUZZ_CHECK_MSG(!(c >= 'A' && c <= 'Z'), "upper-case field name " + f.name);
    FUZZ_CHECK_MSG(is_field_value(f.value), "unclean value in " + f.name);
  }
}

inline int count_field(const HeaderList& h, std::string_view name) {
  int n = 0;
  for (size_t i = 0; i < h.header_count(); i++) n += iequals(h.header_name(i), name) ? 1 : 0;
  return n;
}

inline int fuzz_one(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  const uint8_t choices = r.u8();
  ConnectRequest request(HeadLimits{4096, 32});
  OwnedFieldList response;
  bool in_response = false;
  while (r.remaining() > 0) {
    const size_t nl = r.u8(), vl = r.u8();
    const std::string name(r.bytes(nl)), value(r.bytes(vl));
    if (name == "~") {
      in_response = true;
      continue;
    }
    if (in_response) response.list.push_back({name, value});
    else request.add(name, value);
  }

  UpgradeRequest up;
  const UpgradeVerdict v = validate_extended_connect(request, up);
  if (v.kind == UpgradeKind::Valid) {
    FUZZ_CHECK(!request.failed());
    FUZZ_CHECK(*request.method() == "CONNECT");
    FUZZ_CHECK(iequals(*request.protocol(), "websocket"));
    FUZZ_CHECK(*request.scheme() == "http" || *request.scheme() == "https");
    FUZZ_CHECK(!up.path.empty() && up.path.front() == '/');
    FUZZ_CHECK(!up.host.empty());
    FUZZ_CHECK(up.key.empty());
    FUZZ_CHECK(count_field(request, "sec-websocket-version") == 1);
    for (const char* forbidden : {"sec-websocket-key", "sec-websocket-accept", "connection", "upgrade", "transfer-encoding"})
      FUZZ_CHECK_MSG(count_field(request, forbidden) == 0, forbidden);
    std::vector<std::string_view> sorted(up.protocols);
    std::sort(sorted.begin(), sorted.end());
    FUZZ_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    for (auto p : up.protocols) FUZZ_CHECK(is_token(p));

    AcceptOptions o;
    if ((choices & 1) && !up.protocols.empty()) o.subprotocol = up.protocols[0];
    std::string ext;
    for (size_t i = 0; i < request.header_count(); i++)
      if (iequals(request.header_name(i), "sec-websocket-extensions")) ext = std::string(request.header_value(i));
    if (choices & 2) o.extensions = ext;
    const HeaderField extras[][1] = {{{"x-a", "1"}}, {{"connection", "close"}}, {{"upgrade", "x"}}};
    const int extra = (choices >> 2) & 3;
    if (extra > 0) o.headers = std::span<const HeaderField>(extras[extra - 1], 1);
    std::vector<OwnedField> fields;
    const BuildError e = build_accept_fields(up, o, fields);
    if (e == BuildError::None) {
      FUZZ_CHECK(!fields.empty() && fields[0].name == ":status" && fields[0].value == "200");
      FUZZ_CHECK(extra < 2);  // connection-specific extras are refused
      check_clean(fields);
    } else {
      FUZZ_CHECK(fields.empty());
    }
  } else {
    FUZZ_CHECK(v.status >= 400 && v.status <= 599);
    std::vector<OwnedField> fields;
    FUZZ_CHECK(build_error_fields(v.status, v.reason, {}, v.version_hint, fields) == BuildError::None);
    FUZZ_CHECK(fields[0].name == ":status");
    check_clean(fields);
  }

  // The client's side: our offer, the fuzzed response block.
  static const int kStatuses[16] = {200, 101, 204, 403, 299, 300, 400, 404, 500, 100, 201, 0, 426, 503, 250, 199};
  const int status = kStatuses[choices >> 4];
  std::vector<std::string_view> protocols = {"chat", "v2"};
  sockudo::protocol::DeflateOffer offer;
  ClientRequestOptions co;
  co.host = "example.com";
  co.protocols = protocols;
  co.deflate = (choices & 8) ? &offer : nullptr;
  ClientHandshake hs;
  std::vector<OwnedField> out;
  FUZZ_CHECK(hs.build_connect(co, out) == BuildError::None);
  check_clean(out);
  const HeadState st = hs.receive_response(status, response);
  if (st == HeadState::Complete) {
    FUZZ_CHECK(status >= 200 && status <= 299);
    const std::string_view sub = hs.subprotocol();
    FUZZ_CHECK(sub.empty() || sub == "chat" || sub == "v2");
    if (hs.deflate_accepted()) FUZZ_CHECK(co.deflate != nullptr);
  } else {
    FUZZ_CHECK(st == HeadState::Failed && hs.error() != HandshakeError::None);
  }
  return 0;
}

}  // namespace fuzz_extended_connect
