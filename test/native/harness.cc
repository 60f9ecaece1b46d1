#include "harness.h"

#include <cstdlib>
#include <cstring>

namespace harness {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

State& state() {
  static State s;
  return s;
}

static const char* g_current = "";

void fail(const char* file, int line, const std::string& what) {
  State& s = state();
  if (s.failures < 10) std::printf("  FAIL %s (%s:%d): %s\n", g_current, file, line, what.c_str());
  if (s.failures == 10) std::printf("  FAIL %s: further failures in this case not shown\n", g_current);
  s.failures++;
}

void skip(const std::string& reason) {
  state().skipped = true;
  state().skip_reason = reason;
}

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) std::abort();  // odd number of hex digits: a broken vector
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    if (i) s += ' ';
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

void replay_splits(const std::vector<uint8_t>& input, const std::function<void()>& reset,
                   const std::function<void(const uint8_t*, size_t)>& feed,
                   const std::function<void(const std::string& label)>& check,
                   const std::function<bool(size_t at)>& include_split) {
  // Copy each chunk to its own heap block so a parser that reads past a chunk is caught by ASan.
  auto feed_copy = [&](const uint8_t* p, size_t n) {
    std::vector<uint8_t> chunk(p, p + n);
    feed(chunk.data(), chunk.size());
  };
  reset();
  feed_copy(input.data(), input.size());
  check("whole");
  reset();
  for (size_t i = 0; i < input.size(); i++) feed_copy(input.data() + i, 1);
  check("byte by byte");
  for (size_t at = 1; at < input.size(); at++) {
    if (include_split && !include_split(at)) continue;
    reset();
    feed_copy(input.data(), at);
    feed_copy(input.data() + at, input.size() - at);
    check("split at " + std::to_string(at));
  }
}

}  // namespace harness

int main(int argc, char** argv) {
  const char* self = std::strrchr(argv[0], '/');
  self = self ? self + 1 : argv[0];
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& c : harness::registry()) {
    if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr) continue;
    harness::state() = {};
    harness::g_current = c.name;
    c.fn();
    const auto& s = harness::state();
    if (s.failures) {
      failed++;
      std::printf("not ok %s\n", c.name);
    } else if (s.skipped) {
      skipped++;
      std::printf("skip   %s (%s)\n", c.name, s.skip_reason.c_str());
    } else {
      passed++;
      std::printf("ok     %s\n", c.name);
    }
  }
  std::printf("%s: %d passed, %d failed, %d skipped\n", self, passed, failed, skipped);
  if (const char* out = std::getenv("SOCKUDO_WS_TEST_RESULTS")) {
    if (FILE* f = std::fopen(out, "a")) {
      std::fprintf(f, "native/%s %d %d %d\n", self, passed, failed, skipped);
      std::fclose(f);
    }
  }
  return failed || passed + skipped == 0 ? 1 : 0;
}
