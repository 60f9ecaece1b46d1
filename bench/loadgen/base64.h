// Base64 encoding (RFC 4648 §4, with padding) for Sec-WebSocket-Key and -Accept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sockudo::loadgen {

std::string base64_encode(const uint8_t* data, size_t len);

}  // namespace sockudo::loadgen
