// fuzz_utf8: the streaming UTF-8 validator against a byte-at-a-time RFC 3629 decoder.
//
// Input layout: [count] [len-1]... split lengths (fuzz::Splits::read; count 0 = byte by byte),
// then the text. After every piece, StreamValidator::feed() must fail exactly when the reference
// has seen an impossible byte (fail fast, never early); at the end finish() must equal "valid and
// on a code point boundary", utf8::is_valid() must agree for the whole text, and the bytes
// examined must stay within the linear bound (length + 4 per piece).
#pragma once

#include <cstdint>

#include "core/utf8/utf8.h"
#include "fuzz_common.h"
#include "utf8_reference.h"

namespace fuzz_utf8 {

inline void check_pieces(const uint8_t* text, size_t len, fuzz::Splits& splits) {
  sockudo::utf8::StreamValidator v;
  fuzz::ReferenceUtf8 ref;
  size_t pieces = 0, off = 0;
  fuzz::feed_split(text, len, splits, [&](const uint8_t* p, size_t n) {
    const bool ok = v.feed(p, n);
    ref.push(p, n);
    pieces++;
    off += n;
    FUZZ_CHECK_MSG(ok == !ref.failed(), "after " + std::to_string(off) + " bytes the validator says " +
                                            (ok ? "ok" : "failed") + ": " + fuzz::hex(text, off));
    FUZZ_CHECK(v.failed() == ref.failed());
  });
  FUZZ_CHECK_MSG(v.finish() == ref.complete(), "finish() disagrees: " + fuzz::hex(text, len));
  FUZZ_CHECK(v.bytes_examined() <= len + 4 * pieces);
  // A fresh validator after reset() behaves like a new one.
  v.reset();
  FUZZ_CHECK(!v.failed() && v.finish() && v.bytes_examined() == 0);
}

inline int fuzz_one(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  fuzz::Splits splits = fuzz::Splits::read(r);
  const std::string_view rest = r.rest();
  std::vector<uint8_t> text(rest.begin(), rest.end());
  const bool valid = fuzz::ReferenceUtf8::valid(text.data(), text.size());
  FUZZ_CHECK_MSG(sockudo::utf8::is_valid(text.data(), text.size()) == valid, "is_valid disagrees: " + fuzz::hex(text.data(), text.size()));
  check_pieces(text.data(), text.size(), splits);
  // The whole text as one piece.
  {
    sockudo::utf8::StreamValidator v;
    const bool ok = text.empty() || v.feed(text.data(), text.size());
    fuzz::ReferenceUtf8 ref;
    ref.push(text.data(), text.size());
    FUZZ_CHECK(ok == !ref.failed());
    FUZZ_CHECK(v.finish() == valid);
  }
  // is_valid_prefix on the tail after the last complete code point agrees with the reference.
  for (size_t n = 1; n <= 3 && n <= text.size(); n++) {
    const uint8_t* tail = text.data() + text.size() - n;
    const int need = sockudo::utf8::sequence_length(tail[0]);
    if (need == 0 || static_cast<size_t>(need) <= n) continue;
    fuzz::ReferenceUtf8 ref;
    ref.push(tail, n);
    FUZZ_CHECK_MSG(sockudo::utf8::is_valid_prefix(tail, n) == !ref.failed(), "is_valid_prefix: " + fuzz::hex(tail, n));
  }
  return 0;
}

}  // namespace fuzz_utf8
