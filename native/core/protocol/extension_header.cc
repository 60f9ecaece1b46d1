#include "core/protocol/extension_header.h"

#include "core/handshake/header_syntax.h"

namespace sockudo::protocol {

namespace {

using handshake::is_ows;
using handshake::is_tchar;
using handshake::is_token;

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool at_end() const { return pos_ == s_.size(); }
  char peek() const { return s_[pos_]; }
  void advance() { pos_++; }
  void skip_ows() {
    while (!at_end() && is_ows(static_cast<uint8_t>(peek()))) pos_++;
  }
  std::string_view token() {
    const size_t start = pos_;
    while (!at_end() && is_tchar(static_cast<uint8_t>(peek()))) pos_++;
    return s_.substr(start, pos_ - start);
  }
  // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110 §5.6.4), cursor on the
  // opening quote. Appends the unescaped content to `out`.
  bool quoted_string(std::string& out) {
    pos_++;
    while (!at_end()) {
      uint8_t c = static_cast<uint8_t>(peek());
      pos_++;
      if (c == '"') return true;
      if (c == '\\') {
        if (at_end()) return false;
        c = static_cast<uint8_t>(peek());
        pos_++;
      }
      // qdtext and the escaped octet of a quoted-pair: HTAB, SP, VCHAR, obs-text.
      if (!handshake::is_field_value_byte(c)) return false;
      out.push_back(static_cast<char>(c));
    }
    return false;  // unterminated
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

ExtensionParseResult failure(const char* why) { return {false, why}; }

}  // namespace

ExtensionParseResult parse_extension_header(std::string_view field_value, std::vector<Extension>& out,
                                            size_t max_items) {
  size_t items = 0;
  for (const Extension& e : out) items += 1 + e.params.size();
  std::vector<Extension> parsed;
  Cursor c(field_value);
  c.skip_ows();
  while (!c.at_end()) {
    if (c.peek() == ',') {  // empty list element
      c.advance();
      c.skip_ows();
      continue;
    }
    if (++items > max_items) return failure("too many extensions or parameters");
    Extension ext;
    ext.name = c.token();
    if (ext.name.empty()) return failure("expected an extension token");
    c.skip_ows();
    while (!c.at_end() && c.peek() == ';') {
      c.advance();
      c.skip_ows();
      if (++items > max_items) return failure("too many extensions or parameters");
      ExtensionParam param;
      param.name = c.token();
      if (param.name.empty()) return failure("expected an extension parameter name");
      c.skip_ows();
      if (!c.at_end() && c.peek() == '=') {
        c.advance();
        c.skip_ows();
        param.has_value = true;
        if (!c.at_end() && c.peek() == '"') {
          if (!c.quoted_string(param.value)) return failure("malformed quoted-string");
          // RFC 6455 §9.1: the unescaped quoted-string value MUST conform to token.
          if (!is_token(param.value)) return failure("quoted parameter value is not a token");
        } else {
          param.value = std::string(c.token());
          if (param.value.empty()) return failure("expected an extension parameter value");
        }
        c.skip_ows();
      }
      ext.params.push_back(std::move(param));
    }
    parsed.push_back(std::move(ext));
    if (c.at_end()) break;
    if (c.peek() != ',') return failure("expected ',' or ';' after an extension");
    c.advance();
    c.skip_ows();
  }
  for (Extension& e : parsed) out.push_back(std::move(e));
  return {};
}

}  // namespace sockudo::protocol
