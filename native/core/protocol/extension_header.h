// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1), shared by both handshake sides:
//
//   Sec-WebSocket-Extensions = extension-list
//   extension-list  = 1#extension
//   extension       = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
//
// RFC 6455 writes this ABNF with RFC 2616's implied *LWS, so optional whitespace (SP / HTAB) is
// accepted around ",", ";" and "="; empty list elements are skipped (RFC 9110 §5.6.1.2). A
// quoted-string value must unescape to a token (§9.1 comment, RFC 7692 §5). The field may be
// split over several header lines: parse each line and concatenate, which is equivalent to
// joining them with commas (RFC 9110 §5.3).
//
// Extension and parameter names are views into the parsed text (the head parser's buffer);
// values are unescaped copies (short: they fit std::string's inline storage).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sockudo::protocol {

struct ExtensionParam {
  std::string_view name;
  bool has_value = false;
  std::string value;  // unescaped; a token when has_value
};

struct Extension {
  std::string_view name;
  std::vector<ExtensionParam> params;
};

struct ExtensionParseResult {
  bool ok = true;
  const char* error = "";  // fixed text describing the first syntax error
};

// Real offers are one or two extensions with a few parameters each. Capping extensions plus
// parameters (counted over everything in `out`) keeps a hostile 16 KiB header of "a;b;c;..." from
// becoming tens of thousands of heap objects.
constexpr size_t kMaxExtensionItems = 128;

// Appends the extensions of one field line to `out`. On a syntax error (or more than max_items
// extensions + parameters in total) nothing is appended and the whole field is invalid (a server
// answers 400, a client fails the connection); semantic checks (unknown parameters, duplicates,
// values) belong to each extension's negotiation.
ExtensionParseResult parse_extension_header(std::string_view field_value, std::vector<Extension>& out,
                                            size_t max_items = kMaxExtensionItems);

}  // namespace sockudo::protocol
