// Helpers shared by the libFuzzer targets: an input reader, fuzzer-chosen split lengths, a
// deterministic RandomSource, a checked abort, and payload summaries for differential traces.
//
// Every target defines `int fuzz_one(const uint8_t*, size_t)` in its own namespace and exports
// LLVMFuzzerTestOneInput unless SOCKUDO_FUZZ_NO_ENTRY is defined, so the native regression test
// can replay saved inputs through the same code without libFuzzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/random_source.h"

// Harness loops that only move bytes around (not code under test) are kept out of the coverage
// instrumentation: they would cost most of the run time and guide the fuzzer nowhere.
#if defined(__clang__)
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NO_COVERAGE
#endif

namespace fuzz {

// A failed property: print what broke and abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "\n*** fuzz property violated at %s:%d\n%s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, "FUZZ_CHECK(" #cond ")"); \
  } while (0)
#define FUZZ_CHECK_MSG(cond, msg)                                                              \
  do {                                                                                         \
    if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, std::string("FUZZ_CHECK(" #cond "): ") + (msg)); \
  } while (0)

// Consumes the input from the front; reads past the end return zeros (short inputs still run).
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t u8() {
    if (n_ == 0) return 0;
    n_--;
    return *p_++;
  }
  uint16_t u16() {
    const uint16_t lo = u8();
    return static_cast<uint16_t>(lo | (u8() << 8));
  }
  // The next `len` bytes (fewer when the input ends).
  std::string_view bytes(size_t len) {
    if (len > n_) len = n_;
    std::string_view s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }
  std::string_view rest() { return bytes(n_); }
  size_t remaining() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Split lengths chosen by the fuzzer, each byte a piece length of (byte + 1), used in a cycle.
// No lengths at all means one byte at a time.
class Splits {
 public:
  Splits() = default;
  // `count` length bytes from `r`.
  Splits(Reader& r, size_t count) {
    for (size_t i = 0; i < count; i++) lens_.push_back(static_cast<size_t>(r.u8()) + 1);
  }
  // A count byte (taken modulo max_count + 1), then that many length bytes.
  static Splits read(Reader& r, size_t max_count = 16) { return Splits(r, r.u8() % (max_count + 1)); }
  size_t next() {
    if (lens_.empty()) return 1;
    const size_t n = lens_[i_];
    i_ = (i_ + 1) % lens_.size();
    return n;
  }
  void rewind() { i_ = 0; }
  bool byte_by_byte() const { return lens_.empty(); }

 private:
  std::vector<size_t> lens_;
  size_t i_ = 0;
};

// Feeds data[0..len) to f(chunk, chunk_len) in the pieces `splits` chooses. Each piece is copied
// into its own exactly-sized heap block, so a read past its end is an ASan error even when the
// bytes after it are still in the caller's buffer.
template <typename F>
void feed_split(const uint8_t* data, size_t len, Splits& splits, F&& f) {
  size_t off = 0;
  while (off < len) {
    size_t n = splits.next();
    if (n > len - off) n = len - off;
    std::vector<uint8_t> chunk(data + off, data + off + n);
    f(chunk.data(), chunk.size());
    off += n;
  }
}

// Deterministic randomness (the xorshift stream of test/native's FakeRandom).
class XorshiftRandom final : public sockudo::RandomSource {
 public:
  explicit XorshiftRandom(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  FUZZ_NO_COVERAGE void fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; i++) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      out[i] = static_cast<uint8_t>(state_ >> 24);
    }
  }

 private:
  uint64_t state_;
};

// 0, 1, 2, ...: the Sec-WebSocket-Key of the client handshake tests, AAECAwQFBgcICQoLDA0ODw==.
class CountingRandom final : public sockudo::RandomSource {
 public:
  void fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; i++) out[i] = next_++;
  }

 private:
  uint8_t next_ = 0;
};

FUZZ_NO_COVERAGE inline uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

inline std::string hex(const uint8_t* p, size_t n, size_t max = 64) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n && i < max; i++) {
    if (i) s += ' ';
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  if (n > max) s += " ...";
  return s;
}

// A payload as it appears in a trace: short ones in hex, long ones as length and hash.
inline void summarize(std::string& out, const uint8_t* p, size_t n) {
  if (n <= 16) {
    out += hex(p, n);
    return;
  }
  out += '<';
  out += std::to_string(n);
  out += '#';
  out += std::to_string(fnv1a(p, n));
  out += '>';
}

}  // namespace fuzz
