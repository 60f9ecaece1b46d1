// The CSPRNG behind masking keys and Sec-WebSocket-Key: OpenSSL's RAND_bytes (our static 3.5
// build), which seeds from the OS (getrandom) and is safe to call from any thread.
#pragma once

#include "core/random_source.h"

namespace sockudo::transport {

class OsRandom final : public RandomSource {
 public:
  void fill(uint8_t* out, size_t n) override;
};

}  // namespace sockudo::transport
