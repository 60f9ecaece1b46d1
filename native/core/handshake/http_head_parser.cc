#include "core/handshake/http_head_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/handshake/header_syntax.h"

namespace sockudo::handshake {

namespace {

constexpr bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// request-target bytes (RFC 9112 §3.2 via RFC 3986): visible ASCII only. Non-ASCII must arrive
// percent-encoded; SP would make the request line ambiguous.
constexpr bool is_target_byte(uint8_t c) { return c > 0x20 && c < 0x7F; }

}  // namespace

HttpHeadParser::HttpHeadParser(HeadKind kind, HeadLimits limits)
    : kind_(kind),
      // Offsets are 32-bit; a multi-gigabyte head limit would be a configuration error anyway.
      max_head_size_(static_cast<uint32_t>(
          std::min<size_t>(limits.max_head_size, std::numeric_limits<uint32_t>::max()))),
      max_headers_(static_cast<uint32_t>(
          std::min<size_t>(limits.max_headers, std::numeric_limits<uint32_t>::max()))) {}

void HttpHeadParser::reset() {
  state_ = HeadState::NeedMore;
  error_ = HeadError::None;
  error_reason_ = "";
  buf_.clear();
  line_start_ = 0;
  have_start_line_ = false;
  method_done_ = false;
  method_ = target_ = reason_ = Span{};
  status_code_ = http_major_ = http_minor_ = 0;
  headers_.clear();
}

HeadState HttpHeadParser::fail(HeadError e, const char* reason) {
  state_ = HeadState::Failed;
  error_ = e;
  error_reason_ = reason;
  return state_;
}

int HttpHeadParser::error_status() const {
  switch (error_) {
    case HeadError::None: return 0;
    case HeadError::Malformed: return 400;
    case HeadError::UriTooLong: return 414;
    case HeadError::HeadTooLarge: return 431;
    case HeadError::TooManyHeaders: return 431;
    case HeadError::VersionNotSupported: return 505;
  }
  return 400;
}

HeadState HttpHeadParser::finish() {
  if (state_ == HeadState::NeedMore)
    fail(HeadError::Malformed, "connection closed before the end of the head (CRLF CRLF)");
  return state_;
}

// Byte-level rules that hold anywhere in a head (RFC 9112 §2.2, RFC 9110 §5.5), checked as bytes
// arrive so garbage fails immediately. `p` ends at the first LF, if any (feed() splits there).
bool HttpHeadParser::check_bytes(const uint8_t* p, size_t n) {
  bool cr_pending = buf_.size() > line_start_ && buf_.back() == '\r';
  const size_t line_pos = buf_.size() - line_start_;
  for (size_t i = 0; i < n; i++) {
    const uint8_t c = p[i];
    if (!have_start_line_ && !start_prefix_ok(c, line_pos + i)) return false;
    if (cr_pending && c != '\n') {
      fail(HeadError::Malformed, "bare CR in head");
      return false;
    }
    if (c == '\n') {
      if (!cr_pending) {
        fail(HeadError::Malformed, "line not terminated by CRLF");
        return false;
      }
    } else if (c != '\r' && !is_field_value_byte(c)) {
      fail(HeadError::Malformed, "control character in head");
      return false;
    }
    cr_pending = c == '\r';
  }
  return true;
}

// The first bytes of a start line are checked as they arrive, so a peer speaking another protocol
// (TLS, SSH, raw frames) fails at once instead of filling the buffer: a request must open with a
// method token (RFC 9112 §3.1), a response with "HTTP/" (§2.3). The complete line is checked
// again by parse_request_line / parse_status_line.
bool HttpHeadParser::start_prefix_ok(uint8_t c, size_t pos) {
  if (c == '\r' || c == '\n') return true;  // line end (or skipped empty line): judged whole
  if (kind_ == HeadKind::Request) {
    if (method_done_) return true;
    if (c == ' ' && pos > 0) {
      method_done_ = true;
      return true;
    }
    if (is_tchar(c)) return true;
    fail(HeadError::Malformed, "malformed request line (method)");
    return false;
  }
  constexpr std::string_view kPrefix = "HTTP/";
  if (pos >= kPrefix.size() || static_cast<char>(c) == kPrefix[pos]) return true;
  fail(HeadError::Malformed, "malformed status line");
  return false;
}

HeadFeedResult HttpHeadParser::feed(const uint8_t* data, size_t len) {
  if (state_ != HeadState::NeedMore) return {state_, 0};
  size_t i = 0;
  while (i < len) {
    const uint8_t* p = data + i;
    const void* lf = std::memchr(p, '\n', len - i);
    const size_t n = lf ? static_cast<size_t>(static_cast<const uint8_t*>(lf) - p) + 1 : len - i;
    // Bytes that fit are checked before the size limit is applied, so the verdict for a given
    // input does not depend on how it was split.
    const size_t room = max_head_size_ - buf_.size();
    if (!check_bytes(p, std::min(n, room))) return {state_, i};
    if (n > room) {
      if (kind_ == HeadKind::Request && !have_start_line_)
        fail(HeadError::UriTooLong, "request line exceeds the head size limit");
      else
        fail(HeadError::HeadTooLarge, "head exceeds the size limit");
      return {state_, i};
    }
    // Grow towards the cap, never past it: a long head costs at most max_head_size of memory.
    if (buf_.capacity() < buf_.size() + n)
      buf_.reserve(std::min<size_t>(max_head_size_, std::max(buf_.size() + n, 2 * buf_.capacity())));
    buf_.append(reinterpret_cast<const char*>(p), n);
    i += n;
    if (lf) {
      const size_t begin = line_start_;
      line_start_ = buf_.size();
      on_line(begin, buf_.size() - 2);  // without CRLF; check_bytes guaranteed the CR
      if (state_ != HeadState::NeedMore) return {state_, i};
    }
  }
  return {state_, len};
}

void HttpHeadParser::on_line(size_t begin, size_t end) {
  if (!have_start_line_) {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
    if (begin == end && kind_ == HeadKind::Request) return;
    have_start_line_ = true;
    if (kind_ == HeadKind::Request)
      parse_request_line(begin, end);
    else
      parse_status_line(begin, end);
    return;
  }
  if (begin == end) {
    state_ = HeadState::Complete;  // the empty line ending the head (RFC 9112 §2.1)
    return;
  }
  parse_field_line(begin, end);
}

// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), exactly the bytes [at, end).
bool HttpHeadParser::parse_version(size_t at, size_t end) {
  const std::string_view v = std::string_view(buf_).substr(at, end - at);
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' ||
      !is_digit(v[7])) {
    fail(HeadError::Malformed, "malformed HTTP version");
    return false;
  }
  http_major_ = v[5] - '0';
  http_minor_ = v[7] - '0';
  if (http_major_ != 1) {
    fail(HeadError::VersionNotSupported, "HTTP major version other than 1");
    return false;
  }
  return true;
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3), single spaces only.
void HttpHeadParser::parse_request_line(size_t begin, size_t end) {
  const std::string_view line = std::string_view(buf_).substr(begin, end - begin);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || !is_token(line.substr(0, sp1))) {
    fail(HeadError::Malformed, "malformed request line (method)");
    return;
  }
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    fail(HeadError::Malformed, "malformed request line (request-target)");
    return;
  }
  for (size_t i = sp1 + 1; i < sp2; i++) {
    if (!is_target_byte(static_cast<uint8_t>(line[i]))) {
      fail(HeadError::Malformed, "invalid character in request-target");
      return;
    }
  }
  if (!parse_version(begin + sp2 + 1, end)) return;
  method_ = {static_cast<uint32_t>(begin), static_cast<uint32_t>(sp1)};
  target_ = {static_cast<uint32_t>(begin + sp1 + 1), static_cast<uint32_t>(sp2 - sp1 - 1)};
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). The SP before an
// empty reason is optional here: §4 asks recipients to accept its absence.
void HttpHeadParser::parse_status_line(size_t begin, size_t end) {
  const std::string_view line = std::string_view(buf_).substr(begin, end - begin);
  if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    fail(HeadError::Malformed, "malformed status line");
    return;
  }
  if (!parse_version(begin, begin + 8)) return;
  if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') {
    fail(HeadError::Malformed, "malformed status code");
    return;
  }
  status_code_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (line.size() > 12)
    reason_ = {static_cast<uint32_t>(begin + 13), static_cast<uint32_t>(line.size() - 13)};
}

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
void HttpHeadParser::parse_field_line(size_t begin, size_t end) {
  const std::string_view line = std::string_view(buf_).substr(begin, end - begin);
  if (is_ows(static_cast<uint8_t>(line[0]))) {
    // RFC 9112 §5.2 (obs-fold) and §2.2 (whitespace before the first field): reject.
    fail(HeadError::Malformed, "obs-fold or leading whitespace in field line");
    return;
  }
  size_t colon = 0;
  while (colon < line.size() && is_tchar(static_cast<uint8_t>(line[colon]))) colon++;
  if (colon == line.size() || line[colon] != ':') {
    // Includes "Name : value": RFC 9112 §5.1 requires rejecting whitespace before the colon.
    fail(HeadError::Malformed, "invalid field name");
    return;
  }
  if (colon == 0) {
    fail(HeadError::Malformed, "empty field name");
    return;
  }
  if (headers_.size() >= max_headers_) {
    fail(HeadError::TooManyHeaders, "too many header fields");
    return;
  }
  // Field-value bytes were already checked by check_bytes(); only OWS trimming is left.
  size_t vb = colon + 1, ve = line.size();
  while (vb < ve && is_ows(static_cast<uint8_t>(line[vb]))) vb++;
  while (ve > vb && is_ows(static_cast<uint8_t>(line[ve - 1]))) ve--;
  headers_.push_back({{static_cast<uint32_t>(begin), static_cast<uint32_t>(colon)},
                      {static_cast<uint32_t>(begin + vb), static_cast<uint32_t>(ve - vb)}});
}

std::optional<std::string_view> HttpHeadParser::find(std::string_view name) const {
  for (const Field& f : headers_)
    if (iequals(view(f.name), name)) return view(f.value);
  return std::nullopt;
}

size_t HttpHeadParser::count(std::string_view name) const {
  size_t n = 0;
  for (const Field& f : headers_)
    if (iequals(view(f.name), name)) n++;
  return n;
}

}  // namespace sockudo::handshake
