// UTF-8 validation: one-shot vectors, streaming at every split point, fail-fast on the first
// impossible byte, agreement with a byte-at-a-time reference decoder, and linear work for any
// fragmentation.
#include <random>
#include <string>
#include <vector>

#include "core/utf8/utf8.h"
#include "harness.h"

using sockudo::utf8::StreamValidator;

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Reference: RFC 3629 §4 decoder, one byte at a time.
bool reference_valid(const std::vector<uint8_t>& v) {
  size_t i = 0;
  while (i < v.size()) {
    const uint8_t c = v[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= v.size()) return false;
    for (size_t j = 1; j <= n; j++) {
      if ((v[i + j] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (v[i + j] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

struct Vector {
  const char* name;
  std::vector<uint8_t> data;
  bool valid;
};

std::vector<Vector> vectors() {
  return {
      {"empty", {}, true},
      {"ascii", bytes("Hello, World"), true},
      {"two-byte", harness::hex("c3 a9 c3 a8"), true},
      {"three-byte euro", harness::hex("e2 82 ac"), true},
      {"four-byte", harness::hex("f0 9f 98 80"), true},
      {"max code point", harness::hex("f4 8f bf bf"), true},
      {"mixed", bytes("κόσμε — 💩 ok"), true},
      {"lone continuation", harness::hex("80"), false},
      {"overlong slash c0 af", harness::hex("c0 af"), false},
      {"overlong e0 80 af", harness::hex("e0 80 af"), false},
      {"overlong f0 80 80 af", harness::hex("f0 80 80 af"), false},
      {"surrogate ed a0 80", harness::hex("ed a0 80"), false},
      {"above max f4 90 80 80", harness::hex("f4 90 80 80"), false},
      {"f5 lead", harness::hex("f5 80 80 80"), false},
      {"ff", harness::hex("ff"), false},
      {"truncated at end", harness::hex("48 c3"), false},
      {"truncated 3 of 4", harness::hex("f0 9f 98"), false},
      {"autobahn 6.4.1 fragment", harness::hex("ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80 80 65 64 69 74 65 64"), false},
      {"valid then invalid", bytes("hello \xed\xa0\x80 world"), false},
  };
}

}  // namespace

TEST(one_shot_vectors) {
  for (const auto& v : vectors()) {
    CHECK_EQ(sockudo::utf8::is_valid(v.data.data(), v.data.size()), v.valid);
    CHECK_EQ(reference_valid(v.data), v.valid);
  }
}

TEST(streaming_every_split) {
  for (const auto& v : vectors()) {
    StreamValidator sv;
    bool ok = true;
    harness::replay_splits(
        v.data, [&] { sv.reset(); ok = true; },
        [&](const uint8_t* p, size_t n) { ok = sv.feed(p, n) && ok; },
        [&](const std::string& label) {
          const bool result = ok && sv.finish();
          if (result != v.valid) harness::fail(__FILE__, __LINE__, std::string(v.name) + " at " + label);
        });
  }
}

TEST(fails_at_first_impossible_byte) {
  // Each piece ends right after the byte that makes the text impossible: the validator must
  // say so on that piece, before the rest arrives.
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> cases = {
      {"f4 90 (above U+10FFFF)", harness::hex("ce ba f4 90")},
      {"e0 80 (overlong)", harness::hex("41 e0 80")},
      {"ed a0 (surrogate)", harness::hex("ed a0")},
      {"f5", harness::hex("41 42 f5")},
      {"c0", harness::hex("c0")},
      {"c3 41", harness::hex("c3 41")},
  };
  for (const auto& [name, data] : cases) {
    StreamValidator sv;
    bool ok = sv.feed(data.data(), data.size());
    if (ok) harness::fail(__FILE__, __LINE__, "not detected in the same piece: " + name);
    // Also byte by byte: detected exactly at the last byte, not before.
    sv.reset();
    for (size_t i = 0; i < data.size(); i++) {
      ok = sv.feed(&data[i], 1);
      const bool last = i + 1 == data.size();
      if (ok == last) harness::fail(__FILE__, __LINE__, name + ": wrong byte " + std::to_string(i));
    }
    CHECK(sv.failed());
    // Stays failed.
    const uint8_t a = 'a';
    CHECK(!sv.feed(&a, 1));
  }
}

TEST(valid_prefix_is_not_failed_early) {
  StreamValidator sv;
  const auto euro = harness::hex("e2 82 ac");
  CHECK(sv.feed(euro.data(), 1));
  CHECK(!sv.finish());  // incomplete, but not invalid
  CHECK(sv.feed(euro.data() + 1, 1));
  CHECK(sv.feed(euro.data() + 2, 1));
  CHECK(sv.finish());
}

TEST(agrees_with_reference_on_random_input_and_splits) {
  std::mt19937 rng(42);
  const std::vector<std::vector<uint8_t>> alphabet = {
      harness::hex("41"), harness::hex("c3 a9"), harness::hex("e2 82 ac"), harness::hex("f0 9f 98 80"),
      harness::hex("80"), harness::hex("c0"), harness::hex("ed a0 80"), harness::hex("f4 90 80 80"),
      harness::hex("e0"), harness::hex("f0 9f"), harness::hex("ff")};
  for (int round = 0; round < 20000; round++) {
    std::vector<uint8_t> v;
    const int parts = static_cast<int>(rng() % 12);
    for (int i = 0; i < parts; i++) {
      // Mostly valid pieces, sometimes a broken one.
      const size_t pick = rng() % 10 < 8 ? rng() % 4 : rng() % alphabet.size();
      v.insert(v.end(), alphabet[pick].begin(), alphabet[pick].end());
    }
    const bool expect = reference_valid(v);
    REQUIRE_MSG(sockudo::utf8::is_valid(v.data(), v.size()) == expect, harness::to_hex(v));
    StreamValidator sv;
    bool ok = true;
    size_t off = 0;
    while (off < v.size()) {
      const size_t n = std::min<size_t>(v.size() - off, 1 + rng() % 5);
      ok = sv.feed(v.data() + off, n) && ok;
      off += n;
    }
    REQUIRE_MSG((ok && sv.finish()) == expect, "streamed: " + harness::to_hex(v));
  }
}

TEST(linear_work_for_any_fragmentation) {
  // A 4 MiB text message of mixed-width characters: in fragments the validator examines
  // the same bytes as in one piece, plus at most 3 carried bytes per fragment boundary.
  std::vector<uint8_t> msg;
  const std::string unit = "abc é € 💩 ";
  while (msg.size() < (4u << 20)) msg.insert(msg.end(), unit.begin(), unit.end());
  msg.resize(4u << 20);
  while (!sockudo::utf8::is_valid(msg.data(), msg.size())) msg.pop_back();  // end on a boundary

  StreamValidator whole;
  REQUIRE(whole.feed(msg.data(), msg.size()));
  REQUIRE(whole.finish());

  // 64-byte fragments (as the issue states) and 61-byte ones, which split code points.
  for (size_t frag : {size_t{64}, size_t{61}}) {
    StreamValidator pieces;
    size_t fragments = 0;
    for (size_t off = 0; off < msg.size(); off += frag, fragments++)
      REQUIRE(pieces.feed(msg.data() + off, std::min<size_t>(frag, msg.size() - off)));
    REQUIRE(pieces.finish());
    CHECK(pieces.bytes_examined() <= msg.size() + 3 * fragments);
    std::printf("       4 MiB in %zu-byte fragments: examined %llu bytes (one piece: %llu)\n", frag,
                static_cast<unsigned long long>(pieces.bytes_examined()),
                static_cast<unsigned long long>(whole.bytes_examined()));
  }
  CHECK_EQ(whole.bytes_examined(), static_cast<uint64_t>(msg.size()));
}

TEST(active_implementation_named) {
  const std::string name = sockudo::utf8::active_implementation();
  CHECK(!name.empty());
  std::printf("       simdutf implementation: %s\n", name.c_str());
}
