// The scalar twin every SIMD kernel is tested against: eight bytes per step, baseline ISA.
#include "mask_kernels.h"
#include "mask_util.h"

namespace sockudo::simd::detail {

#if defined(__GNUC__) && !defined(__clang__)
// Keep the twin scalar: at -O2 GCC would otherwise vectorize it with SSE2.
__attribute__((optimize("no-tree-vectorize")))
#endif
static void mask_scalar(uint8_t* dst, const uint8_t* src, size_t len, uint32_t key32) {
  uint8_t key[4];
  std::memcpy(key, &key32, 4);
  mask_words(dst, src, len, key, 0);
}

const MaskKernel kMaskScalar = {"scalar", [](const CpuFeatures&) { return true; }, mask_scalar};

}  // namespace sockudo::simd::detail
