#include "detect/engine.h"

#include <algorithm>
#include <set>

#include "detect/registry.h"

namespace pgstall::detect {

Engine::Engine(Settings settings) : settings_(std::move(settings)) {
  for (const KindSpec* k : kinds()) slots_.push_back({k, k->make(settings_), {}, ring_inputs(*k)});
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
  e.stall.input_lost = loss_.lost_since(slots_[key.second].inputs, st.since_ns);
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

void Engine::retire(int pid, const model::Snapshot* last, uint64_t now, std::vector<Event>& events) {
  for (auto it = active_.lower_bound({pid, 0}); it != active_.end() && it->first.first == pid;) {
    events.push_back(end_of(it->first, it->second, now, last));
    it = active_.erase(it);
  }
  for (auto& slot : slots_) slot.judge->forget(pid);
  known_.erase(pid);
}

std::vector<Event> Engine::update(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  std::vector<Event> events;
  // Who is gone first: an exited process, or one whose pid now names
  // another process (its exit unseen), ends before the new one is judged,
  // which starts with nothing of it — the same tick can hold both.
  std::map<int, const model::Snapshot*> gone;
  for (const auto& s : snaps) {
    if (s.exited) {
      gone[s.pid] = &s;
    } else if (auto k = known_.find(s.pid);
               k != known_.end() && k->second && s.start_ticks && k->second != s.start_ticks) {
      gone.emplace(s.pid, nullptr);
    }
  }
  for (const auto& [pid, last] : gone) retire(pid, last, now, events);

  std::map<Key, Stall> next = judge_all(now, snaps);
  for (auto& [key, st] : next) st.input_lost = loss_.lost_since(slots_[key.second].inputs, st.since_ns);
  std::map<int, const model::Snapshot*> by_pid;
  for (const auto& s : snaps)
    if (!s.exited) by_pid[s.pid] = &s;

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
  std::map<int, uint64_t> present;
  for (const auto& s : snaps)
    if (!s.exited) present[s.pid] = s.start_ticks;
  for (const auto& [pid, start] : known_)
    if (!present.count(pid))
      for (auto& slot : slots_) slot.judge->forget(pid);
  known_ = std::move(present);
  return events;
}

}  // namespace pgstall::detect
