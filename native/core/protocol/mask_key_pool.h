// Masking keys for client frames (RFC 6455 §5.3: a fresh, unpredictable key per frame). Random
// bytes are drawn from the RandomSource a block at a time, so a client sending many small frames
// pays for one CSPRNG call per block_size / 4 frames instead of one per frame.
//
// One pool per engine (per Node environment) may serve every client connection on it; it is not
// thread-safe, like everything else an engine owns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/random_source.h"

namespace sockudo::protocol {

class MaskKeyPool {
 public:
  static constexpr size_t kDefaultBlockSize = 4096;

  // block_size is rounded up to a multiple of 4 (at least 4). Nothing is drawn until next().
  explicit MaskKeyPool(RandomSource& source, size_t block_size = kDefaultBlockSize);

  // Writes the next 4-byte key.
  void next(uint8_t key[4]);

  size_t block_size() const { return block_size_; }

 private:
  RandomSource& source_;
  size_t block_size_;
  size_t pos_;
  std::unique_ptr<uint8_t[]> block_;
};

}  // namespace sockudo::protocol
