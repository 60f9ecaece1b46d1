// fuzz_extension_header: the Sec-WebSocket-Extensions grammar and permessage-deflate negotiation
// on both sides.
//
// Input layout:
//   [0] server config   bit0 server_no_context_takeover, bit1 client_no_context_takeover,
//                       bits 2-3 server_max_window_bits {15, 8, 9, 12}, bits 4-5
//                       client_max_window_bits {15, 8, 11, 14}, bits 6-7 max_items {128, 1, 4, 16}
//   [1] client offer    bit0 server_no_context_takeover, bit1 client_no_context_takeover,
//                       bits 2-3 server_max_window_bits {0, 8, 10, 15}, bit4
//                       client_max_window_bits, bits 5-6 its value {0, 8, 12, 15}
//   [2-3] line split    u16: the field is also parsed as two lines, cut at the first comma at or
//                       after this offset
//   [value]             the header field value
//
// Properties: a failed parse appends nothing; a successful one holds tokens only, within
// max_items, and survives a print-and-reparse round trip; two lines parse like the joined field;
// whatever negotiate_deflate answers, accept_deflate_response accepts with the same agreement
// (and it declines only when no offer was acceptable); every agreement a client accepts respects
// its offer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/header_syntax.h"
#include "core/protocol/deflate_params.h"
#include "core/protocol/extension_header.h"
#include "fuzz_common.h"

namespace fuzz_extension {

using namespace sockudo::protocol;
using sockudo::handshake::is_ows;
using sockudo::handshake::is_token;

inline std::string print(const std::vector<Extension>& exts, size_t from = 0) {
  std::string s;
  for (size_t i = from; i < exts.size(); i++) {
    if (i > from) s += ", ";
    s += exts[i].name;
    for (const auto& p : exts[i].params) {
      s += "; ";
      s += p.name;
      if (p.has_value) s += "=" + p.value;
    }
  }
  return s;
}

inline bool same(const std::vector<Extension>& a, const std::vector<Extension>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (a[i].name != b[i].name || a[i].params.size() != b[i].params.size()) return false;
    for (size_t j = 0; j < a[i].params.size(); j++) {
      const auto &x = a[i].params[j], &y = b[i].params[j];
      if (x.name != y.name || x.has_value != y.has_value || x.value != y.value) return false;
    }
  }
  return true;
}

inline size_t items(const std::vector<Extension>& exts) {
  size_t n = 0;
  for (const auto& e : exts) n += 1 + e.params.size();
  return n;
}

// A line with something in it besides OWS and commas (an empty list line is its own case).
inline bool has_element(std::string_view s) {
  for (char c : s)
    if (c != ',' && !is_ows(static_cast<uint8_t>(c))) return true;
  return false;
}

inline void check_agreement(const DeflateOffer& o, const DeflateAgreement& a) {
  FUZZ_CHECK(a.server_max_window_bits >= kMinWindowBits && a.server_max_window_bits <= kMaxWindowBits);
  FUZZ_CHECK(a.client_max_window_bits >= kMinWindowBits && a.client_max_window_bits <= kMaxWindowBits);
  if (o.server_no_context_takeover) FUZZ_CHECK(a.server_no_context_takeover);
  if (o.client_no_context_takeover) FUZZ_CHECK(a.client_no_context_takeover);
  if (o.server_max_window_bits) FUZZ_CHECK(a.server_max_window_bits <= o.server_max_window_bits);
  if (!o.client_max_window_bits) FUZZ_CHECK(a.client_max_window_bits == kMaxWindowBits);
  if (o.client_max_window_bits_value) FUZZ_CHECK(a.client_max_window_bits <= o.client_max_window_bits_value);
}

// The offer a client would have sent to produce these parameters.
inline DeflateOffer offer_from(const DeflateParams& p) {
  DeflateOffer o;
  o.server_no_context_takeover = p.server_no_context_takeover;
  o.client_no_context_takeover = p.client_no_context_takeover;
  o.server_max_window_bits = p.server_max_window_bits;
  o.client_max_window_bits = p.client_max_window_bits_present;
  o.client_max_window_bits_value = p.client_max_window_bits;
  return o;
}

// negotiate_deflate's answer, checked from the client's side.
inline void check_negotiation(const DeflateServerConfig& config, const std::vector<Extension>& offers) {
  const DeflateNegotiation n = negotiate_deflate(config, offers);
  // The offer it should have taken: the first valid one the config can satisfy.
  const Extension* expected = nullptr;
  DeflateParams expected_params;
  for (const Extension& e : offers) {
    if (e.name != kPermessageDeflate) continue;
    DeflateParams p;
    if (*parse_deflate_params(e, DeflateElement::Offer, p) != '\0') continue;
    if (config.client_max_window_bits < kMaxWindowBits && !p.client_max_window_bits_present) continue;
    expected = &e;
    expected_params = p;
    break;
  }
  FUZZ_CHECK_MSG(n.accepted == (expected != nullptr && is_valid_config(config)), "negotiate_deflate accepted " +
                 std::to_string(n.accepted) + " for offers: " + print(offers));
  if (!n.accepted) return;
  std::vector<Extension> response;
  FUZZ_CHECK(parse_extension_header(n.response, response).ok);
  FUZZ_CHECK(response.size() == 1 && response[0].name == kPermessageDeflate);
  DeflateParams rp;
  FUZZ_CHECK_MSG(*parse_deflate_params(response[0], DeflateElement::Response, rp) == '\0', n.response);
  const DeflateOffer offer = offer_from(expected_params);
  DeflateAgreement client;
  const char* why = accept_deflate_response(offer, response[0], client);
  FUZZ_CHECK_MSG(*why == '\0', std::string("client rejects the server's answer: ") + why + "\noffer: " +
                 print(offers) + "\nanswer: " + n.response);
  FUZZ_CHECK_MSG(client == n.agreed, "client and server agree on different parameters: " + n.response);
  check_agreement(offer, n.agreed);
  // What the server was configured to require, it got.
  if (config.server_no_context_takeover) FUZZ_CHECK(n.agreed.server_no_context_takeover);
  if (config.client_no_context_takeover) FUZZ_CHECK(n.agreed.client_no_context_takeover);
  FUZZ_CHECK(n.agreed.server_max_window_bits <= config.server_max_window_bits);
  FUZZ_CHECK(n.agreed.client_max_window_bits <= config.client_max_window_bits);
}

inline int fuzz_one(const uint8_t* data, size_t size) {
  static constexpr uint8_t server_bits[4] = {15, 8, 9, 12};
  static constexpr uint8_t client_bits[4] = {15, 8, 11, 14};
  static constexpr size_t max_items[4] = {kMaxExtensionItems, 1, 4, 16};
  static constexpr uint8_t offer_bits[4] = {0, 8, 10, 15};
  static constexpr uint8_t offer_value[4] = {0, 8, 12, 15};
  fuzz::Reader r(data, size);
  const uint8_t c = r.u8(), o = r.u8();
  const size_t cut_at = r.u16();
  const std::string_view value = r.rest();

  DeflateServerConfig config;
  config.enabled = true;
  config.server_no_context_takeover = c & 1;
  config.client_no_context_takeover = c & 2;
  config.server_max_window_bits = server_bits[(c >> 2) & 3];
  config.client_max_window_bits = client_bits[(c >> 4) & 3];
  const size_t limit = max_items[(c >> 6) & 3];
  DeflateOffer offer;
  offer.server_no_context_takeover = o & 1;
  offer.client_no_context_takeover = o & 2;
  offer.server_max_window_bits = offer_bits[(o >> 2) & 3];
  offer.client_max_window_bits = o & 16;
  offer.client_max_window_bits_value = (o & 16) ? offer_value[(o >> 5) & 3] : 0;

  // A failed parse appends nothing.
  std::vector<Extension> exts(1);
  exts[0].name = "sentinel";
  const ExtensionParseResult res = parse_extension_header(value, exts, limit + 1);
  FUZZ_CHECK(exts[0].name == "sentinel" && exts[0].params.empty());
  if (!res.ok) {
    FUZZ_CHECK(exts.size() == 1);
    FUZZ_CHECK(res.error != nullptr && *res.error != '\0');
  }
  exts.erase(exts.begin());
  if (res.ok) {
    FUZZ_CHECK(items(exts) <= limit);
    for (const auto& e : exts) {
      FUZZ_CHECK(is_token(e.name));
      for (const auto& p : e.params) {
        FUZZ_CHECK(is_token(p.name));
        if (p.has_value) FUZZ_CHECK_MSG(is_token(p.value), "parameter value is not a token: " + p.value);
        else FUZZ_CHECK(p.value.empty());
      }
    }
    // Printing and parsing again gives the same list.
    const std::string printed = print(exts);
    std::vector<Extension> again;
    FUZZ_CHECK_MSG(parse_extension_header(printed, again, limit).ok, printed);
    FUZZ_CHECK_MSG(same(exts, again), printed);
  }

  // Two header lines parse like one field joined with a comma (RFC 9110 §5.3).
  const size_t comma = value.find(',', std::min<size_t>(cut_at, value.size()));
  if (comma != std::string_view::npos && has_element(value.substr(0, comma)) && has_element(value.substr(comma + 1))) {
    std::vector<Extension> two;
    const bool ok1 = parse_extension_header(value.substr(0, comma), two, limit).ok;
    const bool ok2 = ok1 && parse_extension_header(value.substr(comma + 1), two, limit).ok;
    FUZZ_CHECK_MSG(ok2 == res.ok, "two lines " + std::to_string(ok2) + ", one field " + std::to_string(res.ok) +
                                      " for: " + std::string(value) + " cut at " + std::to_string(comma));
    if (ok2) FUZZ_CHECK(same(exts, two));
  }

  if (res.ok) {
    check_negotiation(config, exts);
    // Every permessage-deflate element as a server's answer to our offer.
    for (const Extension& e : exts) {
      if (e.name != kPermessageDeflate) continue;
      DeflateAgreement a;
      if (*accept_deflate_response(offer, e, a) == '\0') check_agreement(offer, a);
    }
  }

  // Our own offer, as the server sees it.
  if (is_valid_offer(offer)) {
    const std::string text = format_deflate_offer(offer);
    std::vector<Extension> parsed;
    FUZZ_CHECK(parse_extension_header(text, parsed).ok && parsed.size() == 1);
    DeflateParams p;
    FUZZ_CHECK_MSG(*parse_deflate_params(parsed[0], DeflateElement::Offer, p) == '\0', text);
    check_negotiation(config, parsed);
  }
  return 0;
}

}  // namespace fuzz_extension
