#include "core/handshake/header_writer.h"

namespace sockudo::handshake {

BuildError check_extra_headers(std::span<const HeaderField> extra,
                               std::initializer_list<std::string_view> forbidden) {
  for (const HeaderField& h : extra) {
    if (!is_token(h.name)) return BuildError::InvalidHeaderName;
    if (!is_field_value(h.value)) return BuildError::InvalidHeaderValue;
    for (std::string_view f : forbidden)
      if (iequals(h.name, f)) return BuildError::ForbiddenHeader;
  }
  return BuildError::None;
}

std::string join_tokens(std::span<const std::string_view> tokens) {
  std::string s;
  for (std::string_view t : tokens) {
    if (!s.empty()) s += ", ";
    s += t;
  }
  return s;
}

}  // namespace sockudo::handshake
