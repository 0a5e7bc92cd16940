#pragma once
// The live view's rows, from the snapshots: one per process, stalled ones
// first — a heavyweight lock queue with a stalled waiter as one group, its
// root first and each waiter under its first blocker — with syscalls/s and
// CPU % measured over the last second.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "model/process.h"
#include "model/snapshot.h"
#include "output/view.h"

namespace pgstall::output {

// Per-process syscalls/s and CPU %, over the last whole second.
class Rates {
 public:
  // Call with every snapshot batch; measures once a second.
  void update(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);
  // (syscalls/s, CPU %) of pid; syscalls/s < 0 when they were not counted the whole second.
  std::optional<std::pair<double, double>> of(int pid) const;

 private:
  uint64_t last_ns_ = 0;
  std::map<int, std::pair<uint64_t, uint64_t>> prev_;  // pid -> (syscalls, cpu_ns)
  std::map<int, std::pair<double, double>> rates_;
  std::map<int, uint64_t> start_;  // pid -> start time of the process prev_ counts for
};

using ProcessLookup = std::function<const model::Process*(int pid)>;

std::vector<ViewRow> view_rows(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, const ProcessLookup& proc,
                               const Rates& rates, const std::set<int>& stalled);

}  // namespace pgstall::output
