// Helpers shared by the kernel translation units (not part of the public mask API).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sockudo::simd::detail {

// key32 rotated so that its first byte is the key byte at `phase`.
inline uint32_t rotate_key(uint32_t key32, size_t phase) {
  uint8_t k[4], r[4];
  std::memcpy(k, &key32, 4);
  for (size_t j = 0; j < 4; j++) r[j] = k[(phase + j) & 3];
  uint32_t out;
  std::memcpy(&out, r, 4);
  return out;
}

// Portable word-at-a-time masking: eight bytes per step through memcpy (no alignment or aliasing
// assumptions), then single bytes. The scalar kernel, and the tail of kernels without masked stores.
inline void mask_words(uint8_t* dst, const uint8_t* src, size_t len, const uint8_t key[4], size_t phase) {
  uint8_t k8[8];
  for (size_t j = 0; j < 8; j++) k8[j] = key[(phase + j) & 3];
  uint64_t k64;
  std::memcpy(&k64, k8, 8);
  size_t j = 0;
  for (; j + 8 <= len; j += 8) {
    uint64_t w;
    std::memcpy(&w, src + j, 8);
    w ^= k64;
    std::memcpy(dst + j, &w, 8);
  }
  for (; j < len; j++) dst[j] = src[j] ^ k8[j & 7];
}

}  // namespace sockudo::simd::detail
