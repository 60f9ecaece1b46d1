// Mask kernels and UTF-8 validation throughput. For each kernel this CPU supports and each size
// 16 B .. 1 MiB: GB/s of out-of-place masking beside memcpy of the same size (the bandwidth
// ceiling for a streaming byte operation), as the median of several timed rounds, with the spread
// (min..max). Then simdutf UTF-8 validation on ASCII and mixed text.
//
// Run with `npm run bench:native` (pins itself to one core). Numbers on a shared machine are
// noisy: compare columns measured in the same run, not numbers across runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/simd/mask.h"
#include "core/utf8/utf8.h"

using namespace sockudo;
using Clock = std::chrono::steady_clock;

namespace {

volatile uint8_t g_sink;

struct Stat {
  double median, lo, hi;
};

// Runs fn(iterations) for ~target seconds per round, `rounds` times; returns GB/s statistics.
template <typename Fn>
Stat measure(size_t bytes_per_call, Fn&& fn, int rounds = 7, double target = 0.02) {
  size_t iters = 1;
  for (;;) {  // calibrate
    auto t0 = Clock::now();
    fn(iters);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > target / 4 || iters > (size_t{1} << 30)) {
      iters = std::max<size_t>(1, static_cast<size_t>(iters * target / std::max(s, 1e-9)));
      break;
    }
    iters *= 4;
  }
  std::vector<double> gbps;
  for (int r = 0; r < rounds; r++) {
    auto t0 = Clock::now();
    fn(iters);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    gbps.push_back(static_cast<double>(bytes_per_call) * iters / s / 1e9);
  }
  std::sort(gbps.begin(), gbps.end());
  return {gbps[gbps.size() / 2], gbps.front(), gbps.back()};
}

std::string fmt(const Stat& s) {
  char b[64];
  std::snprintf(b, sizeof b, "%6.2f (%.2f–%.2f)", s.median, s.lo, s.hi);
  return b;
}

std::string human(size_t n) {
  if (n >= (1u << 20)) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " B";
}

}  // namespace

int main() {
  const simd::CpuFeatures cpu = simd::detect_cpu_features();
  std::vector<const simd::MaskKernel*> kernels;
  for (const auto& k : simd::mask_kernels())
    if (k.supported(cpu)) kernels.push_back(&k);
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  const std::vector<size_t> sizes = {16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};

  std::printf("## Masking, GB/s: median (min–max) of 7 rounds, out of place\n\n| size | memcpy |");
  for (auto* k : kernels) std::printf(" %s |", k->name);
  std::printf("\n|---|---|");
  for (size_t i = 0; i < kernels.size(); i++) std::printf("---|");
  std::printf("\n");
  std::vector<uint8_t> src(sizes.back() + 64), dst(sizes.back() + 64);
  for (size_t i = 0; i < src.size(); i++) src[i] = static_cast<uint8_t>(i * 131);
  for (size_t n : sizes) {
    Stat copy = measure(n, [&](size_t it) {
      for (size_t i = 0; i < it; i++) {
        std::memcpy(dst.data(), src.data(), n);
        __asm__ volatile("" : : "r"(dst.data()) : "memory");
      }
    });
    std::printf("| %s | %s |", human(n).c_str(), fmt(copy).c_str());
    for (auto* k : kernels) {
      Stat s = measure(n, [&](size_t it) {
        for (size_t i = 0; i < it; i++) {
          simd::apply_mask(*k, dst.data(), src.data(), n, key, 0);
          __asm__ volatile("" : : "r"(dst.data()) : "memory");
        }
      });
      std::printf(" %s |", fmt(s).c_str());
    }
    std::printf("\n");
    g_sink = dst[0];
  }

  std::printf("\n## UTF-8 validation (simdutf %s), GB/s: median (min–max)\n\n| input | 64 KiB | 1 MiB |\n|---|---|---|\n",
              utf8::active_implementation());
  auto text = [](const std::string& unit, size_t n) {
    std::vector<uint8_t> v;
    while (v.size() < n) v.insert(v.end(), unit.begin(), unit.end());
    v.resize(n);
    while (!utf8::is_valid(v.data(), v.size())) v.pop_back();
    return v;
  };
  for (auto [name, unit] : {std::pair<const char*, std::string>{"ASCII", "The quick brown fox jumps over the lazy dog. "},
                            {"mixed (Latin, Greek, CJK, emoji)", "héllo wörld κόσμε 日本語 💩 "}}) {
    std::printf("| %s |", name);
    for (size_t n : {size_t{65536}, size_t{1} << 20}) {
      auto v = text(unit, n);
      bool ok = true;
      Stat s = measure(v.size(), [&](size_t it) {
        for (size_t i = 0; i < it; i++) ok &= utf8::is_valid(v.data(), v.size());
      });
      if (!ok) return 1;
      std::printf(" %s |", fmt(s).c_str());
    }
    std::printf("\n");
  }
  return 0;
}
