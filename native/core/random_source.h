// Randomness for masking keys (RFC 6455 §5.3) and Sec-WebSocket-Key (§4.1): the core makes no
// syscalls, so the transport supplies a CSPRNG (OpenSSL RAND_bytes / getrandom) through this
// interface; tests supply a deterministic one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockudo {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills out[0..n) with unpredictable bytes. Must not fail (abort-free implementations retry
  // or fall back internally).
  virtual void fill(uint8_t* out, size_t n) = 0;
};

}  // namespace sockudo
