// AVX2 kernel (32 bytes per vector), compiled in a target region and used only when the CPU and
// OS support it.
#if defined(__x86_64__)
#include <immintrin.h>

#include "mask_kernels.h"
#include "mask_util.h"
#include "target_region.h"

SOCKUDO_TARGET_PUSH("avx2")

namespace sockudo::simd::detail {
namespace {
struct V {
  using reg = __m256i;
  static constexpr size_t width = 32;
  static reg broadcast(uint32_t k) { return _mm256_set1_epi32(static_cast<int>(k)); }
  static reg load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void store(uint8_t* p, reg v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static reg xor_(reg a, reg b) { return _mm256_xor_si256(a, b); }
  static void tail(uint8_t* dst, const uint8_t* src, size_t n, reg k, const uint8_t key[4], size_t phase) {
    if (n >= 16) {  // one 16-byte step with the low half of the key vector (same phase)
      const __m128i k128 = _mm256_castsi256_si128(k);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                       _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)), k128));
      dst += 16, src += 16, n -= 16;
    }
    mask_words(dst, src, n, key, phase);
  }
};
#define MASK_KERNEL_FN mask_avx2
#include "mask_body.inc"
#undef MASK_KERNEL_FN
}  // namespace
// The region ends here: the table entry's feature check runs on CPUs without this ISA.
SOCKUDO_TARGET_POP()

const MaskKernel kMaskAvx2 = {"avx2", [](const CpuFeatures& f) { return f.avx2; }, mask_avx2};
}  // namespace sockudo::simd::detail
#endif
