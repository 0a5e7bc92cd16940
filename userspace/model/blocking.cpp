#include "model/blocking.h"

#include <map>
#include <set>

namespace pgstall::model {

std::vector<int> blocking_chain(int pid, const std::vector<BlockedBy>& waits) {
  std::map<int, const BlockedBy*> by;
  for (const auto& w : waits) by[w.pid] = &w;
  std::vector<int> chain{pid};
  std::set<int> seen{pid};
  for (int cur = pid;;) {
    auto it = by.find(cur);
    if (it == by.end() || it->second->blocked_by.empty()) break;
    int next = it->second->blocked_by.front();
    chain.push_back(next);
    if (!seen.insert(next).second) break;
    cur = next;
  }
  return chain;
}

std::vector<BlockedBy> shared_memory_waits(const std::vector<Snapshot>& snaps) {
  std::vector<BlockedBy> waits;
  for (const auto& s : snaps) {
    if (!s.shm_lock || s.exited) continue;
    BlockedBy b;
    b.pid = s.pid;
    for (const auto& h : s.shm_lock->blockers)
      if (!h.queued()) b.blocked_by.push_back(h.pid);
    for (const auto& h : s.shm_lock->blockers)
      if (h.queued()) b.blocked_by.push_back(h.pid);
    waits.push_back(std::move(b));
  }
  return waits;
}

}  // namespace pgstall::model
