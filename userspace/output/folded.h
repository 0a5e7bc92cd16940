#pragma once
// Folded stacks ("frame;frame;... weight" per line) accumulated from the
// named stacks of a run, for flamegraph.pl or speedscope: off-CPU weights in
// microseconds, on-CPU in samples, each stack rooted at its backend type.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace pgstall::output {

class FoldedStacks {
 public:
  // Entries as capture::StackCollector::drain names them.
  void add(const nlohmann::json& entries);
  // Off-CPU stacks to path, on-CPU ones (if any) to path + ".oncpu".
  Result<void> write(const std::string& path) const;
  uint64_t offcpu_entries() const { return offcpu_entries_; }
  uint64_t oncpu_samples() const { return oncpu_samples_; }

 private:
  std::map<std::string, uint64_t> off_, on_;
  uint64_t offcpu_entries_ = 0, oncpu_samples_ = 0;
};

}  // namespace pgstall::output
