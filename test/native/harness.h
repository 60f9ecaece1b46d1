// Minimal native test harness: TEST(name) { CHECK(...); }. Each binary prints one line per failure
// and a final "<binary>: N passed, N failed, N skipped" line; with SOCKUDO_WS_TEST_RESULTS set,
// it also appends that line to the named file so scripts/test.js can total every suite.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace harness {

struct Case {
  const char* name;
  void (*fn)();
};
std::vector<Case>& registry();
struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

// Per-case state, reset before each case runs.
struct State {
  int failures = 0;
  bool skipped = false;
  std::string skip_reason;
};
State& state();

void fail(const char* file, int line, const std::string& what);
// Marks the running case as skipped (not passed); the reason is printed. Return right after.
void skip(const std::string& reason);

template <typename T>
std::string show(const T& v) {
  std::ostringstream os;
  if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
    os << static_cast<int>(v);
  } else if constexpr (std::is_enum_v<T>) {
    os << static_cast<long long>(v);
  } else {
    os << v;
  }
  return os.str();
}

// Hex helpers for test vectors: "81 05 48 65" (spaces ignored) <-> bytes.
std::vector<uint8_t> hex(const std::string& s);
std::string to_hex(const uint8_t* p, size_t n);
inline std::string to_hex(const std::vector<uint8_t>& v) { return to_hex(v.data(), v.size()); }

// Replays `input` through `feed` in every way the issue demands: whole, byte by byte, and split
// in two at every offset (or at the offsets `include_split` accepts, for inputs too large for all
// of them). `reset` is called before each replay, `check` after each with a label describing the
// split, so a failure names the split that broke.
void replay_splits(const std::vector<uint8_t>& input, const std::function<void()>& reset,
                   const std::function<void(const uint8_t*, size_t)>& feed,
                   const std::function<void(const std::string& label)>& check,
                   const std::function<bool(size_t at)>& include_split = nullptr);

}  // namespace harness

#define HARNESS_CAT2(a, b) a##b
#define HARNESS_CAT(a, b) HARNESS_CAT2(a, b)
#define TEST(name)                                                          \
  static void name();                                                       \
  static ::harness::Registrar HARNESS_CAT(reg_, name)(#name, &name);        \
  static void name()

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) ::harness::fail(__FILE__, __LINE__, "CHECK(" #cond ") failed"); \
  } while (0)

#define CHECK_EQ(a, b)                                                                  \
  do {                                                                                  \
    const auto& harness_a = (a);                                                        \
    const auto& harness_b = (b);                                                        \
    if (!(harness_a == harness_b))                                                      \
      ::harness::fail(__FILE__, __LINE__,                                               \
                      "CHECK_EQ(" #a ", " #b ") failed: " + ::harness::show(harness_a) + \
                          " != " + ::harness::show(harness_b));                         \
  } while (0)

// Like CHECK/CHECK_EQ but stops the case on failure (for loops over thousands of inputs).
#define REQUIRE(cond)                                                                 \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      ::harness::fail(__FILE__, __LINE__, "REQUIRE(" #cond ") failed");               \
      return;                                                                         \
    }                                                                                 \
  } while (0)

#define REQUIRE_MSG(cond, msg)                                                        \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      ::harness::fail(__FILE__, __LINE__, std::string("REQUIRE(" #cond ") failed: ") + (msg)); \
      return;                                                                         \
    }                                                                                 \
  } while (0)
