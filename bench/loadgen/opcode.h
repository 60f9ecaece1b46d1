// RFC 6455 §5.2 opcodes (§11.8 registry); every other value is reserved.
#pragma once

#include <cstdint>

namespace sockudo::loadgen {

enum Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

}  // namespace sockudo::loadgen
