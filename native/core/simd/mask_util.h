// Helpers shared by the kernel translation units (not part of the public mask API).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "key rotation by shifts assumes little-endian");

namespace sockudo::simd::detail {

// key32 (key bytes in memory order) rotated so that its first byte is the key byte at `phase`.
inline uint32_t rotate_key(uint32_t key32, size_t phase) {
  const unsigned s = static_cast<unsigned>(phase & 3) * 8;
  return s == 0 ? key32 : (key32 >> s) | (key32 << (32 - s));
}

// Portable word-at-a-time masking: eight bytes per step through memcpy (no alignment or aliasing
// assumptions), then single bytes. The scalar kernel, and the head and tail of kernels without
// masked stores.
inline void mask_words(uint8_t* dst, const uint8_t* src, size_t len, const uint8_t key[4], size_t phase) {
  uint32_t k32;
  std::memcpy(&k32, key, 4);
  k32 = rotate_key(k32, phase);
  uint64_t k64 = (static_cast<uint64_t>(k32) << 32) | k32;
  size_t j = 0;
  for (; j + 8 <= len; j += 8) {
    uint64_t w;
    std::memcpy(&w, src + j, 8);
    w ^= k64;
    std::memcpy(dst + j, &w, 8);
  }
  for (; j < len; j++, k64 >>= 8) dst[j] = src[j] ^ static_cast<uint8_t>(k64);
}

}  // namespace sockudo::simd::detail
