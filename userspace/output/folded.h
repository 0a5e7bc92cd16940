#pragma once
// Folded stacks ("frame;frame;... weight" per line) accumulated from the
// named stacks of a run, for flamegraph.pl or speedscope: off-CPU weights in
// microseconds, on-CPU in samples, each stack rooted at its backend type.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "util/outfile.h"
#include "util/result.h"

namespace pgstall::output {

// Where the folded stacks go, created before a run starts (a bad path then
// costs nothing): temporaries beside path, renamed onto it at the end; an
// existing file is refused, never overwritten.
struct FoldedFiles {
  OutFile offcpu;
  std::optional<OutFile> oncpu;  // path + ".oncpu", when on-CPU samples may come
  static Result<FoldedFiles> create(const std::string& path, bool oncpu);
};

class FoldedStacks {
 public:
  // Entries as capture::StackCollector::drain names them.
  void add(const nlohmann::json& entries);
  // Off-CPU stacks to files.offcpu, on-CPU ones (if any) to files.oncpu;
  // an on-CPU file with nothing to hold is removed.
  Result<void> write(FoldedFiles files) const;
  Result<void> write(const std::string& path) const;
  uint64_t offcpu_entries() const { return offcpu_entries_; }
  uint64_t oncpu_samples() const { return oncpu_samples_; }

 private:
  std::map<std::string, uint64_t> off_, on_;
  uint64_t offcpu_entries_ = 0, oncpu_samples_ = 0;
};

}  // namespace pgstall::output
