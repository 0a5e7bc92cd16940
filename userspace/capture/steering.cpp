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
    auto [it, fresh] = checks_.try_emplace(s.pid, Check{now, s.cpu_ns, s.nr_sleeps});
    Check& c = it->second;
    if (fresh || now - c.at_ns < kCheckNs) continue;
    const double span = static_cast<double>(now - c.at_ns);
    const double share = static_cast<double>(s.cpu_ns >= c.cpu_ns ? s.cpu_ns - c.cpu_ns : 0) / span;
    const double sleeps = static_cast<double>(s.nr_sleeps - std::min(s.nr_sleeps, c.sleeps)) * 1e9 / span;
    busy |= share >= kBusyShare && sleeps < kMaxSleepsPerS;
    c = {now, s.cpu_ns, s.nr_sleeps};
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
