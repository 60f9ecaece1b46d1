// The load generator's one clock: CLOCK_MONOTONIC in nanoseconds (vDSO, ~20 ns a call).
#pragma once

#include <cstdint>
#include <ctime>

namespace sockudo::loadgen {

inline int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr int64_t kNsPerSec = 1'000'000'000;
inline constexpr int64_t kNsPerMs = 1'000'000;

}  // namespace sockudo::loadgen
