#include "transport/os_random.h"

#include <openssl/rand.h>
#include <sys/random.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace sockudo::transport {

void OsRandom::fill(uint8_t* out, size_t n) {
  while (n > 0) {
    const int chunk = n > INT_MAX ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) == 1) {
      out += chunk;
      n -= static_cast<size_t>(chunk);
      continue;
    }
    // OpenSSL could not seed (should not happen on Linux): fall back to the kernel directly.
    const ssize_t got = getrandom(out, n, 0);
    if (got > 0) {
      out += got;
      n -= static_cast<size_t>(got);
    } else if (got < 0 && errno != EINTR) {
      std::abort();  // no source of randomness at all: masking keys must never be predictable
    }
  }
}

}  // namespace sockudo::transport
