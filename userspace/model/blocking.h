#pragma once
// Who blocks whom, as the server says it (pg_blocking_pids), and the chains
// that follow from it.
#include <string>
#include <vector>

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

}  // namespace pgstall::model
