// Writing header lines into an outgoing head, with the checks that keep caller-supplied fields
// from injecting lines (RFC 9110 §5.1 names are tokens; §5.5 values contain no CR, LF, NUL or
// other control characters) or overriding what the handshake itself writes.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "core/handshake/handshake_errors.h"
#include "core/handshake/header_syntax.h"

namespace sockudo::handshake {

// Checks every field in `extra`; names listed in `forbidden` (compared case-insensitively) are
// rejected with ForbiddenHeader. The first problem wins.
BuildError check_extra_headers(std::span<const HeaderField> extra,
                               std::initializer_list<std::string_view> forbidden);

// "name: value\r\n", no checks (the caller has done them).
inline void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// Comma-joined field value for a list of tokens ("chat, superchat").
std::string join_tokens(std::span<const std::string_view> tokens);

}  // namespace sockudo::handshake
