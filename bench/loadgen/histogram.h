// A log-bucketed latency histogram in the spirit of HdrHistogram: values in nanoseconds, exact
// below 256 ns, above that 128 buckets per power of two, so any percentile is within 0.4% of the
// true value (bucket midpoint) over the whole int64 range — 1 µs .. 10 s and far beyond.
#pragma once

#include <cstdint>
#include <vector>

namespace sockudo::loadgen {

class Histogram {
 public:
  Histogram();
  void record(int64_t ns);
  void reset();

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // The value at percentile p (0..100], in ns; 0 when empty. Never above max().
  int64_t percentile(double p) const;

  static int bucket_of(int64_t ns);
  static int64_t bucket_low(int index);
  static int64_t bucket_width(int index);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ = 0, max_ = 0;
  __int128 sum_ = 0;
};

}  // namespace sockudo::loadgen
