#include "utf8.h"

#include <simdutf.h>

#include <cstring>
#include <string>

namespace sockudo::utf8 {

bool is_valid(const uint8_t* data, size_t len) {
  return simdutf::validate_utf8(reinterpret_cast<const char*>(data), len);
}

const char* active_implementation() {
  // simdutf chooses its implementation once, on first use, from the CPU.
  static const std::string name = simdutf::get_active_implementation()->name();
  return name.c_str();
}

bool is_valid_prefix(const uint8_t* p, size_t n) {
  if (n == 0) return true;
  const int need = sequence_length(p[0]);
  if (need == 0 || static_cast<size_t>(need) <= n) return false;
  if (n >= 2) {
    const uint8_t b = p[1];
    uint8_t lo = 0x80, hi = 0xBF;
    switch (p[0]) {
      case 0xE0: lo = 0xA0; break;  // overlong
      case 0xED: hi = 0x9F; break;  // UTF-16 surrogates
      case 0xF0: lo = 0x90; break;  // overlong
      case 0xF4: hi = 0x8F; break;  // above U+10FFFF
      default: break;
    }
    if (b < lo || b > hi) return false;
  }
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return false;
  return true;
}

// Where the last complete code point of [data, data+len) ends: the tail after it (0..3 bytes)
// is the start of a sequence that continues in the next piece. Only the last 3 bytes are looked
// at, so this is O(1).
static size_t complete_prefix_length(const uint8_t* data, size_t len) {
  const size_t look = len < 3 ? len : 3;
  for (size_t back = 1; back <= look; back++) {
    const uint8_t c = data[len - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for its lead
    const int need = sequence_length(c);
    // A lead (or ASCII) byte: the sequence is complete if it has all its bytes. An invalid lead
    // is left in the prefix so simdutf reports it.
    if (need == 0 || static_cast<size_t>(need) <= back) return len;
    return len - back;
  }
  return len;  // only continuation bytes in the last 3: let simdutf judge them
}

bool StreamValidator::feed(const uint8_t* data, size_t len) {
  if (failed_) return false;
  if (len == 0) return true;
  if (carry_len_ > 0) {
    // Complete the carried code point with bytes from this piece.
    const int need = sequence_length(carry_[0]);
    while (carry_len_ < need && len > 0) {
      carry_[carry_len_++] = *data++;
      len--;
    }
    if (carry_len_ < need) {
      if (!is_valid_prefix(carry_, carry_len_)) failed_ = true;
      return !failed_;
    }
    examined_ += carry_len_;
    if (!is_valid(carry_, carry_len_)) {
      failed_ = true;
      return false;
    }
    carry_len_ = 0;
  }
  const size_t whole = complete_prefix_length(data, len);
  examined_ += len;
  if (!is_valid(data, whole)) {
    failed_ = true;
    return false;
  }
  const size_t rest = len - whole;
  if (!is_valid_prefix(data + whole, rest)) {
    failed_ = true;
    return false;
  }
  std::memcpy(carry_, data + whole, rest);
  carry_len_ = static_cast<uint8_t>(rest);
  return true;
}

}  // namespace sockudo::utf8
