// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1) and permessage-deflate negotiation
// (RFC 7692 §7), server and client side, including the RFC 7692 examples.
#include <string>
#include <vector>

#include "core/protocol/deflate_params.h"
#include "core/protocol/extension_header.h"
#include "harness.h"

using namespace sockudo::protocol;

namespace {

std::vector<Extension> parse_ok(std::string_view s) {
  std::vector<Extension> out;
  const ExtensionParseResult r = parse_extension_header(s, out);
  if (!r.ok) harness::fail(__FILE__, __LINE__, "rejected: " + std::string(s) + " (" + r.error + ")");
  return out;
}

bool rejects(std::string_view s) {
  std::vector<Extension> out;
  return !parse_extension_header(s, out).ok && out.empty();
}

// Canonical re-serialization, to compare parses compactly: "a;p;q=v,b".
std::string show(const std::vector<Extension>& exts) {
  std::string s;
  for (const Extension& e : exts) {
    if (!s.empty()) s += ',';
    s += e.name;
    for (const ExtensionParam& p : e.params) {
      s += ';';
      s += p.name;
      if (p.has_value) s += '=' + p.value;
    }
  }
  return s;
}

DeflateNegotiation negotiate(const DeflateServerConfig& cfg, std::string_view header) {
  return negotiate_deflate(cfg, parse_ok(header));
}

DeflateServerConfig enabled() {
  DeflateServerConfig c;
  c.enabled = true;
  return c;
}

// Validates `response` against `offer`; returns the error text ("" = accepted).
std::string client_check(const DeflateOffer& offer, std::string_view response, DeflateAgreement& out) {
  const std::vector<Extension> exts = parse_ok(response);
  if (exts.size() != 1) return "not one element";
  return accept_deflate_response(offer, exts[0], out);
}

}  // namespace

// ---- grammar ------------------------------------------------------------------------------

TEST(grammar_basic_elements) {
  CHECK_EQ(show(parse_ok("permessage-deflate")), std::string("permessage-deflate"));
  CHECK_EQ(show(parse_ok("permessage-deflate; client_max_window_bits")),
           std::string("permessage-deflate;client_max_window_bits"));
  CHECK_EQ(show(parse_ok("permessage-deflate; client_max_window_bits=10; server_no_context_takeover")),
           std::string("permessage-deflate;client_max_window_bits=10;server_no_context_takeover"));
  CHECK_EQ(show(parse_ok("foo, bar; baz=2, permessage-deflate")), std::string("foo,bar;baz=2,permessage-deflate"));
  const auto e = parse_ok("a; flag; k=v");
  REQUIRE(e.size() == 1);
  CHECK(!e[0].params[0].has_value);
  CHECK(e[0].params[1].has_value);
  CHECK_EQ(e[0].params[1].value, std::string("v"));
}

TEST(grammar_whitespace_and_empty_elements) {
  CHECK_EQ(show(parse_ok("  permessage-deflate ;\tclient_max_window_bits = 10 ,  foo  ")),
           std::string("permessage-deflate;client_max_window_bits=10,foo"));
  CHECK_EQ(show(parse_ok(", a,, b ,")), std::string("a,b"));
  CHECK_EQ(show(parse_ok("")), std::string(""));
  CHECK_EQ(show(parse_ok(" , ")), std::string(""));
}

TEST(grammar_quoted_values) {
  CHECK_EQ(show(parse_ok("permessage-deflate; client_max_window_bits=\"10\"")),
           std::string("permessage-deflate;client_max_window_bits=10"));
  // quoted-pair unescaping, then the token check (RFC 6455 §9.1).
  CHECK_EQ(show(parse_ok("x; p=\"1\\0\"")), std::string("x;p=10"));
  CHECK_EQ(show(parse_ok("x; p = \"abc\" ; q")), std::string("x;p=abc;q"));
}

TEST(grammar_rejections) {
  const char* bad[] = {
      "a;",            "a;;b",         "a=1",           "a; b=",       "a; b=\"",     "a; b=\"1 0\"",
      "a; b=\"\"",     "a b",          "a; b c",        ";a",          "a,;",         "a; =1",
      "a; b=1=2",      "a; b=(",       "a; b=\"x\\",    "a; b=\"x,y\"", "a; b=x y",    "\xC3\xA4",
      "a; b=\"\xC3\xA4\"", "\"a\"",    "a; \"b\"",      "a; b=\"c\"d", "a; b=\"c\x01\"", "a/1",
  };
  for (const char* s : bad) {
    if (!rejects(s)) harness::fail(__FILE__, __LINE__, std::string("accepted: ") + s);
  }
}

TEST(grammar_appends_across_lines_and_keeps_output_on_error) {
  std::vector<Extension> out;
  CHECK(parse_extension_header("a; x=1", out).ok);
  CHECK(parse_extension_header("b", out).ok);
  CHECK(!parse_extension_header("c, d;", out).ok);
  CHECK_EQ(show(out), std::string("a;x=1,b"));
}

TEST(grammar_item_cap) {
  std::string ok = "a";
  for (int i = 1; i < 128; i++) ok += ";p";
  CHECK_EQ(parse_ok(ok)[0].params.size(), size_t{127});
  std::vector<Extension> out;
  CHECK(!parse_extension_header(ok + ";p", out).ok);
  CHECK(out.empty());
  // The cap counts what is already in `out` (several header lines).
  std::vector<Extension> acc;
  std::string half = "a";
  for (int i = 1; i < 64; i++) half += ";p";
  CHECK(parse_extension_header(half, acc).ok);
  CHECK(parse_extension_header(half, acc).ok);
  CHECK(!parse_extension_header("b", acc).ok);
}

// ---- parameters ---------------------------------------------------------------------------

TEST(deflate_param_values) {
  DeflateParams p;
  for (std::string_view v : {"8", "9", "10", "15", "\"12\""}) {
    const std::string h = "permessage-deflate; server_max_window_bits=" + std::string(v);
    CHECK_EQ(std::string(parse_deflate_params(parse_ok(h)[0], DeflateElement::Offer, p)), std::string(""));
  }
  for (std::string_view v : {"7", "16", "08", "010", "1a", "-9", "a", "\"\\8\"x"}) {
    const std::string h = "permessage-deflate; server_max_window_bits=" + std::string(v);
    std::vector<Extension> e;
    if (!parse_extension_header(h, e).ok) continue;  // some are not even valid syntax
    CHECK(*parse_deflate_params(e[0], DeflateElement::Offer, p) != '\0');
  }
}

TEST(deflate_param_rules) {
  DeflateParams p;
  auto err = [&](std::string_view h, DeflateElement kind) {
    return std::string(parse_deflate_params(parse_ok(h)[0], kind, p));
  };
  const auto Offer = DeflateElement::Offer, Response = DeflateElement::Response;
  CHECK_EQ(err("permessage-deflate; client_max_window_bits", Offer), std::string(""));
  CHECK(p.client_max_window_bits_present && p.client_max_window_bits == 0);
  CHECK(err("permessage-deflate; client_max_window_bits", Response) != "");
  CHECK(err("permessage-deflate; server_max_window_bits", Offer) != "");
  CHECK(err("permessage-deflate; server_no_context_takeover=1", Offer) != "");
  CHECK(err("permessage-deflate; client_no_context_takeover=\"x\"", Offer) != "");
  CHECK(err("permessage-deflate; server_no_context_takeover; server_no_context_takeover", Offer) != "");
  CHECK(err("permessage-deflate; client_max_window_bits; client_max_window_bits=9", Offer) != "");
  CHECK(err("permessage-deflate; server_max_window_bits=9; server_max_window_bits=9", Offer) != "");
  CHECK(err("permessage-deflate; unknown", Offer) != "");
  CHECK(err("permessage-deflate; Server_No_Context_Takeover", Offer) != "");  // names are exact
  CHECK_EQ(err("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
               "server_max_window_bits=10; client_max_window_bits=11", Response), std::string(""));
  CHECK(p.server_no_context_takeover && p.client_no_context_takeover);
  CHECK_EQ(int(p.server_max_window_bits), 10);
  CHECK_EQ(int(p.client_max_window_bits), 11);
}

// ---- server negotiation --------------------------------------------------------------------

TEST(server_rfc7692_examples) {
  // RFC 7692 §5.1 / §7: the simplest offer and response.
  auto n = negotiate(enabled(), "permessage-deflate");
  CHECK(n.accepted);
  CHECK_EQ(n.response, std::string("permessage-deflate"));
  CHECK(n.agreed == DeflateAgreement{});
  // RFC 7692 §7.1: two offers, the first with server_max_window_bits=10, the second a fallback
  // for servers without server_max_window_bits support. We support it: the first is accepted.
  n = negotiate(enabled(),
                "permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
                "permessage-deflate; client_max_window_bits");
  CHECK(n.accepted);
  CHECK_EQ(n.response, std::string("permessage-deflate; server_max_window_bits=10"));
  CHECK_EQ(int(n.agreed.server_max_window_bits), 10);
  CHECK_EQ(int(n.agreed.client_max_window_bits), 15);
  // RFC 7692 §7.1.1.2-style: the client announces client_no_context_takeover.
  n = negotiate(enabled(), "permessage-deflate; client_no_context_takeover");
  CHECK_EQ(n.response, std::string("permessage-deflate; client_no_context_takeover"));
  CHECK(n.agreed.client_no_context_takeover);
  // server_no_context_takeover requested: granted.
  n = negotiate(enabled(), "permessage-deflate; server_no_context_takeover");
  CHECK_EQ(n.response, std::string("permessage-deflate; server_no_context_takeover"));
  CHECK(n.agreed.server_no_context_takeover);
}

TEST(server_declines_invalid_offers_and_tries_the_next) {
  const char* cases[] = {
      "permessage-deflate; foo=1, permessage-deflate",
      "permessage-deflate; server_max_window_bits=16, permessage-deflate",
      "permessage-deflate; server_max_window_bits=7, permessage-deflate",
      "permessage-deflate; server_max_window_bits, permessage-deflate",
      "permessage-deflate; client_max_window_bits=08, permessage-deflate",
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate",
      "permessage-deflate; client_no_context_takeover=yes, permessage-deflate",
      "x-webkit-deflate-frame, permessage-deflate",
      "permessage-foo; a, permessage-deflate",
  };
  for (const char* h : cases) {
    const auto n = negotiate(enabled(), h);
    if (!n.accepted || n.response != "permessage-deflate")
      harness::fail(__FILE__, __LINE__, std::string("wrong negotiation for: ") + h + " -> " + n.response);
  }
  CHECK(!negotiate(enabled(), "permessage-deflate; foo").accepted);
  CHECK(!negotiate(enabled(), "x-webkit-deflate-frame").accepted);
  CHECK(!negotiate(enabled(), "").accepted);
}

TEST(server_config_disabled_or_invalid) {
  DeflateServerConfig c;  // disabled by default
  CHECK(!negotiate(c, "permessage-deflate").accepted);
  c = enabled();
  c.server_max_window_bits = 7;
  CHECK(!is_valid_config(c));
  CHECK(!negotiate(c, "permessage-deflate").accepted);
  c = enabled();
  c.client_max_window_bits = 16;
  CHECK(!negotiate(c, "permessage-deflate; client_max_window_bits").accepted);
}

TEST(server_window_bits) {
  DeflateServerConfig c = enabled();
  // Client limit below ours: use the client's (§7.1.2.1).
  c.server_max_window_bits = 12;
  auto n = negotiate(c, "permessage-deflate; server_max_window_bits=10");
  CHECK_EQ(n.response, std::string("permessage-deflate; server_max_window_bits=10"));
  // Client limit above ours: answer with ours (same or smaller).
  n = negotiate(c, "permessage-deflate; server_max_window_bits=14");
  CHECK_EQ(n.response, std::string("permessage-deflate; server_max_window_bits=12"));
  // Not asked: announce our smaller window anyway.
  n = negotiate(c, "permessage-deflate");
  CHECK_EQ(n.response, std::string("permessage-deflate; server_max_window_bits=12"));
  CHECK_EQ(int(n.agreed.server_max_window_bits), 12);
  // Window bits 8 is legal (Autobahn 13.3.x / 13.5.x / 13.7.x).
  n = negotiate(enabled(), "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8");
  CHECK(n.accepted);
  CHECK_EQ(n.response, std::string("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"));
  CHECK_EQ(int(n.agreed.server_max_window_bits), 8);
  CHECK_EQ(int(n.agreed.client_max_window_bits), 8);
}

TEST(server_client_window_bits) {
  DeflateServerConfig c = enabled();
  c.client_max_window_bits = 10;
  // Offered without value: we pick ours.
  auto n = negotiate(c, "permessage-deflate; client_max_window_bits");
  CHECK_EQ(n.response, std::string("permessage-deflate; client_max_window_bits=10"));
  CHECK_EQ(int(n.agreed.client_max_window_bits), 10);
  // Offered with a larger value: ours; with a smaller one: theirs.
  CHECK_EQ(negotiate(c, "permessage-deflate; client_max_window_bits=12").response,
           std::string("permessage-deflate; client_max_window_bits=10"));
  n = negotiate(c, "permessage-deflate; client_max_window_bits=9");
  CHECK_EQ(n.response, std::string("permessage-deflate; client_max_window_bits=9"));
  CHECK_EQ(int(n.agreed.client_max_window_bits), 9);
  // Not offered: we cannot limit the client (§7.1.2.2), so this offer is declined...
  CHECK(!negotiate(c, "permessage-deflate").accepted);
  // ...and a later offer that allows it is taken.
  CHECK_EQ(negotiate(c, "permessage-deflate, permessage-deflate; client_max_window_bits").response,
           std::string("permessage-deflate; client_max_window_bits=10"));
  // Default config never sends client_max_window_bits unless the client gave a value.
  CHECK_EQ(negotiate(enabled(), "permessage-deflate; client_max_window_bits").response,
           std::string("permessage-deflate"));
  CHECK_EQ(negotiate(enabled(), "permessage-deflate; client_max_window_bits=11").response,
           std::string("permessage-deflate; client_max_window_bits=11"));
}

TEST(server_context_takeover_config) {
  DeflateServerConfig c = enabled();
  c.server_no_context_takeover = true;
  c.client_no_context_takeover = true;
  const auto n = negotiate(c, "permessage-deflate");
  CHECK_EQ(n.response,
           std::string("permessage-deflate; server_no_context_takeover; client_no_context_takeover"));
  CHECK(n.agreed.server_no_context_takeover && n.agreed.client_no_context_takeover);
}

// ---- client side ---------------------------------------------------------------------------

TEST(client_offer_format) {
  DeflateOffer o;
  CHECK_EQ(format_deflate_offer(o), std::string("permessage-deflate; client_max_window_bits"));
  o.client_max_window_bits = false;
  CHECK_EQ(format_deflate_offer(o), std::string("permessage-deflate"));
  o = DeflateOffer{true, true, 10, true, 12};
  CHECK_EQ(format_deflate_offer(o),
           std::string("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                       "server_max_window_bits=10; client_max_window_bits=12"));
  CHECK(is_valid_offer(o));
  o.server_max_window_bits = 16;
  CHECK(!is_valid_offer(o));
  o.server_max_window_bits = 0;
  o.client_max_window_bits_value = 7;
  CHECK(!is_valid_offer(o));
  o.client_max_window_bits_value = 9;
  o.client_max_window_bits = false;  // a value without the parameter makes no sense
  CHECK(!is_valid_offer(o));
}

TEST(client_accepts_valid_responses) {
  DeflateOffer o;  // "permessage-deflate; client_max_window_bits"
  DeflateAgreement a;
  CHECK_EQ(client_check(o, "permessage-deflate", a), std::string(""));
  CHECK(a == DeflateAgreement{});
  CHECK_EQ(client_check(o, "permessage-deflate; client_max_window_bits=10", a), std::string(""));
  CHECK_EQ(int(a.client_max_window_bits), 10);
  // Unasked server_no_context_takeover / server_max_window_bits / client_no_context_takeover
  // are the server's right (§7.1.1.1, §7.1.2.1, §7.1.1.2).
  CHECK_EQ(client_check(o, "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; "
                           "client_no_context_takeover", a), std::string(""));
  CHECK(a.server_no_context_takeover && a.client_no_context_takeover);
  CHECK_EQ(int(a.server_max_window_bits), 9);
}

TEST(client_rejects_invalid_responses) {
  DeflateOffer o;
  o.client_max_window_bits = false;  // "permessage-deflate"
  DeflateAgreement a;
  CHECK(client_check(o, "permessage-deflate; client_max_window_bits=10", a) != "");  // not offered
  CHECK(client_check(o, "permessage-deflate; foo", a) != "");
  CHECK(client_check(o, "permessage-deflate; server_max_window_bits", a) != "");
  CHECK(client_check(o, "permessage-deflate; server_max_window_bits=16", a) != "");
  CHECK(client_check(o, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", a) != "");
  o.client_max_window_bits = true;
  CHECK(client_check(o, "permessage-deflate; client_max_window_bits", a) != "");  // value required
  // Requested server_no_context_takeover must be granted (§7.1.1.1).
  o.server_no_context_takeover = true;
  CHECK(client_check(o, "permessage-deflate", a) != "");
  CHECK_EQ(client_check(o, "permessage-deflate; server_no_context_takeover", a), std::string(""));
}

TEST(client_window_bits_rules) {
  DeflateOffer o;
  o.server_max_window_bits = 10;
  DeflateAgreement a;
  CHECK_EQ(client_check(o, "permessage-deflate; server_max_window_bits=10", a), std::string(""));
  CHECK_EQ(int(a.server_max_window_bits), 10);
  CHECK_EQ(client_check(o, "permessage-deflate; server_max_window_bits=8", a), std::string(""));
  CHECK_EQ(int(a.server_max_window_bits), 8);
  CHECK(client_check(o, "permessage-deflate; server_max_window_bits=11", a) != "");
  CHECK(client_check(o, "permessage-deflate", a) != "");  // asked, not answered
  o = DeflateOffer{};
  o.client_max_window_bits_value = 12;
  CHECK_EQ(client_check(o, "permessage-deflate", a), std::string(""));
  CHECK_EQ(int(a.client_max_window_bits), 12);  // our own announced ceiling
  CHECK_EQ(client_check(o, "permessage-deflate; client_max_window_bits=10", a), std::string(""));
  CHECK_EQ(int(a.client_max_window_bits), 10);
  CHECK(client_check(o, "permessage-deflate; client_max_window_bits=13", a) != "");
  // Announced client_no_context_takeover stays in force even if the server does not echo it.
  o = DeflateOffer{};
  o.client_no_context_takeover = true;
  CHECK_EQ(client_check(o, "permessage-deflate", a), std::string(""));
  CHECK(a.client_no_context_takeover);
}

TEST(server_and_client_agree_on_every_combination) {
  // Whatever our server answers to whatever our client offers, our client accepts it and both
  // sides end with the same agreement.
  const uint8_t bits[] = {0, 8, 9, 12, 15};
  int checked = 0;
  for (int flags = 0; flags < 16; flags++) {
    for (uint8_t sb : bits) {
      for (uint8_t cb : bits) {
        for (uint8_t cfg_s : {8, 11, 15}) {
          for (uint8_t cfg_c : {8, 11, 15}) {
            DeflateOffer o;
            o.server_no_context_takeover = flags & 1;
            o.client_no_context_takeover = flags & 2;
            o.client_max_window_bits = (flags & 4) || cb != 0;
            o.server_max_window_bits = sb;
            o.client_max_window_bits_value = cb;
            DeflateServerConfig c = enabled();
            c.server_no_context_takeover = flags & 8;
            c.server_max_window_bits = cfg_s;
            c.client_max_window_bits = cfg_c;
            const auto n = negotiate_deflate(c, parse_ok(format_deflate_offer(o)));
            if (!n.accepted) {
              // Only legal reason: we must limit the client but it did not offer the parameter.
              REQUIRE(cfg_c < 15 && !o.client_max_window_bits);
              continue;
            }
            DeflateAgreement a;
            REQUIRE_MSG(client_check(o, n.response, a).empty(), n.response);
            REQUIRE_MSG(a == n.agreed, n.response);
            REQUIRE(a.server_max_window_bits <= cfg_s);
            REQUIRE(a.client_max_window_bits <= cfg_c);
            if (sb) REQUIRE(a.server_max_window_bits <= sb);
            if (cb) REQUIRE(a.client_max_window_bits <= cb);
            checked++;
          }
        }
      }
    }
  }
  CHECK(checked > 1000);
}
