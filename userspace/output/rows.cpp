#include "output/rows.h"

#include <algorithm>
#include <tuple>

#include "model/blocking.h"
#include "model/syscalls.h"

namespace pgstall::output {
namespace {

// Lock queues from shared memory: each waiter's first blocker and root.
struct Queues {
  std::map<int, int> parent, root;  // waiter -> first blocker; waiter -> root
};

Queues lock_queues(const std::vector<model::Snapshot>& snaps) {
  Queues q;
  const auto waits = model::shared_memory_waits(snaps);
  for (const auto& w : waits) {
    const auto chain = model::blocking_chain(w.pid, waits);
    // A cycle has no root: its members stay where stalls go.
    if (chain.size() < 2 || std::find(chain.begin(), chain.end() - 1, chain.back()) != chain.end() - 1) continue;
    q.parent[w.pid] = chain[1];
    q.root[w.pid] = chain.back();
  }
  return q;
}

// Stalled rows first; among them, each queue with a stalled waiter as one
// group: its root, then depth first each waiter under its first blocker.
std::vector<ViewRow> in_view_order(std::vector<ViewRow> rows, const Queues& q) {
  std::map<int, size_t> at;
  for (size_t i = 0; i < rows.size(); ++i) at[rows[i].pid] = i;
  std::set<int> roots;
  for (const auto& [pid, root] : q.root)
    if (at.count(pid) && rows[at[pid]].stalled) roots.insert(root);
  std::vector<ViewRow> out;
  std::vector<bool> placed(rows.size(), false);
  auto place = [&](int pid, int depth) {
    auto it = at.find(pid);
    if (it == at.end() || placed[it->second]) return;
    placed[it->second] = true;
    out.push_back(rows[it->second]);
    out.back().queue_depth = depth;
  };
  for (int root : roots) {
    place(root, 0);
    if (!out.empty() && out.back().pid == root)
      for (const auto& [pid, r] : q.root) out.back().queue_waiting += r == root;
    // Depth first under each first blocker; pids in order at each level.
    std::vector<std::pair<int, int>> stack{{root, 0}};
    while (!stack.empty()) {
      auto [pid, depth] = stack.back();
      stack.pop_back();
      if (depth > 0) place(pid, depth);
      for (auto it = q.parent.rbegin(); it != q.parent.rend(); ++it)
        if (it->second == pid && q.root.at(it->first) == root && depth < 64) stack.push_back({it->first, depth + 1});
    }
  }
  for (int stalled_pass = 1; stalled_pass >= 0; --stalled_pass)
    for (size_t i = 0; i < rows.size(); ++i)
      if (!placed[i] && rows[i].stalled == bool(stalled_pass)) out.push_back(rows[i]);
  return out;
}

}  // namespace

void Rates::update(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  if (last_ns_ == 0) last_ns_ = now;
  if (now - last_ns_ < 1'000'000'000ull) return;
  const double span = (now - last_ns_) / 1e9;
  std::set<int> live;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    live.insert(s.pid);
    if (auto& start = start_[s.pid]; start != s.start_ticks) {
      // Another process under this pid: its counters start from its own zero.
      start = s.start_ticks;
      prev_.erase(s.pid);
      rates_.erase(s.pid);
    }
    // Syscalls/s only where the whole second was counted.
    const bool counted = s.syscalls_counted_since_ns && s.syscalls_counted_since_ns <= last_ns_;
    // Rates from the second sample on: a process first seen now has no rate
    // yet (`-`), one that ran for 0 ns since has a measured 0.
    if (auto [pc, first] = prev_.try_emplace(s.pid, s.nr_syscalls, s.cpu_ns); !first) {
      rates_[s.pid] = {counted ? (s.nr_syscalls - pc->second.first) / span : -1.0,
                       (s.cpu_ns - pc->second.second) / 1e7 / span};
      pc->second = {s.nr_syscalls, s.cpu_ns};
    }
  }
  // Forget the exited.
  std::erase_if(prev_, [&](const auto& kv) { return !live.count(kv.first); });
  std::erase_if(rates_, [&](const auto& kv) { return !live.count(kv.first); });
  std::erase_if(start_, [&](const auto& kv) { return !live.count(kv.first); });
  last_ns_ = now;
}

std::optional<std::pair<double, double>> Rates::of(int pid) const {
  auto it = rates_.find(pid);
  if (it == rates_.end()) return std::nullopt;
  return it->second;
}

std::vector<ViewRow> view_rows(uint64_t now, const std::vector<model::Snapshot>& snaps, const ProcessLookup& proc,
                               const Rates& rates, const std::set<int>& stalled) {
  std::vector<ViewRow> rows;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    ViewRow r;
    r.pid = s.pid;
    if (const model::Process* p = proc(s.pid)) {
      r.type = std::string(model::backend_type_name(p->title.type));
      r.title = p->title.raw;
    }
    r.state = s.task_state();
    // Known when read: "" then means not waiting; an event this version's
    // tables cannot name is not known.
    if (s.wait_event_info) {
      auto we = model::wait_event_of(s);
      r.wait = we ? we->text() : "";
      r.wait_known = we || *s.wait_event_info == 0;
    }
    // FOR is measured for a syscall or a sleep whose start is known; on CPU
    // the view has no start, so `-`.
    if (s.in_syscall) {
      r.in = model::syscall_name(s.sc_nr);
      if (s.sc_start_ns) r.for_s = (now - std::min(now, s.sc_start_ns)) / 1e9;
    } else if (s.on_cpu) {
      r.in = "on CPU";
    } else {
      r.in = "off CPU";
      if (s.offcpu_since_ns) r.for_s = (now - std::min(now, s.offcpu_since_ns)) / 1e9;
    }
    r.for_lower_bound = s.lower_bound && r.for_s >= 0;
    if (auto rt = rates.of(s.pid)) std::tie(r.sys_rate, r.cpu_pct) = *rt;
    r.stalled = stalled.count(s.pid) > 0;
    rows.push_back(std::move(r));
  }
  return in_view_order(std::move(rows), lock_queues(snaps));
}

}  // namespace pgstall::output
