#include "core/protocol/mask_key_pool.h"

#include <cstring>

namespace sockudo::protocol {

MaskKeyPool::MaskKeyPool(RandomSource& source, size_t block_size)
    : source_(source), block_size_(block_size < 4 ? 4 : (block_size + 3) & ~size_t{3}), pos_(block_size_) {}

void MaskKeyPool::next(uint8_t key[4]) {
  if (pos_ == block_size_) {
    if (!block_) block_ = std::unique_ptr<uint8_t[]>(new uint8_t[block_size_]);  // uninitialised: filled next
    source_.fill(block_.get(), block_size_);
    pos_ = 0;
  }
  std::memcpy(key, block_.get() + pos_, 4);
  pos_ += 4;
}

}  // namespace sockudo::protocol
