// The kernels compiled into this build (private to native/core/simd).
#pragma once
#include "mask.h"

namespace sockudo::simd::detail {
extern const MaskKernel kMaskScalar;
#if defined(__x86_64__)
extern const MaskKernel kMaskSse2;
extern const MaskKernel kMaskAvx2;
extern const MaskKernel kMaskAvx512;
#endif
#if defined(__aarch64__)
extern const MaskKernel kMaskNeon;
#endif
}  // namespace sockudo::simd::detail
