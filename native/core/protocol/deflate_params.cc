#include "core/protocol/deflate_params.h"

#include <algorithm>

namespace sockudo::protocol {

namespace {

constexpr std::string_view kServerNoContextTakeover = "server_no_context_takeover";
constexpr std::string_view kClientNoContextTakeover = "client_no_context_takeover";
constexpr std::string_view kServerMaxWindowBits = "server_max_window_bits";
constexpr std::string_view kClientMaxWindowBits = "client_max_window_bits";

// "8".."15", decimal without leading zeros (RFC 7692 §7.1.2.1, §7.1.2.2); 0 when invalid.
uint8_t parse_window_bits(std::string_view v) {
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return static_cast<uint8_t>(v[0] - '0');
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
    return static_cast<uint8_t>(10 + (v[1] - '0'));
  return 0;
}

bool valid_bits(uint8_t b) { return b >= kMinWindowBits && b <= kMaxWindowBits; }

void append_param(std::string& s, std::string_view name) {
  s += "; ";
  s += name;
}

void append_param(std::string& s, std::string_view name, uint8_t bits) {
  append_param(s, name);
  s += '=';
  s += std::to_string(bits);
}

}  // namespace

const char* parse_deflate_params(const Extension& element, DeflateElement kind, DeflateParams& out) {
  out = DeflateParams{};
  bool seen_snct = false, seen_cnct = false, seen_smwb = false;
  for (const ExtensionParam& p : element.params) {
    if (p.name == kServerNoContextTakeover || p.name == kClientNoContextTakeover) {
      // §7.1.1.1, §7.1.1.2: flags without a value.
      const bool server = p.name == kServerNoContextTakeover;
      bool& seen = server ? seen_snct : seen_cnct;
      if (seen) return "duplicate parameter";
      if (p.has_value) return "no_context_takeover takes no value";
      seen = true;
      (server ? out.server_no_context_takeover : out.client_no_context_takeover) = true;
    } else if (p.name == kServerMaxWindowBits) {
      // §7.1.2.1: always with a value, in offers and responses.
      if (seen_smwb) return "duplicate parameter";
      seen_smwb = true;
      if (!p.has_value) return "server_max_window_bits requires a value";
      out.server_max_window_bits = parse_window_bits(p.value);
      if (out.server_max_window_bits == 0) return "server_max_window_bits out of range";
    } else if (p.name == kClientMaxWindowBits) {
      // §7.1.2.2: the value is optional in an offer and required in a response.
      if (out.client_max_window_bits_present) return "duplicate parameter";
      out.client_max_window_bits_present = true;
      if (!p.has_value) {
        if (kind == DeflateElement::Response) return "client_max_window_bits requires a value";
        continue;
      }
      out.client_max_window_bits = parse_window_bits(p.value);
      if (out.client_max_window_bits == 0) return "client_max_window_bits out of range";
    } else {
      return "unknown parameter";
    }
  }
  return "";
}

bool is_valid_config(const DeflateServerConfig& c) {
  return valid_bits(c.server_max_window_bits) && valid_bits(c.client_max_window_bits);
}

DeflateNegotiation negotiate_deflate(const DeflateServerConfig& config,
                                     std::span<const Extension> offers) {
  DeflateNegotiation result;
  if (!config.enabled || !is_valid_config(config)) return result;
  for (const Extension& offer : offers) {
    if (offer.name != kPermessageDeflate) continue;
    DeflateParams p;
    if (*parse_deflate_params(offer, DeflateElement::Offer, p) != '\0') continue;  // §7: decline

    // §7.1.2.2: without client_max_window_bits in the offer the response must not carry it, so a
    // server that needs the client's window limited can only decline this offer.
    if (config.client_max_window_bits < kMaxWindowBits && !p.client_max_window_bits_present)
      continue;

    DeflateAgreement a;
    // §7.1.1.1: asked-for server_no_context_takeover is supported, so it is always granted.
    a.server_no_context_takeover = config.server_no_context_takeover || p.server_no_context_takeover;
    // §7.1.1.2: the client's own hint is echoed, which makes it binding and lets our inflater
    // drop its window between messages.
    a.client_no_context_takeover = config.client_no_context_takeover || p.client_no_context_takeover;
    // §7.1.2.1: the same or a smaller value than offered.
    a.server_max_window_bits = config.server_max_window_bits;
    if (p.server_max_window_bits != 0)
      a.server_max_window_bits = std::min(a.server_max_window_bits, p.server_max_window_bits);
    // §7.1.2.2: a value in the offer is the client's own ceiling; the response may lower it.
    if (p.client_max_window_bits_present) {
      a.client_max_window_bits = config.client_max_window_bits;
      if (p.client_max_window_bits != 0)
        a.client_max_window_bits = std::min(a.client_max_window_bits, p.client_max_window_bits);
    }

    std::string& r = result.response;
    r.assign(kPermessageDeflate);
    if (a.server_no_context_takeover) append_param(r, kServerNoContextTakeover);
    if (a.client_no_context_takeover) append_param(r, kClientNoContextTakeover);
    // An offered server_max_window_bits must be answered (§7.1.2.1); otherwise announcing a
    // smaller window is optional but lets the client's inflater save memory.
    if (p.server_max_window_bits != 0 || a.server_max_window_bits < kMaxWindowBits)
      append_param(r, kServerMaxWindowBits, a.server_max_window_bits);
    if (a.client_max_window_bits < kMaxWindowBits)
      append_param(r, kClientMaxWindowBits, a.client_max_window_bits);
    result.accepted = true;
    result.agreed = a;
    return result;
  }
  return result;
}

bool is_valid_offer(const DeflateOffer& o) {
  return (o.server_max_window_bits == 0 || valid_bits(o.server_max_window_bits)) &&
         (o.client_max_window_bits_value == 0 ||
          (o.client_max_window_bits && valid_bits(o.client_max_window_bits_value)));
}

std::string format_deflate_offer(const DeflateOffer& o) {
  std::string s(kPermessageDeflate);
  if (o.server_no_context_takeover) append_param(s, kServerNoContextTakeover);
  if (o.client_no_context_takeover) append_param(s, kClientNoContextTakeover);
  if (o.server_max_window_bits != 0) append_param(s, kServerMaxWindowBits, o.server_max_window_bits);
  if (o.client_max_window_bits) {
    if (o.client_max_window_bits_value != 0)
      append_param(s, kClientMaxWindowBits, o.client_max_window_bits_value);
    else
      append_param(s, kClientMaxWindowBits);
  }
  return s;
}

const char* accept_deflate_response(const DeflateOffer& offer, const Extension& response,
                                    DeflateAgreement& out) {
  DeflateParams r;
  if (const char* why = parse_deflate_params(response, DeflateElement::Response, r); *why)
    return why;
  DeflateAgreement a;

  // §7.1.1.1: a server accepts an offer carrying server_no_context_takeover only by including
  // it; it may also include it unasked.
  if (offer.server_no_context_takeover && !r.server_no_context_takeover)
    return "server_no_context_takeover was requested but not granted";
  a.server_no_context_takeover = r.server_no_context_takeover;
  // §7.1.1.2: the server may impose it; if we announced it we keep our word either way.
  a.client_no_context_takeover = r.client_no_context_takeover || offer.client_no_context_takeover;

  // §7.1.2.1: an offered limit must be answered with the same or a smaller value; an unasked
  // value is the server telling us its window is smaller than 15.
  if (offer.server_max_window_bits != 0) {
    if (r.server_max_window_bits == 0) return "server_max_window_bits was requested but not answered";
    if (r.server_max_window_bits > offer.server_max_window_bits)
      return "server_max_window_bits larger than requested";
  }
  if (r.server_max_window_bits != 0) a.server_max_window_bits = r.server_max_window_bits;

  // §7.1.2.2: the response may carry client_max_window_bits only if we offered it, and not above
  // the value we offered.
  if (r.client_max_window_bits_present) {
    if (!offer.client_max_window_bits) return "client_max_window_bits was not offered";
    if (offer.client_max_window_bits_value != 0 &&
        r.client_max_window_bits > offer.client_max_window_bits_value)
      return "client_max_window_bits larger than offered";
    a.client_max_window_bits = r.client_max_window_bits;
  } else if (offer.client_max_window_bits && offer.client_max_window_bits_value != 0) {
    a.client_max_window_bits = offer.client_max_window_bits_value;  // our own announced ceiling
  }
  out = a;
  return "";
}

}  // namespace sockudo::protocol
