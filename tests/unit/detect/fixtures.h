#pragma once
// Synthetic snapshot streams for the detector and enrichment tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "detect/engine.h"
#include "model/snapshot.h"
#include "model/syscalls.h"

namespace pgstall::testing {

using detect::Event;

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kT0 = 1000 * kSec;  // monotonic clocks do not start at 0

inline model::ProcessTitle client(const std::string& cmd, model::ClientState st, bool waiting = false) {
  model::ProcessTitle t;
  t.type = model::BackendType::ClientBackend;
  t.user = "app";
  t.database = "shop";
  t.client = "[local]";
  t.command = cmd;
  t.state = st;
  t.waiting = waiting;
  t.raw = "postgres: app shop [local] " + cmd + (waiting ? " waiting" : "");
  return t;
}

inline model::Snapshot sleeping_in(int pid, const char* syscall, uint64_t since, char state = 'S') {
  model::Snapshot s;
  s.pid = pid;
  s.title = client("idle", model::ClientState::Idle);
  s.in_syscall = true;
  s.sc_nr = model::syscall_number(syscall);
  s.sc_start_ns = since;
  s.on_cpu = false;
  s.offcpu_since_ns = since;
  s.offcpu_state = state;
  return s;
}

// Runs the engine from t0 to t1 in 100 ms ticks; `make` builds the snapshots
// at each tick. Returns every event.
template <typename F>
std::vector<Event> run(detect::Engine& e, uint64_t t0, uint64_t t1, F make) {
  std::vector<Event> all;
  for (uint64_t t = t0; t <= t1; t += kSec / 10) {
    auto ev = e.update(t, make(t));
    all.insert(all.end(), ev.begin(), ev.end());
  }
  return all;
}

inline std::vector<Event> starts(const std::vector<Event>& ev, std::string_view kind) {
  std::vector<Event> out;
  for (const auto& e : ev)
    if (e.type == Event::Type::Start && e.stall.kind == kind) out.push_back(e);
  return out;
}

inline model::Window loop_window(uint64_t start, uint32_t total, uint32_t repeats) {
  model::Window w;
  w.start_ns = start;
  w.end_ns = start + kSec;
  w.total = total;
  w.repeats = repeats;
  w.mix = {{model::syscall_number("lseek"), total / 2, 8192, total / 2 - 1},
           {model::syscall_number("read"), total - total / 2, 0, total - total / 2 - 1}};
  for (int i = 0; i < 8; ++i) {
    w.sequence.push_back({model::syscall_number("lseek"), 8192, 5, 0});
    w.sequence.push_back({model::syscall_number("read"), 0, 5, 8192});
  }
  return w;
}

// A window of `turns` turns of one cycle of calls: its mix (counts, last
// returns), its total and its last 16 calls; `repeats` as the kernel counted.
inline model::Window cycle_window(uint64_t start, const std::vector<model::SeqCall>& turn, uint32_t turns,
                                  uint32_t repeats) {
  model::Window w;
  w.start_ns = start;
  w.end_ns = start + kSec;
  w.total = turns * static_cast<uint32_t>(turn.size());
  w.repeats = repeats;
  for (const auto& c : turn) {
    auto m = std::find_if(w.mix.begin(), w.mix.end(), [&](const auto& e) { return e.nr == c.nr; });
    if (m == w.mix.end()) m = w.mix.insert(w.mix.end(), {c.nr, 0, 0, 0});
    m->count += turns;
    m->last_ret = c.ret;
  }
  for (auto& m : w.mix) m.same_ret = m.count - 1;
  for (uint32_t i = w.total - std::min<uint32_t>(w.total, 16); i < w.total; ++i)
    w.sequence.push_back(turn[i % turn.size()]);
  return w;
}

// wait_event_info of a named wait event in a major version, found through
// the decoder (the numbers differ between versions).
inline uint32_t event_info(std::string_view type, std::string_view name, int major = 15) {
  for (uint32_t cls = 1; cls <= 0x0b; ++cls)
    for (uint32_t ev = 0; ev < 256; ++ev) {
      const uint32_t info = cls << 24 | ev;
      auto w = model::decode_wait_event(info, major);
      if (w && w->type == type && w->name == name) return info;
    }
  ADD_FAILURE() << "no " << type << ":" << name << " in PostgreSQL " << major;
  return 0;
}

// A process asleep in epoll_wait since `since`, publishing a wait event.
inline model::Snapshot waiting_on(int pid, std::string_view type, std::string_view name, uint64_t since) {
  model::Snapshot s = sleeping_in(pid, "epoll_wait", since);
  s.pg_major = 15;
  s.wait_event_info = event_info(type, name);
  return s;
}

}  // namespace pgstall::testing
