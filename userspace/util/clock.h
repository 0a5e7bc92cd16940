#pragma once
// CLOCK_MONOTONIC in nanoseconds: the clock the kernel side stamps with
// (bpf_ktime_get_ns), so userspace times compare with it directly.
#include <time.h>

#include <cstdint>

namespace pgstall {

inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace pgstall
