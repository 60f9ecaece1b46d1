// Bounded, incremental parser for one HTTP/1.1 message head (RFC 9112 §2, §3, §4, §5): the
// upgrade request on the server, the 101 response on the client.
//
// Bytes go in through feed() in chunks of any size; the result never depends on how the input is
// split. The parser copies the head (and nothing after it) into one internal buffer capped at
// max_head_size and keeps offsets into it, so every accessor returns a view into that buffer,
// valid until reset() or destruction. When the head is complete, feed() reports how many bytes of
// the last chunk belonged to it: the caller keeps the rest (WebSocket frames often arrive in the
// same segment as the head).
//
// Decisions (stricter than RFC 9112 allows, never stricter than every browser and WebSocket
// library behaves):
// - Lines must end with CRLF. A bare LF is rejected (§2.2 lets a recipient accept it; refusing
//   removes a class of request-smuggling disagreements between us and proxies, and no WebSocket
//   client sends it). A bare CR is rejected (§2.2 allows rejecting).
// - Empty lines before a request line are skipped (§2.2 "SHOULD ignore at least one").
// - obs-fold continuation lines are rejected (§5.2 allows rejecting with 400), as is any
//   whitespace between the start line and the first field (§2.2).
// - Whitespace between a field name and the colon is rejected (§5.1 MUST, 400).
// - Control characters (anything below 0x20 except HTAB, and DEL) anywhere in the head are
//   rejected as soon as they arrive, so binary garbage (a TLS ClientHello on a cleartext port)
//   fails on its first byte instead of after 16 KiB.
// - The version must be HTTP/<digit>.<digit> with major 1; another major version is answered
//   with 505 (RFC 9110 §15.6.6). HTTP/1.0 parses: whether it may upgrade is the validator's call.
// - A request line that does not fit in max_head_size is 414 (RFC 9112 §3 MUST); a head that does
//   not fit is 431, as is one with more than max_headers field lines (RFC 6585 §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake/header_list.h"

namespace sockudo::handshake {

enum class HeadKind : uint8_t { Request, Response };

enum class HeadState : uint8_t {
  NeedMore,  // feed more bytes
  Complete,  // the head ended with CRLF CRLF; accessors are valid
  Failed,    // see error(); the connection should be answered (server) or failed (client)
};

enum class HeadError : uint8_t {
  None,
  Malformed,            // 400: syntax error
  UriTooLong,           // 414: the request line alone exceeds max_head_size
  HeadTooLarge,         // 431: the head exceeds max_head_size
  TooManyHeaders,       // 431: more than max_headers field lines
  VersionNotSupported,  // 505: HTTP major version other than 1
};

struct HeadLimits {
  size_t max_head_size = 16 * 1024;  // bytes, start line through the final CRLF CRLF
  size_t max_headers = 100;          // field lines
};

struct HeadFeedResult {
  HeadState state;
  // Bytes of this chunk that were part of the head. While NeedMore this is the whole chunk; on
  // Complete the bytes after `consumed` belong to the caller; on Failed it is unspecified.
  size_t consumed;
};

class HttpHeadParser final : public HeaderList {
 public:
  explicit HttpHeadParser(HeadKind kind, HeadLimits limits = {});

  HeadFeedResult feed(const uint8_t* data, size_t len);
  HeadFeedResult feed(std::string_view s) {
    return feed(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  // The peer closed its side: a head still incomplete is malformed (it lacks CRLF CRLF).
  HeadState finish();
  // Forgets everything, keeping the buffer's memory, to parse another head.
  void reset();

  HeadKind kind() const { return kind_; }
  HeadState state() const { return state_; }
  HeadError error() const { return error_; }
  // Fixed, peer-independent text describing the failure ("" when none); safe to log or send.
  const char* error_reason() const { return error_reason_; }
  // The status a server answers a failed request head with (400, 414, 431, 505); 0 if none.
  int error_status() const;
  size_t head_size() const { return buf_.size(); }
  // The head's bytes as received (once Complete: up to and including the empty line).
  std::string_view raw() const { return buf_; }

  // Start line: valid once it has been parsed (at the latest when Complete).
  std::string_view method() const { return view(method_); }   // request
  std::string_view target() const { return view(target_); }   // request
  int status_code() const { return status_code_; }            // response; 0 until parsed
  std::string_view reason_phrase() const { return view(reason_); }  // response
  int http_major() const { return http_major_; }
  int http_minor() const { return http_minor_; }

  // Field lines in arrival order, names as sent, values with surrounding OWS removed.
  size_t header_count() const override { return headers_.size(); }
  std::string_view header_name(size_t i) const override { return view(headers_[i].name); }
  std::string_view header_value(size_t i) const override { return view(headers_[i].value); }
  // Field names compare ASCII case-insensitively (RFC 9110 §5.1).
  std::optional<std::string_view> find(std::string_view name) const;
  size_t count(std::string_view name) const;

 private:
  struct Span {
    uint32_t off = 0;
    uint32_t len = 0;
  };
  struct Field {
    Span name;
    Span value;
  };

  std::string_view view(Span s) const { return std::string_view(buf_).substr(s.off, s.len); }
  HeadState fail(HeadError e, const char* reason);
  bool check_bytes(const uint8_t* p, size_t n);
  bool start_prefix_ok(uint8_t c, size_t pos);
  void on_line(size_t begin, size_t end);
  void parse_request_line(size_t begin, size_t end);
  void parse_status_line(size_t begin, size_t end);
  bool parse_version(size_t at, size_t end);
  void parse_field_line(size_t begin, size_t end);

  HeadKind kind_;
  HeadState state_ = HeadState::NeedMore;
  HeadError error_ = HeadError::None;
  const char* error_reason_ = "";
  uint32_t max_head_size_;
  uint32_t max_headers_;

  std::string buf_;         // the head so far; never longer than max_head_size_
  size_t line_start_ = 0;   // offset of the line being received
  bool have_start_line_ = false;
  bool method_done_ = false;  // the request line's first SP has been seen

  Span method_, target_, reason_;
  int status_code_ = 0;
  int http_major_ = 0;
  int http_minor_ = 0;
  std::vector<Field> headers_;
};

}  // namespace sockudo::handshake
