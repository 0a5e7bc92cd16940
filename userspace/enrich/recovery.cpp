#include "enrich/recovery.h"

#include <cctype>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "detect/kind.h"

namespace pgstall::enrich {

std::string segment_of(const std::string& detail, bool& waiting) {
  waiting = false;
  std::string rest;
  if (detail.rfind("recovering ", 0) == 0) {
    rest = detail.substr(11);
  } else if (detail.rfind("waiting for ", 0) == 0) {
    rest = detail.substr(12);
    waiting = true;
  } else {
    return "";
  }
  rest = rest.substr(0, rest.find(' '));
  if (rest.size() != 24) return "";
  for (char c : rest)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  return rest;
}

void RecoveryProgress::observe(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  std::set<int> present;
  for (const auto& s : snaps) {
    if (s.exited || s.title.type != model::BackendType::Startup) continue;
    bool waiting = false;
    const std::string seg = segment_of(s.title.detail, waiting);
    if (seg.empty()) continue;
    present.insert(s.pid);
    auto [it, fresh] = procs_.try_emplace(s.pid);
    Seen& p = it->second;
    if (fresh) {
      p = {seg, waiting, now, now, {}};
      continue;
    }
    p.waiting = waiting;
    if (p.segment != seg) {
      p.segment = seg;
      p.since = now;
      p.changes.push_back(now);
    }
    while (!p.changes.empty() && detect::secs(p.changes.front(), now) > kRecentS) p.changes.pop_front();
  }
  std::erase_if(procs_, [&](const auto& kv) { return !present.count(kv.first); });
}

std::optional<Progress> RecoveryProgress::of(int pid, uint64_t now) const {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return std::nullopt;
  const Seen& p = it->second;
  Progress out;
  out.segment = p.segment;
  out.waiting = p.waiting;
  out.on_segment_s = detect::secs(p.since, now);
  out.since_start = p.since == p.first_seen;
  out.recent = p.changes.size();
  out.span_s = std::min(kRecentS, detect::secs(p.first_seen, now));
  return out;
}

std::optional<std::string> RecoveryProgress::describe(int pid, uint64_t now) const {
  const auto p = of(pid, now);
  if (!p) return std::nullopt;
  std::string out = fmt::format("{} {} for {}{:.0f} s", p->waiting ? "waiting for" : "replaying", p->segment,
                                p->since_start ? "≥" : "", p->on_segment_s);
  if (p->span_s >= 10)
    out += p->recent ? fmt::format("; {} segment{} in the last {:.0f} s", p->recent, p->recent == 1 ? "" : "s",
                                   p->span_s)
                     : fmt::format("; no segment finished in the last {:.0f} s", p->span_s);
  return out;
}

void RecoveryProgress::annotate(detect::Stall& stall, uint64_t now) const {
  const auto p = of(stall.pid, now);
  const auto words = describe(stall.pid, now);
  if (!p || !words) return;
  stall.detail["recovery"] = {{"segment", p->segment},
                              {"waiting_for_wal", p->waiting},
                              {"on_segment_s", std::round(p->on_segment_s * 10) / 10},
                              {"on_segment_lower_bound", p->since_start},
                              {"segments_recent", p->recent},
                              {"recent_span_s", std::round(p->span_s)}};
  stall.summary += "; recovery: " + *words;
}

}  // namespace pgstall::enrich
