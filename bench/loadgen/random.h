// Unpredictable bytes from the kernel's CSPRNG (getrandom), for handshake nonces and mask keys
// (RFC 6455 §4.1 and §5.3 both ask for values a peer cannot predict).
#pragma once

#include <sys/random.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace sockudo::loadgen {

inline void fill_random(uint8_t* out, size_t len) {
  while (len > 0) {
    const ssize_t n = getrandom(out, len, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    out += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace sockudo::loadgen
