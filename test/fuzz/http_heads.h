// fuzz_http_request_head / fuzz_http_response_head: the bounded HTTP/1.1 head parser with the
// server's upgrade validation, and the client's 101 validation.
//
// Input layout:
//   [0] limits   low nibble: max_head_size kHeadSizes[b & 7]; high nibble: max_headers
//                kHeaderCounts[(b >> 4) & 7]
//   [1] offer    (response target only) what the client offered, see client_options()
//   [count] [len-1]...   split lengths (fuzz::Splits::read; count 0 = byte by byte)
//   [head]               the bytes the peer sends
//
// The head is fed whole and at the split lengths; everything observable (state, error, where the
// head ended, every parsed field, the verdict) must agree. Properties: a complete head is within
// the limits, ends with CRLF CRLF, holds tokens for names and clean, trimmed field values; a
// Valid upgrade request yields a 101 that parses back with the right Sec-WebSocket-Accept (and
// the negotiated subprotocol and permessage-deflate), a rejection parses back with its status; a
// Complete client handshake saw 101, the right accept value, and only what it offered.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/accept_key.h"
#include "core/handshake/client_upgrade.h"
#include "core/handshake/header_syntax.h"
#include "core/handshake/http_head_parser.h"
#include "core/handshake/server_upgrade.h"
#include "core/protocol/deflate_params.h"
#include "core/protocol/extension_header.h"
#include "fuzz_common.h"

namespace fuzz_http {

using namespace sockudo::handshake;
using sockudo::protocol::DeflateAgreement;
using sockudo::protocol::DeflateOffer;

inline constexpr size_t kHeadSizes[8] = {16 * 1024, 16, 32, 64, 100, 256, 1024, 4096};
inline constexpr size_t kHeaderCounts[8] = {100, 0, 1, 2, 3, 8, 16, 1000};

inline HeadLimits limits_from(uint8_t b) {
  HeadLimits l;
  l.max_head_size = kHeadSizes[b & 7];
  l.max_headers = kHeaderCounts[(b >> 4) & 7];
  return l;
}

inline std::string str(std::string_view v) { return std::string(v); }

// Everything the parser exposes, as text.
inline std::string describe(const HttpHeadParser& h) {
  std::string s = "state=" + std::to_string(int(h.state())) + " error=" + std::to_string(int(h.error())) +
                  " status=" + std::to_string(h.error_status()) + " reason=" + h.error_reason() + "\n";
  if (h.state() != HeadState::Complete) return s;
  s += "size=" + std::to_string(h.head_size()) + " method=" + str(h.method()) + " target=" + str(h.target()) +
       " code=" + std::to_string(h.status_code()) + " phrase=" + str(h.reason_phrase()) +
       " version=" + std::to_string(h.http_major()) + "." + std::to_string(h.http_minor()) + "\n";
  for (size_t i = 0; i < h.header_count(); i++) s += str(h.header_name(i)) + ": " + str(h.header_value(i)) + "\n";
  return s;
}

// Properties of any head the parser completed. `input` is what was fed, `end` where the head
// ended in it.
inline void check_complete_head(const HttpHeadParser& h, std::string_view input, size_t end, const HeadLimits& limits) {
  FUZZ_CHECK(end >= 4 && end <= input.size());
  FUZZ_CHECK_MSG(input.substr(end - 4, 4) == "\r\n\r\n", "head does not end with CRLF CRLF");
  FUZZ_CHECK(h.head_size() <= limits.max_head_size);
  FUZZ_CHECK(h.header_count() <= limits.max_headers);
  for (size_t i = 0; i < end; i++) {
    const uint8_t c = static_cast<uint8_t>(input[i]);
    FUZZ_CHECK_MSG(c >= 0x20 ? c != 0x7F : (c == '\t' || c == '\r' || c == '\n'), "control byte accepted in a head");
  }
  for (size_t i = 0; i < h.header_count(); i++) {
    FUZZ_CHECK(is_token(h.header_name(i)));
    const std::string_view v = h.header_value(i);
    FUZZ_CHECK(is_field_value(v));
    FUZZ_CHECK_MSG(trim_ows(v) == v, "field value keeps surrounding whitespace");
    // find() returns the first line with the name; count() counts them.
    const auto first = h.find(h.header_name(i));
    FUZZ_CHECK(first.has_value());
    FUZZ_CHECK(h.count(h.header_name(i)) >= 1);
  }
  FUZZ_CHECK(h.http_major() == 1);
  if (h.kind() == HeadKind::Request) {
    FUZZ_CHECK(is_token(h.method()));
    FUZZ_CHECK(!h.target().empty());
  } else {
    FUZZ_CHECK(h.status_code() >= 100 && h.status_code() <= 999);
  }
}

// Feeds `input` in pieces until the parser decides; returns where the head ended (or SIZE_MAX).
template <typename Feed>
size_t feed_all(std::string_view input, fuzz::Splits* splits, Feed&& feed) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(input.data());
  size_t off = 0;
  while (off < input.size()) {
    size_t n = splits ? splits->next() : input.size();
    if (n > input.size() - off) n = input.size() - off;
    std::vector<uint8_t> chunk(p + off, p + off + n);
    const HeadFeedResult r = feed(chunk.data(), chunk.size());
    if (r.state == HeadState::Complete) {
      FUZZ_CHECK(r.consumed <= n);
      return off + r.consumed;
    }
    if (r.state == HeadState::Failed) return SIZE_MAX;
    FUZZ_CHECK(r.consumed == n);
    off += n;
  }
  return SIZE_MAX;
}

// --- server: request heads ---------------------------------------------------------------------

inline std::string parse_request(std::string_view input, const HeadLimits& limits, fuzz::Splits* splits) {
  HttpHeadParser head(HeadKind::Request, limits);
  const size_t end = feed_all(input, splits, [&](const uint8_t* p, size_t n) { return head.feed(p, n); });
  if (head.state() == HeadState::NeedMore) FUZZ_CHECK(head.finish() == HeadState::Failed);
  std::string s = describe(head) + "end=" + std::to_string(end) + "\n";
  if (head.state() == HeadState::Complete) check_complete_head(head, input, end, limits);
  if (head.state() == HeadState::Failed) {
    const int st = head.error_status();
    FUZZ_CHECK(st == 400 || st == 414 || st == 431 || st == 505);
  }

  UpgradeRequest req;
  const UpgradeVerdict v = validate_upgrade(head, req);
  s += "verdict=" + std::to_string(int(v.kind)) + " " + std::to_string(v.status) + " " + v.reason + "\n";
  std::string response;
  if (v.kind == UpgradeKind::Valid) {
    FUZZ_CHECK(v.status == 101);
    FUZZ_CHECK(head.method() == "GET");
    FUZZ_CHECK(is_valid_key(req.key));
    FUZZ_CHECK(!req.host.empty());
    for (size_t i = 0; i < req.protocols.size(); i++) {
      FUZZ_CHECK(is_token(req.protocols[i]));
      for (size_t j = 0; j < i; j++) FUZZ_CHECK(req.protocols[i] != req.protocols[j]);
    }
    s += "path=" + str(req.path) + " query=" + str(req.query) + " host=" + str(req.host) + " origin=" +
         std::to_string(req.has_origin) + str(req.origin) + " key=" + str(req.key) + "\n";
    for (auto p : req.protocols) s += "protocol " + str(p) + "\n";
    for (const auto& e : req.extensions) {
      s += "extension " + str(e.name);
      for (const auto& p : e.params) s += ";" + str(p.name) + (p.has_value ? "=" + p.value : "");
      s += "\n";
    }
    // Accept with the first subprotocol and whatever permessage-deflate negotiates.
    sockudo::protocol::DeflateServerConfig deflate;
    deflate.enabled = true;
    const auto negotiation = sockudo::protocol::negotiate_deflate(deflate, req.extensions);
    AcceptOptions opts;
    if (!req.protocols.empty()) opts.subprotocol = req.protocols[0];
    if (negotiation.accepted) opts.extensions = negotiation.response;
    const BuildError be = build_accept_response(req, opts, response);
    FUZZ_CHECK_MSG(be == BuildError::None, std::string("build_accept_response: ") + build_error_name(be));
    HttpHeadParser back(HeadKind::Response);
    const HeadFeedResult r = back.feed(response);
    FUZZ_CHECK_MSG(r.state == HeadState::Complete && r.consumed == response.size(), "our 101 does not parse:\n" + response);
    FUZZ_CHECK(back.status_code() == 101);
    const auto accept = back.find("Sec-WebSocket-Accept");
    FUZZ_CHECK(accept && *accept == as_view(compute_accept_key(req.key)));
    if (!opts.subprotocol.empty()) FUZZ_CHECK(back.find("Sec-WebSocket-Protocol") == opts.subprotocol);
    if (negotiation.accepted) FUZZ_CHECK(back.find("Sec-WebSocket-Extensions") == std::string_view(negotiation.response));
  } else {
    FUZZ_CHECK(v.status >= 400 && v.status <= 599);
    build_rejection(v, response);
    HttpHeadParser back(HeadKind::Response);
    const HeadFeedResult r = back.feed(response);
    FUZZ_CHECK_MSG(r.state == HeadState::Complete, "our error response does not parse:\n" + response);
    FUZZ_CHECK(back.status_code() == v.status);
    const auto len = back.find("Content-Length");
    FUZZ_CHECK(len && *len == std::to_string(response.size() - r.consumed));
  }
  s += response;
  return s;
}

inline int fuzz_request(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  const HeadLimits limits = limits_from(r.u8());
  fuzz::Splits splits = fuzz::Splits::read(r);
  const std::string_view input = r.rest();
  const std::string whole = parse_request(input, limits, nullptr);
  const std::string split = parse_request(input, limits, &splits);
  if (whole != split)
    fuzz::fail(__FILE__, __LINE__, "whole and split disagree\n--- whole ---\n" + whole + "--- split ---\n" + split);
  return 0;
}

// --- client: response heads --------------------------------------------------------------------

inline constexpr std::string_view kKey = "AAECAwQFBgcICQoLDA0ODw==";  // CountingRandom's nonce
inline constexpr std::string_view kAccept = "Bz3qJYTGdOe8gUSpLosEdiLKDrk=";
inline constexpr uint8_t kWindowBits[4] = {0, 8, 10, 15};

// bits 0-1: protocols offered (none, chat, chat+superchat, a+b+c); bit 2: a permessage-deflate
// offer with bits 3 server_no_context_takeover, 4 client_no_context_takeover, 5-6
// server_max_window_bits, 7 client_max_window_bits (value 10 when bit 3 is also set).
struct ClientOffer {
  std::vector<std::string_view> protocols;
  bool deflate = false;
  DeflateOffer offer;
};

inline ClientOffer client_offer(uint8_t b) {
  static const std::vector<std::string_view> sets[4] = {{}, {"chat"}, {"chat", "superchat"}, {"a", "b", "c"}};
  ClientOffer o;
  o.protocols = sets[b & 3];
  o.deflate = b & 4;
  o.offer.server_no_context_takeover = b & 8;
  o.offer.client_no_context_takeover = b & 16;
  o.offer.server_max_window_bits = kWindowBits[(b >> 5) & 3];
  o.offer.client_max_window_bits = b & 128;
  o.offer.client_max_window_bits_value = (b & 128) && (b & 8) ? 10 : 0;
  return o;
}

inline std::string parse_response(std::string_view input, const HeadLimits& limits, const ClientOffer& o,
                                  fuzz::Splits* splits) {
  ClientHandshake hs(limits);
  ClientRequestOptions opts;
  opts.host = "example.com";
  opts.path = "/chat";
  opts.protocols = o.protocols;
  if (o.deflate) opts.deflate = &o.offer;
  fuzz::CountingRandom random;
  std::string request;
  const BuildError be = hs.build_request(opts, random, request);
  FUZZ_CHECK_MSG(be == BuildError::None, build_error_name(be));
  FUZZ_CHECK(hs.key() == kKey);

  const size_t end = feed_all(input, splits, [&](const uint8_t* p, size_t n) { return hs.feed(p, n); });
  if (hs.state() == HeadState::NeedMore) FUZZ_CHECK(hs.finish() == HeadState::Failed);
  std::string s = "state=" + std::to_string(int(hs.state())) + " error=" + hs.error_code() + " reason=" +
                  hs.error_reason() + " status=" + std::to_string(hs.status()) + " end=" + std::to_string(end) + "\n";
  s += describe(hs.response());
  if (hs.state() == HeadState::Failed) FUZZ_CHECK(hs.error() != HandshakeError::None);
  if (hs.state() != HeadState::Complete) return s;

  check_complete_head(hs.response(), input, end, limits);
  FUZZ_CHECK(hs.status() == 101);
  FUZZ_CHECK(hs.response().find("Sec-WebSocket-Accept") == kAccept);
  const std::string_view sub = hs.subprotocol();
  if (!sub.empty()) FUZZ_CHECK_MSG(std::find(o.protocols.begin(), o.protocols.end(), sub) != o.protocols.end(), "subprotocol not offered");
  s += "subprotocol=" + str(sub) + " deflate=" + std::to_string(hs.deflate_accepted());
  if (hs.deflate_accepted()) {
    FUZZ_CHECK_MSG(o.deflate, "permessage-deflate accepted without an offer");
    const DeflateAgreement& a = hs.deflate();
    FUZZ_CHECK(a.server_max_window_bits >= 8 && a.server_max_window_bits <= 15);
    FUZZ_CHECK(a.client_max_window_bits >= 8 && a.client_max_window_bits <= 15);
    if (o.offer.server_no_context_takeover) FUZZ_CHECK(a.server_no_context_takeover);
    if (o.offer.server_max_window_bits) FUZZ_CHECK(a.server_max_window_bits <= o.offer.server_max_window_bits);
    if (!o.offer.client_max_window_bits) FUZZ_CHECK(a.client_max_window_bits == 15);
    if (o.offer.client_max_window_bits_value) FUZZ_CHECK(a.client_max_window_bits <= o.offer.client_max_window_bits_value);
    s += " " + std::to_string(a.server_no_context_takeover) + std::to_string(a.client_no_context_takeover) + " " +
         std::to_string(a.server_max_window_bits) + " " + std::to_string(a.client_max_window_bits);
  }
  return s + "\n";
}

inline int fuzz_response(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  const HeadLimits limits = limits_from(r.u8());
  const ClientOffer offer = client_offer(r.u8());
  fuzz::Splits splits = fuzz::Splits::read(r);
  const std::string_view input = r.rest();
  const std::string whole = parse_response(input, limits, offer, nullptr);
  const std::string split = parse_response(input, limits, offer, &splits);
  if (whole != split)
    fuzz::fail(__FILE__, __LINE__, "whole and split disagree\n--- whole ---\n" + whole + "--- split ---\n" + split);
  return 0;
}

}  // namespace fuzz_http
