// The one dispatch point: the kernel table and the choice among its entries.
#include "mask_kernels.h"

namespace sockudo::simd {

static constexpr const MaskKernel* kTable[] = {
#if defined(__x86_64__)
    &detail::kMaskAvx512, &detail::kMaskAvx2, &detail::kMaskSse2,
#endif
#if defined(__aarch64__)
    &detail::kMaskNeon,
#endif
    &detail::kMaskScalar,
};

std::span<const MaskKernel> mask_kernels() {
  // Copied once into a contiguous array so callers get a span of kernels, not of pointers.
  static const auto table = [] {
    struct Arr { MaskKernel k[sizeof(kTable) / sizeof(kTable[0])]; } a{};
    for (size_t i = 0; i < sizeof(kTable) / sizeof(kTable[0]); i++) a.k[i] = *kTable[i];
    return a;
  }();
  return {table.k, sizeof(kTable) / sizeof(kTable[0])};
}

const MaskKernel& scalar_mask_kernel() { return detail::kMaskScalar; }

const MaskKernel* find_mask_kernel(std::string_view name) {
  for (const MaskKernel& k : mask_kernels())
    if (name == k.name) return &k;
  return nullptr;
}

MaskKernelChoice choose_mask_kernel(const CpuFeatures& cpu, std::string_view forced) {
  if (!forced.empty()) {
    const MaskKernel* k = find_mask_kernel(forced);
    std::string names;
    for (const MaskKernel& each : mask_kernels()) names += (names.empty() ? "" : ", ") + std::string(each.name);
    if (k == nullptr)
      return {nullptr, "unknown mask kernel '" + std::string(forced) + "' (this build has: " + names + ")"};
    if (!k->supported(cpu))
      return {nullptr, "mask kernel '" + std::string(forced) + "' is not supported by this CPU"};
    return {k, {}};
  }
  for (const MaskKernel& k : mask_kernels())
    if (k.supported(cpu)) return {&k, {}};
  return {&detail::kMaskScalar, {}};
}

}  // namespace sockudo::simd
