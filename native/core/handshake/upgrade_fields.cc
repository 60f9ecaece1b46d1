#include "core/handshake/upgrade_fields.h"

#include <algorithm>

#include "core/handshake/header_syntax.h"
#include "core/protocol/extension_header.h"

namespace sockudo::handshake {

namespace {

// Real clients offer a handful of subprotocols; the cap keeps a 16 KiB header of "a,a,a,..." from
// becoming thousands of entries (and a sort of them).
constexpr size_t kMaxSubprotocols = 128;

constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Duplicates by sorting a copy: O(n log n), so a head full of one-letter offers stays cheap.
bool has_duplicates(const std::vector<std::string_view>& v) {
  std::vector<std::string_view> sorted(v);
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

}  // namespace

// §3.2.2 requires servers to accept the absolute form. Other forms (authority, asterisk) are not
// valid for GET. A fragment is not part of a request-target, and RFC 6455 §3 forbids it in
// WebSocket URIs.
bool split_target(std::string_view target, std::string_view& path, std::string_view& query) {
  if (target.find('#') != std::string_view::npos) return false;
  std::string_view rest = target;
  if (rest.empty()) return false;
  if (rest.front() != '/') {
    const size_t sep = rest.find("://");
    if (sep == std::string_view::npos || sep == 0 || !is_alpha(rest[0])) return false;
    for (size_t i = 1; i < sep; i++) {
      const char c = rest[i];
      if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
    }
    rest.remove_prefix(sep + 3);
    const size_t path_start = rest.find_first_of("/?");
    if (rest.empty() || path_start == 0) return false;  // empty authority
    rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  }
  const size_t q = rest.find('?');
  path = rest.substr(0, q);
  query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  if (path.empty()) path = "/";
  return true;
}

void gather_upgrade_fields(const HeaderList& head, UpgradeFields& f, UpgradeRequest& out) {
  for (size_t i = 0; i < head.header_count(); i++) {
    const std::string_view name = head.header_name(i);
    const std::string_view value = head.header_value(i);
    if (iequals(name, "host")) {
      f.host_count++;
      f.host = value;
    } else if (iequals(name, "upgrade")) {
      f.has_upgrade = true;
      f.upgrade_websocket = f.upgrade_websocket || list_contains_token(value, "websocket");
    } else if (iequals(name, "connection")) {
      f.has_connection = true;
      f.connection_upgrade = f.connection_upgrade || list_contains_token(value, "upgrade");
    } else if (iequals(name, "sec-websocket-key")) {
      f.key_count++;
      f.key = value;
    } else if (iequals(name, "sec-websocket-accept")) {
      f.accept_count++;
    } else if (iequals(name, "sec-websocket-version")) {
      f.version_count++;
      f.version = value;
    } else if (iequals(name, "origin")) {
      f.origin_count++;
      f.origin = value;
    } else if (iequals(name, "sec-websocket-protocol")) {
      // RFC 6455 §4.1 / §11.3.4: a comma-separated list of tokens, possibly over several lines.
      for_each_list_element(value, [&](std::string_view p) {
        if (!is_token(p) || out.protocols.size() == kMaxSubprotocols) {
          f.bad_protocol = true;
          return false;
        }
        out.protocols.push_back(p);
        return true;
      });
    } else if (iequals(name, "sec-websocket-extensions")) {
      if (!f.bad_extensions) {
        auto r = protocol::parse_extension_header(value, out.extensions);
        if (!r.ok) f.bad_extensions = r.error;
      }
    } else if (iequals(name, "transfer-encoding")) {
      f.has_body = true;
    } else if (iequals(name, "content-length")) {
      f.has_body = f.has_body || value != "0";
    }
  }
}

const char* check_offers(const UpgradeFields& f, const UpgradeRequest& out) {
  // RFC 6455 §4.2.1 item 8, §4.1: tokens, unique.
  if (f.bad_protocol) return "invalid Sec-WebSocket-Protocol header";
  if (has_duplicates(out.protocols)) return "duplicate subprotocol in Sec-WebSocket-Protocol";
  // §4.2.1 item 9, §9.1: a syntactically broken extension list is a bad request (an offer with
  // unknown parameters is merely declined, by the extension's negotiation).
  if (f.bad_extensions) return "invalid Sec-WebSocket-Extensions header";
  if (f.origin_count > 1) return "duplicate Origin header";
  return nullptr;
}

BuildError check_answer(const UpgradeRequest& request, const AcceptOptions& options) {
  if (!options.subprotocol.empty() &&
      std::find(request.protocols.begin(), request.protocols.end(), options.subprotocol) == request.protocols.end())
    return BuildError::SubprotocolNotOffered;
  if (!options.extensions.empty()) {
    std::vector<protocol::Extension> parsed;
    if (!is_field_value(options.extensions) || !protocol::parse_extension_header(options.extensions, parsed).ok ||
        parsed.empty())
      return BuildError::InvalidExtensions;
  }
  return BuildError::None;
}

}  // namespace sockudo::handshake
