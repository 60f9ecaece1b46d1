// WebSocket masking (RFC 6455 §5.3): out[i] = in[i] ^ key[(phase + i) % 4]. Masking and unmasking
// are the same operation. Each kernel has the scalar kernel as its twin; the caller picks one
// kernel once (choose_mask_kernel) and keeps the pointer — there is no global dispatch state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "cpu_features.h"

namespace sockudo::simd {

// dst and src may be equal (in place) but must not otherwise overlap. key32 holds the four key
// bytes in memory order, already rotated to the phase of src[0] (see key_at_phase).
using MaskApplyFn = void (*)(uint8_t* dst, const uint8_t* src, size_t len, uint32_t key32);

struct MaskKernel {
  const char* name;
  bool (*supported)(const CpuFeatures&);
  MaskApplyFn apply;
};

// Every kernel compiled into this build, best first; "scalar" is always last.
std::span<const MaskKernel> mask_kernels();
const MaskKernel& scalar_mask_kernel();
const MaskKernel* find_mask_kernel(std::string_view name);

struct MaskKernelChoice {
  const MaskKernel* kernel = nullptr;  // null when `error` is set
  std::string error;
};
// The best kernel `cpu` supports, or the one named by `forced` (non-empty). An unknown or
// unsupported forced name is an error, never a silent fallback.
MaskKernelChoice choose_mask_kernel(const CpuFeatures& cpu, std::string_view forced);

// The key word for a payload position whose key phase is `phase` (0..3, or any offset: only
// phase % 4 matters).
inline uint32_t key_at_phase(const uint8_t key[4], size_t phase) {
  uint8_t rotated[4];
  for (size_t i = 0; i < 4; i++) rotated[i] = key[(phase + i) & 3];
  uint32_t k;
  std::memcpy(&k, rotated, 4);
  return k;
}

// Masks len bytes starting at key phase `phase`; returns the phase after them, so a payload that
// arrives in pieces is masked by calling this once per piece.
inline size_t apply_mask(const MaskKernel& kernel, uint8_t* dst, const uint8_t* src, size_t len,
                         const uint8_t key[4], size_t phase) {
  kernel.apply(dst, src, len, key_at_phase(key, phase));
  return (phase + len) & 3;
}

}  // namespace sockudo::simd
