#include "detect/engine.h"

#include <algorithm>
#include <set>

#include "detect/registry.h"

namespace pgstall::detect {

Engine::Engine(Settings settings) : settings_(std::move(settings)) {
  for (const KindSpec* k : kinds()) slots_.push_back({k, k->make(settings_), {}});
  for (auto& slot : slots_)
    for (std::string_view winner : slot.spec->yields_to)
      for (size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].spec->name == winner) slot.yields_to.push_back(i);
}

std::map<Engine::Key, Stall> Engine::judge_all(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  std::map<Key, Stall> out;
  for (auto& slot : slots_) slot.judge->begin_tick(now, snaps);
  std::vector<std::optional<Stall>> verdicts(slots_.size());
  for (const auto& s : snaps) {
    if (s.exited) continue;
    for (size_t i = 0; i < slots_.size(); ++i) verdicts[i] = slots_[i].judge->judge(now, s);
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!verdicts[i]) continue;
      const auto& winners = slots_[i].yields_to;
      if (std::any_of(winners.begin(), winners.end(), [&](size_t w) { return verdicts[w].has_value(); })) continue;
      out[{s.pid, i}] = std::move(*verdicts[i]);
    }
  }
  return out;
}

Event Engine::end_of(const Key& key, const Stall& st, uint64_t now, const model::Snapshot* last) const {
  Event e;
  e.type = Event::Type::End;
  e.stall = st;
  e.duration_s = secs(st.since_ns, now);
  if (!last) {
    e.exited = true;
    return e;
  }
  // A wait ends with a wake-up: the one that ended the long sleep inside
  // the stall, else the latest one seen.
  e.woken_by = last->long_sleep_end_ns > st.since_ns ? last->long_sleep_waker_pid : last->last_waker_pid;
  if (!slots_[key.second].spec->ended_by_waker) e.woken_by = 0;
  e.exited = last->exited;
  return e;
}

std::vector<Event> Engine::update(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  std::map<Key, Stall> next = judge_all(now, snaps);
  std::map<int, const model::Snapshot*> by_pid;
  for (const auto& s : snaps) by_pid[s.pid] = &s;

  std::vector<Event> events;
  for (const auto& [key, st] : active_) {
    if (next.count(key)) continue;
    auto it = by_pid.find(key.first);
    events.push_back(end_of(key, st, now, it == by_pid.end() ? nullptr : it->second));
  }
  for (const auto& [key, st] : next) {
    if (active_.count(key)) continue;
    Event e;
    e.type = Event::Type::Start;
    e.stall = st;
    e.duration_s = secs(st.since_ns, now);
    events.push_back(std::move(e));
  }
  active_ = std::move(next);
  active_list_.clear();
  for (const auto& [key, st] : active_) active_list_.push_back(st);

  // What the judges keep about processes gone (or exited) is dropped.
  std::set<int> present;
  for (const auto& s : snaps)
    if (!s.exited) present.insert(s.pid);
  for (int pid : known_pids_)
    if (!present.count(pid))
      for (auto& slot : slots_) slot.judge->forget(pid);
  known_pids_.assign(present.begin(), present.end());
  return events;
}

}  // namespace pgstall::detect
