#pragma once
// Whether a stall's input was complete: the ring records its kind depends
// on that a full ring lost while it was in flight. Lost records are counted
// per probe in the kernel; their totals are observed every tick, and a
// stall's loss is how much its inputs' totals grew from the last
// observation at or before its start to the latest one. Pure.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/probes.h"

namespace pgstall::detect {

class InputLoss {
 public:
  // Cumulative lost records per probe, as of now_ns (CLOCK_MONOTONIC).
  void observe(uint64_t now_ns, const model::RingDrops& totals);
  // Records of these probes lost since since_ns, per probe (only those that
  // lost some). The growth seen at the first observation after since_ns may
  // have happened a tick before it: it is counted (an input said incomplete
  // when it may not have been, never the reverse).
  std::map<std::string, uint64_t> lost_since(std::span<const std::string_view> inputs, uint64_t since_ns) const;

  // Samples kept at most: past it, every other one of the older half goes
  // (a start then finds an earlier baseline: more loss counted, never less).
  static constexpr size_t kMaxSamples = 4096;
  size_t samples() const { return samples_.size(); }

 private:
  struct Sample {
    uint64_t ts_ns = 0;
    std::vector<uint64_t> totals;  // by index in names_; a missing index is 0
  };
  size_t index_of(std::string_view probe);
  uint64_t total_in(const Sample& s, std::string_view probe) const;

  std::vector<std::string> names_;
  std::vector<Sample> samples_;  // one per change of the totals, oldest first
};

}  // namespace pgstall::detect
