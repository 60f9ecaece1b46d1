// Base64 (RFC 4648 §4, standard alphabet, padded) for Sec-WebSocket-Key and
// Sec-WebSocket-Accept (RFC 6455 §4.1, §4.2.2). Decoding is strict: only the canonical encoding
// of some byte string is accepted, so a key has exactly one spelling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sockudo::handshake {

constexpr size_t base64_encoded_size(size_t n) { return (n + 2) / 3 * 4; }

// Writes base64_encoded_size(n) characters to out (no terminator).
void base64_encode(const uint8_t* in, size_t n, char* out);
std::string base64_encode(const uint8_t* in, size_t n);

// Decodes `in` into out[0..cap) and returns the decoded length, or nullopt when `in` is not
// canonical padded base64 (RFC 4648 §4): length not a multiple of 4, a character outside the
// alphabet, '=' anywhere but the last one or two positions, non-zero pad bits (§3.5), or a
// result longer than cap. Nothing is written past cap.
std::optional<size_t> base64_decode(std::string_view in, uint8_t* out, size_t cap);

}  // namespace sockudo::handshake
