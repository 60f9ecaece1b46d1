// What the connections of one event loop share for permessage-deflate: the shared compressors
// (one per distinct setting; a message compressed without context takeover can be compressed by
// any of them), a pool of inflaters lent out for one message at a time to peers that do not take
// context over, one scratch buffer for compressed output, and the memory count of all of it.
//
// One per event loop (the transport's Loop owns it): never shared between threads, so nothing
// here locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/protocol/deflate_codec.h"

namespace sockudo::protocol {

class DeflateContext {
 public:
  // Idle pooled inflaters kept for reuse (each about 40 KiB); more are freed when returned.
  static constexpr size_t kMaxPooledInflaters = 16;

  DeflateContext() = default;
  ~DeflateContext();
  DeflateContext(const DeflateContext&) = delete;
  DeflateContext& operator=(const DeflateContext&) = delete;

  // The shared deflater for these settings, created on first use; null when zlib-ng refuses.
  // Callers compress with reset_after = true, so no message leaks into another connection's.
  RawDeflater* shared_deflater(const DeflaterSettings& settings);

  // An inflater for one message (from the pool, or new); null when zlib-ng has no memory.
  std::unique_ptr<RawInflater> acquire_inflater();
  // Takes it back, reset, after its message.
  void release_inflater(std::unique_ptr<RawInflater> inflater);

  // Output buffer for one compression at a time (the caller copies it into frames at once).
  std::vector<uint8_t>& scratch() { return scratch_; }
  // Gives back a scratch buffer a huge message grew.
  void trim_scratch();

  // Messages compressed so far (each send or publish that ran a deflater): lets tests see that a
  // publish to many shared-mode connections compressed once.
  uint64_t compressions() const { return compressions_; }
  void count_compression() { compressions_++; }

  DeflateMemory& memory() { return memory_; }
  const DeflateMemory& memory() const { return memory_; }
  size_t pooled_inflaters() const { return pool_.size(); }

 private:
  DeflateMemory memory_;  // declared first: destroyed after the streams that count into it
  std::vector<std::unique_ptr<RawDeflater>> shared_;
  std::vector<std::unique_ptr<RawInflater>> pool_;
  std::vector<uint8_t> scratch_;
  uint64_t compressions_ = 0;
};

}  // namespace sockudo::protocol
