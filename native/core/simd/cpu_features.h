// CPU features that decide which mask kernel may run. Pure: reads cpuid/xgetbv (instructions,
// not syscalls), never the environment.
#pragma once

namespace sockudo::simd {

struct CpuFeatures {
  bool sse2 = false;
  bool avx2 = false;      // AVX2 and the OS saves YMM state
  bool avx512bw = false;  // AVX-512 F+BW and the OS saves ZMM/opmask state
  bool neon = false;      // AdvSIMD (baseline on aarch64)
};

// Features of the CPU this code runs on.
CpuFeatures detect_cpu_features();

}  // namespace sockudo::simd
