#include "core/handshake/base64.h"

namespace sockudo::handshake {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 6-bit value of an alphabet character, or -1.
constexpr int sextet(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void base64_encode(const uint8_t* in, size_t n, char* out) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = kAlphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{in[i]} << 16;
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = '=';
    *out++ = '=';
  } else if (n - i == 2) {
    uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8;
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = '=';
  }
}

std::string base64_encode(const uint8_t* in, size_t n) {
  std::string s(base64_encoded_size(n), '\0');
  base64_encode(in, n, s.data());
  return s;
}

std::optional<size_t> base64_decode(std::string_view in, uint8_t* out, size_t cap) {
  if (in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  const size_t len = in.size() / 4 * 3 - pad;
  if (len > cap) return std::nullopt;

  size_t o = 0;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const size_t data_chars = last ? 4 - pad : 4;  // '=' before this point is an error below
    uint32_t v = 0;
    for (size_t j = 0; j < 4; j++) {
      int s = 0;
      if (j < data_chars) {
        s = sextet(static_cast<uint8_t>(in[i + j]));
        if (s < 0) return std::nullopt;
      }
      v = v << 6 | static_cast<uint32_t>(s);
    }
    out[o++] = static_cast<uint8_t>(v >> 16);
    if (data_chars >= 3) out[o++] = static_cast<uint8_t>(v >> 8);
    if (data_chars == 4) out[o++] = static_cast<uint8_t>(v);
    // RFC 4648 §3.5: the bits a padded quantum leaves unused must be zero for the encoding to be
    // canonical; rejecting them keeps "one key, one spelling".
    if (last && pad == 1 && (v & 0xFF) != 0) return std::nullopt;
    if (last && pad == 2 && (v & 0xFFFF) != 0) return std::nullopt;
  }
  return o;
}

}  // namespace sockudo::handshake
