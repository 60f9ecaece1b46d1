// UTF-8 validation (RFC 3629) for text frames and close reasons, over simdutf.
//
// StreamValidator validates a message that arrives in pieces: each piece is checked as it
// arrives (so invalid text fails before the frame completes), a piece that ends inside a code
// point carries at most 3 bytes into the next, and no byte is examined more than a constant
// number of times: total work is linear in the message size for any fragmentation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockudo::utf8 {

// One-shot validation of a complete buffer.
bool is_valid(const uint8_t* data, size_t len);

// Name of the simdutf implementation in use ("haswell", "icelake", "westmere", "fallback", ...).
const char* active_implementation();

class StreamValidator {
 public:
  // Validates the next piece. Returns false as soon as the bytes seen so far cannot be the start
  // of valid UTF-8 (including a truncated sequence that is already impossible, such as E0 80 or
  // F4 90); once false, the validator stays failed until reset().
  bool feed(const uint8_t* data, size_t len);
  // True when everything fed so far is valid and ends on a code point boundary.
  bool finish() const { return !failed_ && carry_len_ == 0; }
  bool failed() const { return failed_; }
  void reset() {
    carry_len_ = 0;
    failed_ = false;
    examined_ = 0;
  }
  // Bytes handed to the validation routines since reset(): the linear-work bound in tests.
  uint64_t bytes_examined() const { return examined_; }

 private:
  uint8_t carry_[4] = {};
  uint8_t carry_len_ = 0;  // bytes of an incomplete code point carried from the previous piece
  bool failed_ = false;
  uint64_t examined_ = 0;
};

// Length of the sequence a lead byte starts (1..4), or 0 for a byte that cannot lead.
inline int sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte or overlong 2-byte lead (C0, C1)
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;  // F5..FF never appear in UTF-8
}

// Whether bytes [p, p+n), n < sequence_length(p[0]), can still begin a valid code point
// (RFC 3629 §4: E0 needs A0..BF next, ED 80..9F, F0 90..BF, F4 80..8F).
bool is_valid_prefix(const uint8_t* p, size_t n);

}  // namespace sockudo::utf8
