// HTTP field syntax shared by the handshake parser, validators and builders (RFC 9110 §5.5,
// §5.6): token characters, field-value characters, optional whitespace, comma-separated lists
// and ASCII case-insensitive comparison. Header-only and allocation-free; also used by the
// extension grammar in core/protocol/extension_header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockudo::handshake {

// tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
constexpr bool is_tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// token = 1*tchar (RFC 9110 §5.6.2). Also the grammar of a subprotocol name (RFC 6455 §4.1:
// U+0021..U+007E minus the RFC 2616 separators is exactly tchar).
constexpr bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<uint8_t>(c))) return false;
  return true;
}

// OWS = *( SP / HTAB ) (RFC 9110 §5.6.3).
constexpr bool is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

// A byte that may appear inside a field value (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB.
// Everything else is a control character (including CR, LF, NUL and DEL) and could split or
// truncate the header when written to the wire.
constexpr bool is_field_value_byte(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

constexpr bool is_field_value(std::string_view s) {
  for (char c : s)
    if (!is_field_value_byte(static_cast<uint8_t>(c))) return false;
  return true;
}

constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(static_cast<uint8_t>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_ows(static_cast<uint8_t>(s.back()))) s.remove_suffix(1);
  return s;
}

constexpr uint8_t ascii_lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// ASCII case-insensitive equality: field names (RFC 9110 §5.1) and the handshake's "websocket"
// and "upgrade" tokens (RFC 6455 §4.1, §4.2.1) compare this way.
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (ascii_lower(static_cast<uint8_t>(a[i])) != ascii_lower(static_cast<uint8_t>(b[i])))
      return false;
  return true;
}

// Walks a comma-separated list (#rule, RFC 9110 §5.6.1): calls f(element) for every element with
// OWS trimmed, skipping empty elements as §5.6.1.2 requires recipients to. f returns false to
// stop early; the function returns false iff f did. Elements are not validated here: callers
// decide whether a non-token element is an error or merely not a match.
template <typename F>
constexpr bool for_each_list_element(std::string_view list, F&& f) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view element = trim_ows(list.substr(start, comma - start));
    if (!element.empty() && !f(element)) return false;
    start = comma + 1;
  }
  return true;
}

// Whether a comma-separated list contains `token` (ASCII case-insensitive), e.g. "upgrade" in
// "keep-alive, Upgrade".
constexpr bool list_contains_token(std::string_view list, std::string_view token) {
  return !for_each_list_element(list, [&](std::string_view e) { return !iequals(e, token); });
}

// One header line as a caller hands it to a builder (extra response/request headers).
struct HeaderField {
  std::string_view name;
  std::string_view value;
};

}  // namespace sockudo::handshake
