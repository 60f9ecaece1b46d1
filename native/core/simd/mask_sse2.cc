// SSE2 kernel (16 bytes per vector). SSE2 is part of the x86-64 baseline, but the region is
// explicit so the file reads like its siblings and also builds for 32-bit targets.
#if defined(__x86_64__)
#include <emmintrin.h>

#include "mask_kernels.h"
#include "mask_util.h"
#include "target_region.h"

SOCKUDO_TARGET_PUSH("sse2")

namespace sockudo::simd::detail {
namespace {
struct V {
  using reg = __m128i;
  static constexpr size_t width = 16;
  static reg broadcast(uint32_t k) { return _mm_set1_epi32(static_cast<int>(k)); }
  static reg load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static void store(uint8_t* p, reg v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }
  static reg xor_(reg a, reg b) { return _mm_xor_si128(a, b); }
  static void tail(uint8_t* dst, const uint8_t* src, size_t n, reg, const uint8_t key[4], size_t phase) {
    mask_words(dst, src, n, key, phase);
  }
};
#define MASK_KERNEL_FN mask_sse2
#include "mask_body.inc"
#undef MASK_KERNEL_FN
}  // namespace
// The region ends here: the table entry's feature check runs on CPUs without this ISA.
SOCKUDO_TARGET_POP()

const MaskKernel kMaskSse2 = {"sse2", [](const CpuFeatures& f) { return f.sse2; }, mask_sse2};
}  // namespace sockudo::simd::detail
#endif
