#pragma once
// Checkpoints in progress, one per cluster, from the checkpoint probes'
// records: their phases as they pass, an event at the start and the end.
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "model/events.h"

namespace pgstall::capture {

class Checkpoints {
 public:
  // A checkpoint probe fired in pid (of the cluster of postmaster) at ts.
  // False for a phase this code does not know (counted by the caller).
  bool on_probe(int pid, int postmaster, uint32_t phase, uint32_t flags, uint64_t ts_ns);
  std::vector<model::CheckpointEvent> take_events() { return std::exchange(events_, {}); }
  // The checkpoint in progress in that cluster, if its start was seen.
  std::optional<model::CheckpointEvent> in_progress(int postmaster) const;

 private:
  std::map<int, model::CheckpointEvent> by_postmaster_;  // the one in progress
  std::vector<model::CheckpointEvent> events_;
};

}  // namespace pgstall::capture
