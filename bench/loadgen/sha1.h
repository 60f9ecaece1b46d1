// SHA-1 (FIPS 180-4 §6.1), only for the handshake's Sec-WebSocket-Accept check (RFC 6455 §4.1).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sockudo::loadgen {

std::array<uint8_t, 20> sha1(std::string_view data);

}  // namespace sockudo::loadgen
