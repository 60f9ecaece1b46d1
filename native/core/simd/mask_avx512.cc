// AVX-512 kernel (64 bytes per vector; F+BW for byte-masked loads and stores, so the tail never
// touches a byte outside [src, src+len) or [dst, dst+len)).
#if defined(__x86_64__)
#include <immintrin.h>

#include "mask_kernels.h"
#include "mask_util.h"
#include "target_region.h"

SOCKUDO_TARGET_PUSH("avx512f,avx512bw")

namespace sockudo::simd::detail {
namespace {
struct V {
  using reg = __m512i;
  static constexpr size_t width = 64;
  static reg broadcast(uint32_t k) { return _mm512_set1_epi32(static_cast<int>(k)); }
  static reg load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static void store(uint8_t* p, reg v) { _mm512_storeu_si512(p, v); }
  static reg xor_(reg a, reg b) { return _mm512_xor_si512(a, b); }
  static void tail(uint8_t* dst, const uint8_t* src, size_t n, reg k, const uint8_t*, size_t) {
    if (n == 0) return;
    const __mmask64 m = (1ULL << n) - 1;  // n < 64 here
    _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), k));
  }
};
#define MASK_KERNEL_FN mask_avx512
#include "mask_body.inc"
#undef MASK_KERNEL_FN
}  // namespace
// The region ends here: the table entry's feature check runs on CPUs without this ISA.
SOCKUDO_TARGET_POP()

const MaskKernel kMaskAvx512 = {"avx512", [](const CpuFeatures& f) { return f.avx512bw; }, mask_avx512};
}  // namespace sockudo::simd::detail
#endif
