#include "capture/steering.h"

#include <algorithm>
#include <set>

namespace pgstall::capture {

Steer SyscallSteering::decide(uint64_t now, const std::vector<model::Snapshot>& snaps, bool attached) {
  bool busy = false;
  size_t live = 0;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    ++live;
    const uint64_t busy_ns = s.cpu_ns + s.runq_ns;
    auto [it, fresh] = checks_.try_emplace(s.pid, Check{now, busy_ns, s.nr_sleeps, s.nr_wakeups, s.statement_start});
    Check& c = it->second;
    if (fresh || now - c.at_ns < kCheckNs) continue;
    const double span = static_cast<double>(now - c.at_ns);
    const double share = static_cast<double>(busy_ns >= c.busy_ns ? busy_ns - c.busy_ns : 0) / span;
    const uint64_t sleeps = s.nr_sleeps - std::min(s.nr_sleeps, c.sleeps);
    const uint64_t wakeups = s.nr_wakeups - std::min(s.nr_wakeups, c.wakeups);
    const double waits = static_cast<double>(std::max(sleeps, wakeups)) * 1e9 / span;
    const bool progressed = s.statement_start && c.statement_start && *s.statement_start != *c.statement_start;
    // Readable now, not at the last check: a backend just forked (its
    // entry is set up after its first snapshot). Judged at the next check;
    // judged busy here, it kept the tracepoints on for a whole pgbench run.
    const bool first_read = s.statement_start && !c.statement_start;
    if (share >= kBusyShare && waits < kMaxWaitsPerS && !first_read) {
      if (progressed) {
        ++progressing_;
      } else {
        busy = true;
        busy_ = {s.pid, share, waits};
      }
    }
    c = {now, busy_ns, s.nr_sleeps, s.nr_wakeups, s.statement_start};
  }
  if (checks_.size() > live) {
    std::set<int> present;
    for (const auto& s : snaps)
      if (!s.exited) present.insert(s.pid);
    std::erase_if(checks_, [&](const auto& kv) { return !present.count(kv.first); });
  }
  if (busy) last_busy_ns_ = now;
  if (busy && !attached) return Steer::Attach;
  if (!busy && attached && now - last_busy_ns_ >= kLingerNs) return Steer::Detach;
  return Steer::Keep;
}

Steer LwlockSteering::decide(uint64_t now, const std::vector<model::Snapshot>& snaps, bool attached) {
  bool waiting = false;
  for (const auto& s : snaps) {
    if (s.exited || s.on_cpu || !s.offcpu_since_ns || now < s.offcpu_since_ns + kLongNs) continue;
    if (auto we = model::wait_event_of(s); we && we->type == "LWLock") waiting = true;
  }
  if (waiting) last_wait_ns_ = now;
  if (waiting && !attached) return Steer::Attach;
  if (!waiting && attached && now - last_wait_ns_ >= kLingerNs) return Steer::Detach;
  return Steer::Keep;
}

}  // namespace pgstall::capture
