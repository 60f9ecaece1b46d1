// Checks an echoed message against what was sent, piece by piece as it arrives (no copy): same
// opcode, same length, same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "opcode.h"

namespace sockudo::loadgen {

class EchoCheck {
 public:
  void begin(Opcode got, Opcode want) {
    offset_ = 0;
    wrong_opcode_ = got != want;
    wrong_bytes_ = false;
  }
  void data(const std::vector<uint8_t>& want, const uint8_t* p, size_t n) {
    if (!wrong_bytes_ && (offset_ + n > want.size() || std::memcmp(want.data() + offset_, p, n) != 0)) {
      wrong_bytes_ = true;
    }
    offset_ += n;
  }
  // Empty when the echo matched; otherwise what was wrong with it.
  std::string end(const std::vector<uint8_t>& want) const {
    if (wrong_opcode_) return "echo has the wrong opcode (text/binary)";
    if (offset_ != want.size()) {
      return "echo is " + std::to_string(offset_) + " bytes, sent " + std::to_string(want.size());
    }
    if (wrong_bytes_) return "echo content differs from what was sent";
    return {};
  }

 private:
  size_t offset_ = 0;
  bool wrong_opcode_ = false;
  bool wrong_bytes_ = false;
};

}  // namespace sockudo::loadgen
