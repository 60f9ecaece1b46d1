// A byte-at-a-time UTF-8 decoder written straight from the syntax table of RFC 3629 §4, used as
// the oracle for the streaming validator and for text the engine delivers. Deliberately naive:
// it shares no code or tables with native/core/utf8.
//
//   UTF8-1 = %x00-7F
//   UTF8-2 = %xC2-DF UTF8-tail
//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//            %xF4 %x80-8F 2( UTF8-tail )
//   UTF8-tail = %x80-BF
#pragma once

#include <cstddef>
#include <cstdint>

namespace fuzz {

class ReferenceUtf8 {
 public:
  // Takes the next byte; failed() becomes true at the first byte that no valid UTF-8 text could
  // have at this position.
  void push(uint8_t c) {
    if (failed_) return;
    if (need_ == 0) {
      lo_ = 0x80;
      hi_ = 0xBF;
      if (c <= 0x7F) return;
      if (c >= 0xC2 && c <= 0xDF) { need_ = 1; return; }
      if (c == 0xE0) { need_ = 2; lo_ = 0xA0; return; }
      if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) { need_ = 2; return; }
      if (c == 0xED) { need_ = 2; hi_ = 0x9F; return; }
      if (c == 0xF0) { need_ = 3; lo_ = 0x90; return; }
      if (c >= 0xF1 && c <= 0xF3) { need_ = 3; return; }
      if (c == 0xF4) { need_ = 3; hi_ = 0x8F; return; }
      failed_ = true;  // 80-C1, F5-FF
      return;
    }
    if (c < lo_ || c > hi_) {
      failed_ = true;
      return;
    }
    need_--;
    lo_ = 0x80;
    hi_ = 0xBF;
  }
  void push(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n && !failed_; i++) push(p[i]);
  }
  bool failed() const { return failed_; }
  // Valid and ends on a code point boundary.
  bool complete() const { return !failed_ && need_ == 0; }

  static bool valid(const uint8_t* p, size_t n) {
    ReferenceUtf8 r;
    r.push(p, n);
    return r.complete();
  }

 private:
  int need_ = 0;
  uint8_t lo_ = 0x80, hi_ = 0xBF;
  bool failed_ = false;
};

}  // namespace fuzz
