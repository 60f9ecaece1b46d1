// Bucket layout: index v for v < 256; above, octave e = floor(log2 v) >= 8 keeps the top 8 bits
// m = v >> (e - 7) in [128, 255]: index 256 + (e - 8) * 128 + (m - 128). Width 2^(e-7) is at most
// 1/128 of the bucket's lower bound.
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace sockudo::loadgen {
namespace {
constexpr int kBuckets = 256 + (63 - 8) * 128;
}

Histogram::Histogram() : counts_(kBuckets, 0) {}

int Histogram::bucket_of(int64_t ns) {
  const uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
  if (v < 256) return static_cast<int>(v);
  const int e = 63 - __builtin_clzll(v);
  const int m = static_cast<int>(v >> (e - 7));
  return 256 + (e - 8) * 128 + (m - 128);
}

int64_t Histogram::bucket_low(int index) {
  if (index < 256) return index;
  const int e = (index - 256) / 128 + 8;
  const int64_t m = (index - 256) % 128 + 128;
  return m << (e - 7);
}

int64_t Histogram::bucket_width(int index) {
  if (index < 256) return 1;
  return int64_t{1} << ((index - 256) / 128 + 1);
}

void Histogram::record(int64_t ns) {
  if (ns < 0) ns = 0;
  ++counts_[bucket_of(ns)];
  if (count_ == 0 || ns < min_) min_ = ns;
  if (ns > max_) max_ = ns;
  ++count_;
  sum_ += ns;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

int64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  const double want = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(want));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t mid = bucket_low(i) + bucket_width(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace sockudo::loadgen
