// Mask kernels and UTF-8 validation throughput.
//  - Masking: for each kernel this CPU supports, forced one by one, and each size 16 B .. 1 MiB:
//    GB/s of out-of-place masking beside memcpy of the same size (the bandwidth ceiling for a
//    streaming byte operation).
//  - UTF-8: our validator (utf8::is_valid, what the parser calls) beside simdutf's
//    validate_utf8 called directly, on ASCII and mixed text from 64 B to 1 MiB: the cost of our
//    wrapper, which should be none.
// Each figure is the median of 7 timed rounds with the spread (min..max). Markdown goes to
// stdout; `--json FILE` also writes every round's figure (bench/run.mjs reads it).
//
// Run with `npm run bench:native` (pins itself to one core). Numbers on a shared machine are
// noisy: compare columns measured in the same run, not numbers across runs.
#include <simdutf.h>

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

// GB/s of each timed round, in the order measured.
using Rounds = std::vector<double>;

// Runs fn(iterations) for ~target seconds per round, `rounds` times.
template <typename Fn>
Rounds measure(size_t bytes_per_call, Fn&& fn, int rounds = 7, double target = 0.02) {
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
  Rounds gbps;
  for (int r = 0; r < rounds; r++) {
    auto t0 = Clock::now();
    fn(iters);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    gbps.push_back(static_cast<double>(bytes_per_call) * iters / s / 1e9);
  }
  return gbps;
}

std::string fmt(const Rounds& r) {
  Rounds s = r;
  std::sort(s.begin(), s.end());
  char b[64];
  std::snprintf(b, sizeof b, "%6.2f (%.2f–%.2f)", s[s.size() / 2], s.front(), s.back());
  return b;
}

std::string human(size_t n) {
  if (n >= (1u << 20)) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " B";
}

// One benchmark row: a case (e.g. "mask 1 KiB") and the rounds of each contender in it.
struct Row {
  std::string group, title;
  size_t bytes;
  std::vector<std::pair<std::string, Rounds>> contenders;
};

std::string json_rounds(const Rounds& r) {
  std::string s = "[";
  for (size_t i = 0; i < r.size(); i++) {
    char b[32];
    std::snprintf(b, sizeof b, "%s%.4f", i ? "," : "", r[i]);
    s += b;
  }
  return s + "]";
}

// The instruction set this binary was built for: results of different architectures are only
// comparable side by side when each says which it is.
constexpr const char* kArch =
#if defined(__x86_64__)
    "x86_64";
#elif defined(__aarch64__)
    "aarch64";
#else
    "other";
#endif

bool write_json(const char* path, const std::vector<Row>& rows, const std::vector<std::string>& kernels) {
  FILE* f = std::fopen(path, "w");
  if (f == nullptr) return false;
  std::fprintf(f, "{\"unit\":\"GB/s\",\"arch\":\"%s\",\"simdutf\":\"%s\",\"simdutf_implementation\":\"%s\",\"kernels\":[", kArch,
               SIMDUTF_VERSION, utf8::active_implementation());
  for (size_t i = 0; i < kernels.size(); i++) std::fprintf(f, "%s\"%s\"", i ? "," : "", kernels[i].c_str());
  std::fprintf(f, "],\"rows\":[");
  for (size_t i = 0; i < rows.size(); i++) {
    const Row& r = rows[i];
    std::fprintf(f, "%s{\"group\":\"%s\",\"title\":\"%s\",\"bytes\":%zu,\"results\":{", i ? "," : "", r.group.c_str(), r.title.c_str(), r.bytes);
    for (size_t j = 0; j < r.contenders.size(); j++)
      std::fprintf(f, "%s\"%s\":%s", j ? "," : "", r.contenders[j].first.c_str(), json_rounds(r.contenders[j].second).c_str());
    std::fprintf(f, "}}");
  }
  std::fprintf(f, "]}\n");
  return std::fclose(f) == 0;
}

std::vector<uint8_t> text_of(const std::string& unit, size_t n) {
  std::vector<uint8_t> v;
  while (v.size() < n) v.insert(v.end(), unit.begin(), unit.end());
  v.resize(n);
  while (!utf8::is_valid(v.data(), v.size())) v.pop_back();  // do not end inside a code point
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const char* json_path = nullptr;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_kernels [--json FILE]\n");
      return 2;
    }
  }
  const simd::CpuFeatures cpu = simd::detect_cpu_features();
  std::vector<const simd::MaskKernel*> kernels;
  std::vector<std::string> names;
  for (const auto& k : simd::mask_kernels()) {
    if (k.supported(cpu)) {
      kernels.push_back(&k);
      names.push_back(k.name);
    }
  }
  std::vector<Row> rows;
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  const std::vector<size_t> sizes = {16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};

  std::printf("Architecture: %s; mask kernels this CPU runs:", kArch);
  for (auto* k : kernels) std::printf(" %s", k->name);
  std::printf("; simdutf implementation: %s\n\n", utf8::active_implementation());
  std::printf("## Masking, GB/s: median (min–max) of 7 rounds, out of place\n\n| size | memcpy |");
  for (auto* k : kernels) std::printf(" %s |", k->name);
  std::printf("\n|---|---|");
  for (size_t i = 0; i < kernels.size(); i++) std::printf("---|");
  std::printf("\n");
  std::vector<uint8_t> src(sizes.back() + 64), dst(sizes.back() + 64);
  for (size_t i = 0; i < src.size(); i++) src[i] = static_cast<uint8_t>(i * 131);
  for (size_t n : sizes) {
    Row row{"mask", "mask " + human(n), n, {}};
    row.contenders.emplace_back("memcpy", measure(n, [&](size_t it) {
      for (size_t i = 0; i < it; i++) {
        std::memcpy(dst.data(), src.data(), n);
        __asm__ volatile("" : : "r"(dst.data()) : "memory");
      }
    }));
    for (auto* k : kernels) {
      row.contenders.emplace_back(k->name, measure(n, [&](size_t it) {
        for (size_t i = 0; i < it; i++) {
          simd::apply_mask(*k, dst.data(), src.data(), n, key, 0);
          __asm__ volatile("" : : "r"(dst.data()) : "memory");
        }
      }));
    }
    std::printf("| %s |", human(n).c_str());
    for (auto& [name, r] : row.contenders) std::printf(" %s |", fmt(r).c_str());
    std::printf("\n");
    g_sink = dst[0];
    rows.push_back(std::move(row));
  }

  std::printf("\n## UTF-8 validation, GB/s: median (min–max); ours = utf8::is_valid, simdutf %s (%s) = simdutf::validate_utf8\n\n"
              "| input | size | ours | simdutf |\n|---|---|---|---|\n",
              SIMDUTF_VERSION, utf8::active_implementation());
  for (auto [name, unit] : {std::pair<const char*, std::string>{"ASCII", "The quick brown fox jumps over the lazy dog. "},
                            {"mixed", "héllo wörld κόσμε 日本語 💩 "}}) {
    for (size_t n : {size_t{64}, size_t{1024}, size_t{65536}, size_t{1} << 20}) {
      auto v = text_of(unit, n);
      bool ok = true;
      Row row{"utf8", std::string("UTF-8 ") + name + " " + human(n), v.size(), {}};
      row.contenders.emplace_back("ours", measure(v.size(), [&](size_t it) {
        for (size_t i = 0; i < it; i++) ok &= utf8::is_valid(v.data(), v.size());
      }));
      row.contenders.emplace_back("simdutf", measure(v.size(), [&](size_t it) {
        for (size_t i = 0; i < it; i++) ok &= simdutf::validate_utf8(reinterpret_cast<const char*>(v.data()), v.size());
      }));
      if (!ok) return 1;
      std::printf("| %s | %s | %s | %s |\n", name, human(n).c_str(), fmt(row.contenders[0].second).c_str(),
                  fmt(row.contenders[1].second).c_str());
      rows.push_back(std::move(row));
    }
  }
  if (json_path != nullptr && !write_json(json_path, rows, names)) {
    std::fprintf(stderr, "bench_kernels: cannot write %s\n", json_path);
    return 1;
  }
  return 0;
}
