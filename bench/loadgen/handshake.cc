// RFC 6455 §4.1: building the client's upgrade request and validating the server's response.
#include "handshake.h"

#include <cstdint>

#include "base64.h"
#include "random.h"
#include "sha1.h"

namespace sockudo::loadgen {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // §1.3

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated token list contains `token` (case-insensitive, RFC 9110 §5.6.1).
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

UpgradeRequest make_upgrade_request(std::string_view host_header, std::string_view path,
                                    bool offer_deflate) {
  uint8_t nonce[16];
  fill_random(nonce, sizeof nonce);
  UpgradeRequest req;
  req.key = base64_encode(nonce, sizeof nonce);
  req.bytes.reserve(256);
  req.bytes.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_header);
  req.bytes.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  req.bytes.append(req.key).append("\r\nSec-WebSocket-Version: 13\r\n");
  if (offer_deflate) req.bytes.append("Sec-WebSocket-Extensions: ").append(kDeflateOffer).append("\r\n");
  req.bytes.append("\r\n");
  return req;
}

std::string expected_accept(std::string_view key) {
  std::string joined(key);
  joined.append(kGuid);
  const auto digest = sha1(joined);
  return base64_encode(digest.data(), digest.size());
}

size_t response_head_length(std::string_view buffered) {
  const size_t end = buffered.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : end + 4;
}

UpgradeResult check_upgrade_response(std::string_view head, std::string_view key,
                                     bool offered_deflate) {
  UpgradeResult r;
  // Status line: HTTP/1.1 SP 3DIGIT SP reason (RFC 9112 §4).
  size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
    r.error = "malformed status line: " + std::string(status_line.substr(0, 80));
    return r;
  }
  for (int i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') {
      r.error = "malformed status code: " + std::string(status_line.substr(0, 80));
      return r;
    }
    r.status = r.status * 10 + (status_line[i] - '0');
  }
  // §4.1 (1): anything but 101 means the upgrade did not happen.
  if (r.status != 101) {
    r.error = "server answered " + std::string(status_line.substr(9)) + " instead of 101";
    return r;
  }

  std::string_view upgrade, connection, accept, protocol;
  std::string extensions;
  bool have_upgrade = false, have_connection = false, have_accept = false, have_ext = false;
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      r.error = "malformed header line: " + std::string(line.substr(0, 80));
      return r;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) {
      upgrade = value;
      have_upgrade = true;
    } else if (iequals(name, "connection")) {
      connection = value;
      have_connection = true;
    } else if (iequals(name, "sec-websocket-accept")) {
      accept = value;
      have_accept = true;
    } else if (iequals(name, "sec-websocket-protocol")) {
      protocol = value;
    } else if (iequals(name, "sec-websocket-extensions")) {  // may be split over several lines
      if (have_ext) extensions.append(", ");
      extensions.append(value);
      have_ext = true;
    }
  }
  // §4.1 (2), (3): Upgrade: websocket and Connection: Upgrade, case-insensitively.
  if (!have_upgrade || !iequals(upgrade, "websocket")) {
    r.error = "101 without Upgrade: websocket";
    return r;
  }
  if (!have_connection || !has_token(connection, "upgrade")) {
    r.error = "101 without Connection: Upgrade";
    return r;
  }
  // §4.1 (4): the accept value proves the server read our key.
  if (!have_accept || accept != expected_accept(key)) {
    r.error = "Sec-WebSocket-Accept missing or wrong";
    return r;
  }
  // §4.1 (5), (6): no extension or subprotocol we did not ask for.
  if (!protocol.empty()) {
    r.error = "server selected a subprotocol we did not offer";
    return r;
  }
  if (have_ext) {
    if (!offered_deflate) {
      r.error = "server answered an extension we did not offer";
      return r;
    }
    if (!parse_deflate_answer(extensions, r.deflate_params, r.error)) return r;
    r.deflate = true;
  }
  r.ok = true;
  return r;
}

}  // namespace sockudo::loadgen
