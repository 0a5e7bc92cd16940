#pragma once
// Who blocks whom, as the server says it (pg_blocking_pids) or as shared
// memory says it (model/lockgraph), and the chains that follow from it.
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace pgstall::model {

struct BlockedBy {
  int pid = 0;
  std::vector<int> blocked_by;  // pg_blocking_pids(pid)
  std::string relation;         // the relation of the awaited lock, "" if not a relation lock
  std::vector<int> chain;       // pid, its first blocker, that one's first blocker, ...
};

// Follows first blockers from `pid`: A → B → C. Stops at a pid that is not
// blocked, or where the chain comes back on itself (a deadlock about to be
// found), which then ends with the repeated pid.
std::vector<int> blocking_chain(int pid, const std::vector<BlockedBy>& waits);

// Every process whose heavyweight lock wait was read from shared memory,
// with its blockers: holders of conflicting modes first (the chain's next
// step is then the one holding the lock, the shortest way to the root),
// then the waiters queued ahead of it. No relation, no chain.
std::vector<BlockedBy> shared_memory_waits(const std::vector<Snapshot>& snaps);

}  // namespace pgstall::model
