#include "output/rows.h"

#include <algorithm>
#include <tuple>

#include "model/syscalls.h"

namespace pgstall::output {

void Rates::update(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  if (last_ns_ == 0) last_ns_ = now;
  if (now - last_ns_ < 1'000'000'000ull) return;
  const double span = (now - last_ns_) / 1e9;
  std::set<int> live;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    live.insert(s.pid);
    auto& pc = prev_[s.pid];
    // Syscalls/s only where the whole second was counted.
    const bool counted = s.syscalls_counted_since_ns && s.syscalls_counted_since_ns <= last_ns_;
    if (pc.first || pc.second)
      rates_[s.pid] = {counted ? (s.nr_syscalls - pc.first) / span : -1.0, (s.cpu_ns - pc.second) / 1e7 / span};
    pc = {s.nr_syscalls, s.cpu_ns};
  }
  // Forget the exited.
  std::erase_if(prev_, [&](const auto& kv) { return !live.count(kv.first); });
  std::erase_if(rates_, [&](const auto& kv) { return !live.count(kv.first); });
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
    if (auto we = model::wait_event_of(s)) r.wait = we->text();
    if (s.in_syscall) {
      r.in = model::syscall_name(s.sc_nr);
      r.for_s = (now - std::min(now, s.sc_start_ns)) / 1e9;
    } else if (s.on_cpu) {
      r.in = "on CPU";
    } else {
      r.in = "off CPU";
      r.for_s = s.offcpu_since_ns ? (now - std::min(now, s.offcpu_since_ns)) / 1e9 : 0;
    }
    if (auto rt = rates.of(s.pid)) std::tie(r.sys_rate, r.cpu_pct) = *rt;
    r.stalled = stalled.count(s.pid) > 0;
    rows.push_back(std::move(r));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.stalled > b.stalled; });
  return rows;
}

}  // namespace pgstall::output
