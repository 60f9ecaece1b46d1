// NEON kernel (16 bytes per vector), AArch64 only, where AdvSIMD is baseline.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "mask_kernels.h"
#include "mask_util.h"

namespace sockudo::simd::detail {
namespace {
struct V {
  using reg = uint8x16_t;
  static constexpr size_t width = 16;
  static reg broadcast(uint32_t k) { return vreinterpretq_u8_u32(vdupq_n_u32(k)); }
  static reg load(const uint8_t* p) { return vld1q_u8(p); }
  static void store(uint8_t* p, reg v) { vst1q_u8(p, v); }
  static reg xor_(reg a, reg b) { return veorq_u8(a, b); }
  static void tail(uint8_t* dst, const uint8_t* src, size_t n, reg, const uint8_t key[4], size_t phase) {
    mask_words(dst, src, n, key, phase);
  }
};
#define MASK_KERNEL_FN mask_neon
#include "mask_body.inc"
#undef MASK_KERNEL_FN
}  // namespace

const MaskKernel kMaskNeon = {"neon", [](const CpuFeatures& f) { return f.neon; }, mask_neon};
}  // namespace sockudo::simd::detail
#endif
