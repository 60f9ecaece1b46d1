// fuzz_mask: every mask kernel this CPU supports against the scalar kernel and against a one-line
// reference (out[i] = in[i] ^ key[(phase + i) % 4], RFC 6455 §5.3).
//
// Input layout:
//   [0-1] length (u16 & 0x3FFF: 0..16383, past the AVX-512 aligned-head threshold of 1024)
//   [2-5] key
//   [6]   bits 0-1 phase, bit 2 in place, bit 3 also in two pieces (apply_mask's returned phase)
//   [7]   src misalignment (0..63)   [8] dst misalignment (0..63)
//   [9-10] where the two pieces split (u16 mod length + 1)
//   [data] repeated to the length (xorshift bytes when empty)
//
// Buffers are allocated 64-byte aligned at exactly misalignment + length bytes, so ASan reports a
// kernel that reads or writes past the end; bytes before dst and the source (when not in place)
// must be untouched.
#pragma once

#include <cstdint>
#include <new>
#include <vector>

#include "core/simd/mask.h"
#include "fuzz_common.h"

namespace fuzz_mask {

using namespace sockudo::simd;

struct Buffer {
  explicit Buffer(size_t n) : p(static_cast<uint8_t*>(::operator new(n ? n : 1, std::align_val_t(64)))), size(n) {}
  ~Buffer() { ::operator delete(p, std::align_val_t(64)); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint8_t* p;
  size_t size;
};

inline int fuzz_one(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  const size_t len = r.u16() & 0x3FFF;
  uint8_t key[4];
  for (auto& k : key) k = r.u8();
  const uint8_t mode = r.u8();
  const size_t phase = mode & 3;
  const bool in_place = mode & 4, pieces = mode & 8;
  const size_t src_off = r.u8() & 63, dst_off = r.u8() & 63;
  const size_t cut_raw = r.u16();
  const std::string_view pattern = r.rest();

  std::vector<uint8_t> input(len);
  if (!pattern.empty()) {
    for (size_t i = 0; i < len; i++) input[i] = static_cast<uint8_t>(pattern[i % pattern.size()]);
  } else {
    fuzz::XorshiftRandom rng(len + 1);
    rng.fill(input.data(), input.size());
  }
  std::vector<uint8_t> expected(len);
  for (size_t i = 0; i < len; i++) expected[i] = input[i] ^ key[(phase + i) & 3];

  const CpuFeatures cpu = detect_cpu_features();
  const size_t cut = cut_raw % (len + 1);
  for (const MaskKernel& k : mask_kernels()) {
    if (!k.supported(cpu)) continue;
    Buffer src(src_off + len), dst(dst_off + len);
    if (len) std::memcpy(src.p + src_off, input.data(), len);
    std::memset(src.p, 0xA5, src_off);
    std::memset(dst.p, 0x5A, dst_off + len);
    uint8_t* out = in_place ? src.p + src_off : dst.p + dst_off;
    const uint8_t* in = src.p + src_off;
    size_t end_phase;
    if (pieces) {
      const size_t mid = apply_mask(k, out, in, cut, key, phase);
      FUZZ_CHECK(mid == ((phase + cut) & 3));
      end_phase = apply_mask(k, out + cut, in + cut, len - cut, key, mid);
    } else {
      end_phase = apply_mask(k, out, in, len, key, phase);
    }
    FUZZ_CHECK(end_phase == ((phase + len) & 3));
    FUZZ_CHECK_MSG(len == 0 || std::memcmp(out, expected.data(), len) == 0,
                   std::string("kernel ") + k.name + " differs from the reference at length " + std::to_string(len));
    // Nothing outside [out, out + len) changed.
    for (size_t i = 0; i < src_off; i++) FUZZ_CHECK(src.p[i] == 0xA5);
    if (!in_place) {
      for (size_t i = 0; i < dst_off; i++) FUZZ_CHECK(dst.p[i] == 0x5A);
      FUZZ_CHECK_MSG(len == 0 || std::memcmp(in, input.data(), len) == 0, std::string("kernel ") + k.name + " wrote to its source");
    }
  }
  return 0;
}

}  // namespace fuzz_mask
