// The client side of the opening handshake (RFC 6455 §4.1): the upgrade request we write and the
// checks on the server's answer, including the permessage-deflate answer (RFC 7692 §7.1).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "deflate.h"

namespace sockudo::loadgen {

// The answer's head is cut off beyond this many bytes (a sane server's 101 is ~200 bytes).
inline constexpr size_t kMaxResponseHead = 16 * 1024;

struct UpgradeRequest {
  std::string key;    // the Sec-WebSocket-Key nonce: base64 of 16 random bytes (§4.1 item 7)
  std::string bytes;  // the whole request head, ready to write
};

UpgradeRequest make_upgrade_request(std::string_view host_header, std::string_view path,
                                    bool offer_deflate);

// base64(SHA-1(key + the §1.3 GUID)), what the server must answer in Sec-WebSocket-Accept.
std::string expected_accept(std::string_view key);

// Length of the response head including its blank line, or 0 while it is incomplete.
size_t response_head_length(std::string_view buffered);

struct UpgradeResult {
  bool ok = false;
  std::string error;  // why the connection must fail (§4.1: "the client MUST Fail ...")
  int status = 0;
  bool deflate = false;
  DeflateParams deflate_params;
};

UpgradeResult check_upgrade_response(std::string_view head, std::string_view key,
                                     bool offered_deflate);

}  // namespace sockudo::loadgen
