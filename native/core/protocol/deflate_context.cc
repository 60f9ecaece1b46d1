#include "core/protocol/deflate_context.h"

namespace sockudo::protocol {

namespace {
constexpr size_t kRetainedScratch = 256 * 1024;
}

DeflateContext::~DeflateContext() {
  pool_.clear();
  shared_.clear();
}

RawDeflater* DeflateContext::shared_deflater(const DeflaterSettings& settings) {
  for (auto& d : shared_) {
    if (d->settings() == settings) return d.get();
  }
  auto d = std::make_unique<RawDeflater>(settings, memory_);
  if (!d->ok()) return nullptr;
  shared_.push_back(std::move(d));
  return shared_.back().get();
}

std::unique_ptr<RawInflater> DeflateContext::acquire_inflater() {
  if (!pool_.empty()) {
    auto i = std::move(pool_.back());
    pool_.pop_back();
    return i;
  }
  auto i = std::make_unique<RawInflater>(memory_);
  if (!i->ok()) return nullptr;
  return i;
}

void DeflateContext::release_inflater(std::unique_ptr<RawInflater> inflater) {
  if (!inflater) return;
  inflater->end_message(true);
  if (pool_.size() < kMaxPooledInflaters) pool_.push_back(std::move(inflater));
}

void DeflateContext::trim_scratch() {
  if (scratch_.capacity() > kRetainedScratch) std::vector<uint8_t>().swap(scratch_);
}

}  // namespace sockudo::protocol
