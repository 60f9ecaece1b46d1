// Sec-WebSocket-Key / Sec-WebSocket-Accept (RFC 6455 §4.1, §4.2.2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockudo::handshake {

// The GUID every endpoint appends to the key (RFC 6455 §1.3, §4.2.2).
inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

constexpr size_t kKeyBytes = 16;       // the nonce is 16 random bytes (§4.1)
constexpr size_t kKeyLength = 24;      // base64 of 16 bytes
constexpr size_t kAcceptLength = 28;   // base64 of a 20-byte SHA-1 digest

using AcceptKey = std::array<char, kAcceptLength>;

// base64(SHA-1(key + GUID)), §4.2.2 step 5. `key` is used exactly as received (OWS already
// trimmed by the head parser), never re-encoded.
AcceptKey compute_accept_key(std::string_view key);

inline std::string_view as_view(const AcceptKey& k) { return {k.data(), k.size()}; }

// Whether `key` is a valid Sec-WebSocket-Key: canonical base64 of exactly 16 bytes (§4.1,
// §11.3.1).
bool is_valid_key(std::string_view key);

// A fresh key from 16 random bytes (§4.1: "randomly selected", from the caller's CSPRNG).
std::array<char, kKeyLength> make_key(const uint8_t nonce[kKeyBytes]);

}  // namespace sockudo::handshake
