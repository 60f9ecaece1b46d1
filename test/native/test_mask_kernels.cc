// Every mask kernel this build has, run on this CPU where supported, against the scalar twin and
// against a byte-at-a-time reference: lengths 0..4096 and large sizes, every key phase, source
// and destination alignments 0..63, in place and out of place. A kernel the CPU cannot run is
// reported as skipped, never as passed.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/simd/mask.h"
#include "harness.h"

using namespace sockudo::simd;

namespace {

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

void reference_mask(uint8_t* dst, const uint8_t* src, size_t n, size_t phase) {
  for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ kKey[(phase + i) & 3];
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Runs `fn` for one kernel or records the skip; returns false when skipped.
bool runnable(const MaskKernel& k) {
  static const CpuFeatures cpu = detect_cpu_features();
  if (!k.supported(cpu)) {
    harness::skip(std::string("this CPU cannot run the ") + k.name + " kernel; it was compiled and is in the dispatch table");
    return false;
  }
  return true;
}

// Compares kernel output with the scalar twin and the reference for one (len, phase, alignment).
// Guard bytes around the destination catch writes outside [dst, dst+len).
bool check_one(const MaskKernel& k, const std::vector<uint8_t>& data, size_t len, size_t phase, size_t src_align,
               size_t dst_align, bool in_place, std::string* why) {
  constexpr size_t kGuard = 64;
  std::vector<uint8_t> src_buf(len + 128 + 2 * kGuard);
  std::vector<uint8_t> dst_buf(len + 128 + 2 * kGuard, 0xA5);
  // Align relative to a 64-byte boundary inside the buffers.
  auto aligned = [](std::vector<uint8_t>& b, size_t off) {
    uintptr_t base = reinterpret_cast<uintptr_t>(b.data()) + kGuard;
    base = (base + 63) & ~uintptr_t{63};
    return reinterpret_cast<uint8_t*>(base + off);
  };
  uint8_t* src = aligned(src_buf, src_align);
  std::memcpy(src, data.data(), len);
  uint8_t* dst = in_place ? src : aligned(dst_buf, dst_align);

  std::vector<uint8_t> expect(len), twin(len);
  reference_mask(expect.data(), data.data(), len, phase);
  apply_mask(scalar_mask_kernel(), twin.data(), data.data(), len, kKey, phase);
  if (twin != expect) {
    *why = "scalar twin differs from the reference";
    return false;
  }
  const size_t next = apply_mask(k, dst, src, len, kKey, phase);
  if (next != ((phase + len) & 3)) {
    *why = "returned phase " + std::to_string(next);
    return false;
  }
  if (len != 0 && std::memcmp(dst, expect.data(), len) != 0) {
    *why = "output differs from scalar";
    return false;
  }
  if (!in_place) {
    if (len != 0 && std::memcmp(src, data.data(), len) != 0) {
      *why = "source modified by an out-of-place mask";
      return false;
    }
    for (uint8_t* p = dst_buf.data(); p < dst; p++)
      if (*p != 0xA5) { *why = "wrote before dst"; return false; }
    for (uint8_t* p = dst + len; p < dst_buf.data() + dst_buf.size(); p++)
      if (*p != 0xA5) { *why = "wrote past dst+len"; return false; }
  }
  return true;
}

void exhaustive(const char* name) {
  const MaskKernel* k = find_mask_kernel(name);
  if (k == nullptr) {
    harness::skip(std::string(name) + " kernel is not compiled on this architecture");
    return;
  }
  if (!runnable(*k)) return;
  const auto data = random_bytes(4096 + 64, 1);
  std::string why;
  // Every length 0..4096 at every key phase, aligned and in place / out of place.
  for (size_t len = 0; len <= 4096; len++)
    for (size_t phase = 0; phase < 4; phase++)
      for (bool in_place : {false, true})
        REQUIRE_MSG(check_one(*k, data, len, phase, 0, 0, in_place, &why),
                    why + " (len " + std::to_string(len) + ", phase " + std::to_string(phase) + ")");
  // Every source and destination alignment 0..63 (a grid over lengths that cover head, body
  // and tail paths of every vector width).
  for (size_t len : {0, 1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4096})
    for (size_t sa = 0; sa < 64; sa++)
      for (size_t da = 0; da < 64; da += (sa % 7 == 0 ? 1 : 9))
        for (size_t phase = 0; phase < 4; phase++) {
          REQUIRE_MSG(check_one(*k, data, len, phase, sa, da, false, &why),
                      why + " (len " + std::to_string(len) + ", src align " + std::to_string(sa) + ", dst align " +
                          std::to_string(da) + ")");
          REQUIRE_MSG(check_one(*k, data, len, phase, sa, sa, true, &why),
                      why + " (in place, len " + std::to_string(len) + ", align " + std::to_string(sa) + ")");
        }
}

void large_and_resumed(const char* name) {
  const MaskKernel* k = find_mask_kernel(name);
  if (k == nullptr) {
    harness::skip(std::string(name) + " kernel is not compiled on this architecture");
    return;
  }
  if (!runnable(*k)) return;
  std::string why;
  for (size_t len : {size_t{65535}, size_t{65536}, size_t{1} << 20, (size_t{1} << 20) + 13, size_t{16} << 20}) {
    const auto data = random_bytes(len, static_cast<uint32_t>(len));
    for (size_t phase : {0, 3})
      REQUIRE_MSG(check_one(*k, data, len, phase, 5, 11, false, &why), why + " (len " + std::to_string(len) + ")");
  }
  // Masking resumed across arbitrary piece boundaries equals masking in one call.
  const auto data = random_bytes(10007, 7);
  std::vector<uint8_t> whole(data.size()), pieces(data.size());
  apply_mask(scalar_mask_kernel(), whole.data(), data.data(), data.size(), kKey, 0);
  std::mt19937 rng(3);
  for (int round = 0; round < 200; round++) {
    size_t off = 0, phase = 0;
    while (off < data.size()) {
      size_t n = std::min<size_t>(data.size() - off, rng() % 300);
      phase = apply_mask(*k, pieces.data() + off, data.data() + off, n, kKey, phase);
      off += n;
    }
    REQUIRE_MSG(pieces == whole, "resumed masking differs in round " + std::to_string(round));
  }
}

}  // namespace

TEST(scalar_matches_reference) { exhaustive("scalar"); }
TEST(sse2_matches_scalar) { exhaustive("sse2"); }
TEST(avx2_matches_scalar) { exhaustive("avx2"); }
TEST(avx512_matches_scalar) { exhaustive("avx512"); }
TEST(neon_matches_scalar) { exhaustive("neon"); }
TEST(sse2_large_and_resumed) { large_and_resumed("sse2"); }
TEST(avx2_large_and_resumed) { large_and_resumed("avx2"); }
TEST(avx512_large_and_resumed) { large_and_resumed("avx512"); }
TEST(neon_large_and_resumed) { large_and_resumed("neon"); }
TEST(scalar_large_and_resumed) { large_and_resumed("scalar"); }

TEST(dispatch_picks_best_supported) {
  const CpuFeatures cpu = detect_cpu_features();
  const auto choice = choose_mask_kernel(cpu, "");
  REQUIRE(choice.kernel != nullptr);
  CHECK(choice.error.empty());
  // The first supported entry of the table, which is ordered best first.
  for (const MaskKernel& k : mask_kernels()) {
    if (k.supported(cpu)) {
      CHECK_EQ(std::string(choice.kernel->name), std::string(k.name));
      break;
    }
  }
  std::printf("       (this CPU: best kernel %s)\n", choice.kernel->name);
}

TEST(dispatch_with_features_masked_off) {
  // What a CPU without AVX-512/AVX2 would get: dispatch follows the features, not the build.
  CpuFeatures none;
  CHECK_EQ(std::string(choose_mask_kernel(none, "").kernel->name), std::string("scalar"));
#if defined(__x86_64__)
  CpuFeatures sse2_only;
  sse2_only.sse2 = true;
  CHECK_EQ(std::string(choose_mask_kernel(sse2_only, "").kernel->name), std::string("sse2"));
  CpuFeatures avx2;
  avx2.sse2 = avx2.avx2 = true;
  CHECK_EQ(std::string(choose_mask_kernel(avx2, "").kernel->name), std::string("avx2"));
  CpuFeatures avx512 = avx2;
  avx512.avx512bw = true;
  CHECK_EQ(std::string(choose_mask_kernel(avx512, "").kernel->name), std::string("avx512"));
#endif
}

TEST(forced_kernel_by_name) {
  const CpuFeatures cpu = detect_cpu_features();
  auto scalar = choose_mask_kernel(cpu, "scalar");
  REQUIRE(scalar.kernel != nullptr);
  CHECK_EQ(std::string(scalar.kernel->name), std::string("scalar"));
  auto unknown = choose_mask_kernel(cpu, "avx1024");
  CHECK(unknown.kernel == nullptr);
  CHECK(unknown.error.find("unknown mask kernel 'avx1024'") != std::string::npos);
  CpuFeatures none;
#if defined(__x86_64__)
  auto unsupported = choose_mask_kernel(none, "avx2");
  CHECK(unsupported.kernel == nullptr);
  CHECK(unsupported.error.find("not supported by this CPU") != std::string::npos);
#endif
}

TEST(kernel_table_is_complete) {
  std::string names;
  for (const MaskKernel& k : mask_kernels()) names += std::string(k.name) + " ";
#if defined(__x86_64__)
  CHECK_EQ(names, std::string("avx512 avx2 sse2 scalar "));
#elif defined(__aarch64__)
  CHECK_EQ(names, std::string("neon scalar "));
#else
  CHECK_EQ(names, std::string("scalar "));
#endif
}
