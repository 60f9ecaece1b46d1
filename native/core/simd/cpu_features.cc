#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <cstdint>
#endif

namespace sockudo::simd {

#if defined(__x86_64__) || defined(__i386__)
static uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  f.sse2 = (edx >> 26) & 1;
  const bool osxsave = (ecx >> 27) & 1;
  const bool avx = (ecx >> 28) & 1;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.avx2 = ymm_state && ((ebx >> 5) & 1);
  const bool avx512f = (ebx >> 16) & 1;
  const bool avx512bw = (ebx >> 30) & 1;
  f.avx512bw = zmm_state && avx512f && avx512bw;
  return f;
}
#elif defined(__aarch64__)
CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  f.neon = true;  // AdvSIMD is mandatory on AArch64
  return f;
}
#else
CpuFeatures detect_cpu_features() { return {}; }
#endif

}  // namespace sockudo::simd
