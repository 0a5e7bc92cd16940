#include "detect/detector.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "model/blocking.h"
#include "model/locktag.h"
#include "model/syscalls.h"
#include "model/wait_event.h"

namespace pgstall::detect {
namespace {

constexpr double kNs = 1e9;

double secs(uint64_t a, uint64_t b) { return b > a ? static_cast<double>(b - a) / kNs : 0.0; }

// A sleep that waits for nothing but time: pg_usleep (select/pselect6 with no
// fds up to PostgreSQL 15, nanosleep from 16).
bool in_delay(const Snapshot& s) {
  if (!s.in_syscall) return false;
  static const int kSelect = model::syscall_number("select"), kPselect = model::syscall_number("pselect6"),
                   kNanosleep = model::syscall_number("nanosleep"),
                   kClockNanosleep = model::syscall_number("clock_nanosleep");
  if (s.sc_nr == kNanosleep || s.sc_nr == kClockNanosleep) return true;
  return (s.sc_nr == kSelect || s.sc_nr == kPselect) && s.sc_args[0] == 0;
}

bool is_idle_in_tx(const model::ProcessTitle& t) {
  return t.state == model::ClientState::IdleInTransaction ||
         t.state == model::ClientState::IdleInTransactionAborted;
}

// A file descriptor that is not a file: waiting on it is waiting for a peer.
bool is_peer_fd(const std::string& path) {
  return path.rfind("socket:", 0) == 0 || path.rfind("pipe:", 0) == 0 ||
         path.rfind("anon_inode:", 0) == 0;
}

}  // namespace

std::optional<model::WaitEvent> wait_event_of(const Snapshot& s) {
  if (!s.wait_event_info || *s.wait_event_info == 0) return std::nullopt;
  return model::decode_wait_event(*s.wait_event_info, s.pg_major);
}

model::LockTag lock_tag_of(const Snapshot& s) {
  model::LockTag t;
  t.field = s.pg.lock_field;
  t.type_id = s.pg.lock_type;
  t.type = std::string(model::lock_tag_type_name(static_cast<uint8_t>(s.pg.lock_type), s.pg_major).value_or(""));
  t.mode = s.pg.lock_mode;
  return t;
}

namespace {

std::string lwlock_mode_text(int mode) {
  // LWLockMode, src/include/storage/lwlock.h
  switch (mode) {
    case 0: return "exclusive";
    case 1: return "shared";
    case 2: return "wait until free";
  }
  return fmt::format("mode {}", mode);
}

nlohmann::json base_detail(const Snapshot& s) {
  nlohmann::json d;
  d["title"] = s.title.raw;
  if (!s.title.database.empty()) d["database"] = s.title.database;
  if (!s.title.user.empty()) d["user"] = s.title.user;
  if (!s.title.command.empty()) d["command"] = s.title.command;
  if (auto we = wait_event_of(s)) d["wait_event"] = we->text();
  return d;
}

}  // namespace

std::string thousands(double v) {
  auto digits = fmt::format("{:.0f}", v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::LockSleep: return "lock-sleep";
    case Kind::LwlockWait: return "lwlock-wait";
    case Kind::IoWait: return "io-wait";
    case Kind::HotLoop: return "hot-loop";
    case Kind::CpuBound: return "cpu-bound";
    case Kind::DelayLoop: return "delay-loop";
  }
  return "unknown";
}

LoopVerdict judge_loop_window(const Window& w, const Thresholds& t) {
  LoopVerdict v;
  double span = secs(w.start_ns, w.end_ns);
  if (span <= 0 || w.total == 0) {
    v.why_not = "no syscalls";
    return v;
  }
  v.rate = w.total / span;
  std::vector<uint32_t> counts;
  for (const auto& m : w.mix) counts.push_back(m.count);
  std::sort(counts.rbegin(), counts.rend());
  uint64_t top = 0;
  for (size_t i = 0; i < counts.size() && i < 3; ++i) top += counts[i];
  v.top_share = static_cast<double>(top) / w.total;
  // Same call, same arguments, same result again; or the same error over and
  // over (EAGAIN/EINTR loops pass different buffers but fail the same way).
  uint64_t same_err = 0;
  for (const auto& m : w.mix)
    if (m.last_ret < 0) same_err += m.same_ret;
  v.repeat_share = static_cast<double>(std::max<uint64_t>(w.repeats, same_err)) / w.total;
  if (v.rate < t.hot_loop_rate)
    v.why_not = fmt::format("rate {:.0f}/s below {:.0f}/s", v.rate, t.hot_loop_rate);
  else if (v.top_share < t.hot_loop_top_share)
    v.why_not = fmt::format("mix spread: top 3 syscalls only {:.0f}%", v.top_share * 100);
  else if (v.repeat_share < t.hot_loop_repeat_share)
    v.why_not = fmt::format("progress: only {:.0f}% repeated calls", v.repeat_share * 100);
  else if (w.client_io > 0)
    v.why_not = fmt::format("progress: {} client socket calls", w.client_io);
  else if (w.block_issued > 0)
    v.why_not = fmt::format("progress: {} block requests issued", w.block_issued);
  else
    v.looping = true;
  return v;
}

std::string describe_mix(const Window& w) {
  std::vector<MixEntry> mix = w.mix;
  std::sort(mix.begin(), mix.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  std::string out;
  for (const auto& m : mix) {
    if (m.count == 0 || w.total == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.0f}%", model::syscall_name(m.nr), 100.0 * m.count / w.total);
    if (m.count > 1 && m.same_ret * 2 >= m.count) out += fmt::format(" (ret {})", m.last_ret);
  }
  if (w.other) out += fmt::format(", other {:.0f}%", 100.0 * w.other / w.total);
  return out;
}

std::vector<Stall> Engine::judge(uint64_t now, const Snapshot& s, History& h,
                                 const std::vector<Snapshot>& all) {
  std::vector<Stall> out;
  const std::string sc = s.in_syscall ? model::syscall_name(s.sc_nr) : "";
  char state = s.on_cpu ? 'R' : s.offcpu_state;
  auto make = [&](Kind k, uint64_t since, bool lower) {
    Stall st;
    st.kind = k;
    st.pid = s.pid;
    st.since_ns = since;
    st.lower_bound = lower;
    st.syscall = sc;
    st.state = state;
    st.detail = base_detail(s);
    if (s.in_syscall) st.detail["syscall_running_s"] = std::round(secs(s.sc_start_ns, now) * 1000) / 1000;
    if (s.pg.query_since_ns && s.pg.query_since_ns <= now)
      st.detail["query"] = {{"text", s.pg.query},
                            {"running_s", std::round(secs(s.pg.query_since_ns, now) * 10) / 10},
                            {"truncated", s.pg.query_truncated}};
    return st;
  };

  // lock-sleep: the title says "waiting". The epoll_wait under it is cut at
  // deadlock_timeout, so the wait is timed from the title, not the syscall.
  const auto we = wait_event_of(s);
  const bool we_lock = we && we->type == "Lock";
  if (s.title.waiting || s.pg.lock_since_ns || we_lock) {
    if (!h.waiting_since) {
      h.waiting_since = now;
      h.waiting_lower_bound = s.lower_bound;
      if (s.lower_bound && !s.on_cpu && s.offcpu_since_ns && s.offcpu_since_ns < now)
        h.waiting_since = s.offcpu_since_ns;
    }
    // The probe saw the wait begin: that is when it began.
    if (s.pg.lock_since_ns && s.pg.lock_since_ns < *h.waiting_since) {
      h.waiting_since = s.pg.lock_since_ns;
      h.waiting_lower_bound = false;
    }
    if (secs(*h.waiting_since, now) >= t_.lock_sleep_s) {
      Stall st = make(Kind::LockSleep, *h.waiting_since, h.waiting_lower_bound);
      nlohmann::json holders = nlohmann::json::array();
      std::string htext;
      std::vector<std::pair<double, const Snapshot*>> cands;
      for (const auto& o : all) {
        if (o.pid == s.pid || !is_idle_in_tx(o.title)) continue;
        auto it = hist_.find(o.pid);
        double idle = it != hist_.end() && it->second.idle_tx_since ? secs(*it->second.idle_tx_since, now) : 0;
        cands.emplace_back(idle, &o);
      }
      // Same database first, then the longest idle: the likeliest holders.
      std::sort(cands.begin(), cands.end(), [&](const auto& a, const auto& b) {
        bool sa = a.second->title.database == s.title.database, sb = b.second->title.database == s.title.database;
        if (sa != sb) return sa;
        return a.first > b.first;
      });
      for (const auto& [idle, o] : cands) {
        holders.push_back({{"pid", o->pid},
                           {"state", model::client_state_name(o->title.state)},
                           {"idle_s", std::round(idle * 10) / 10},
                           {"database", o->title.database},
                           {"user", o->title.user}});
        if (htext.size() < 200)
          htext += fmt::format("{}pid {} ({} {:.0f}s)", htext.empty() ? "" : ", ", o->pid,
                               model::client_state_name(o->title.state), idle);
      }
      st.detail["holder_candidates"] = holders;
      std::string what;
      if (s.pg.lock_since_ns) {
        auto tag = lock_tag_of(s);
        st.detail["lock"] = model::lock_json(tag);
        st.detail["lock"]["source"] = "usdt";
        what = st.detail["lock"]["text"].get<std::string>() + ", ";
      } else if (s.shm_lock) {
        st.detail["lock"] = model::lock_json(s.shm_lock->tag);
        st.detail["lock"]["source"] = "shared_memory";
        what = st.detail["lock"]["text"].get<std::string>() + ", ";
      } else if (we_lock) {
        st.detail["lock"] = {{"type", we->name}, {"source", "wait_event"}};
        what = we->name + " lock, ";
      }
      const std::string doing = s.title.command.empty() ? "waiting" : s.title.command + " waiting";
      if (s.shm_lock) {
        auto [blocked_by, btext] = blockers_of(now, s, all);
        st.detail["blocked_by"] = std::move(blocked_by);
        st.summary = fmt::format("heavyweight lock wait ({}{}); {}", what, doing, btext);
      } else {
        st.summary = fmt::format("heavyweight lock wait ({}{}); holder candidates: {}", what, doing,
                                 htext.empty() ? "none idle in transaction" : htext);
      }
      out.push_back(std::move(st));
    }
  } else {
    h.waiting_since.reset();
  }

  // lwlock-wait / io-wait: a syscall or D-state sleep that has not come back.
  auto cls = s.in_syscall ? model::syscall_class(s.sc_nr) : model::SyscallClass::Other;
  const std::string file = s.sc_fd_path;
  const bool we_lwlock = we && we->type == "LWLock";
  const uint64_t lw_since = s.pg.lwlock_since_ns ? s.pg.lwlock_since_ns : s.sc_start_ns;
  if (((s.in_syscall && cls == model::SyscallClass::Futex) || s.pg.lwlock_since_ns) && !s.on_cpu &&
      secs(lw_since, now) >= t_.lwlock_wait_s) {
    Stall st = make(Kind::LwlockWait, lw_since, s.lower_bound && !s.pg.lwlock_since_ns);
    if (s.pg.lwlock_since_ns) {
      st.detail["lwlock"] = {{"tranche", s.pg.lwlock_tranche}, {"mode", lwlock_mode_text(s.pg.lwlock_mode)},
                             {"source", "usdt"}};
      st.summary = fmt::format("LWLock {} ({})", s.pg.lwlock_tranche, lwlock_mode_text(s.pg.lwlock_mode));
    } else if (we_lwlock) {
      st.detail["lwlock"] = {{"tranche", we->name}, {"source", "wait_event"}};
      st.summary = fmt::format("LWLock {}", we->name);
    } else {
      st.summary = "futex sleep: an LWLock or semaphore wait";
    }
    out.push_back(std::move(st));
  } else if (s.in_syscall && cls == model::SyscallClass::FileIo && !is_peer_fd(file) &&
             secs(s.sc_start_ns, now) >= t_.io_wait_s) {
    Stall st = make(Kind::IoWait, s.sc_start_ns, s.lower_bound);
    if (!file.empty()) st.detail["file"] = file;
    st.summary = fmt::format("{}({}) {}", sc, file.empty() ? "?" : file,
                             state == 'D' ? "in D state" : fmt::format("in state {}", state));
    out.push_back(std::move(st));
  } else if (!s.on_cpu && s.offcpu_state == 'D' && s.offcpu_since_ns &&
             secs(s.offcpu_since_ns, now) >= t_.io_wait_s) {
    Stall st = make(Kind::IoWait, s.offcpu_since_ns, s.lower_bound);
    st.summary = fmt::format("uninterruptible sleep (D state){}", sc.empty() ? "" : " in " + sc);
    out.push_back(std::move(st));
  }

  // delay-loop: asleep in a pure delay (pg_usleep: select/pselect6 with no
  // fds, or nanosleep) at every look, waking and sleeping again: a polling
  // wait Postgres gives no wait event for. Vacuum's cost delay is one too,
  // and healthy: it says so (Timeout:VacuumDelay).
  {
    const bool vacuum_delay = we && we->type == "Timeout" && we->name == "VacuumDelay";
    if (!s.on_cpu && in_delay(s) && !vacuum_delay) {
      if (!h.delay_since) {
        h.delay_since = s.sc_start_ns && s.sc_start_ns < now ? s.sc_start_ns : now;
        h.delay_sleeps0 = s.nr_sleeps;
      }
      h.delay_seen_ns = now;
    } else if (!(s.on_cpu && h.delay_since && secs(h.delay_seen_ns, now) < 1.0)) {
      h.delay_since.reset();  // on CPU between two delays is part of the loop; anything else ends it
    }
    if (h.delay_since) {
      const double for_s = secs(*h.delay_since, now);
      const double rate = for_s > 0 ? static_cast<double>(s.nr_sleeps - h.delay_sleeps0) / for_s : 0;
      if (for_s >= t_.delay_loop_s && rate >= t_.delay_loop_rate) {
        Stall st = make(Kind::DelayLoop, *h.delay_since, false);
        st.detail["sleeps_per_s"] = std::round(rate);
        st.summary = fmt::format("{:.0f} short sleeps/s in {} with nothing to wait on (pg_usleep), no wait event: "
                                 "a polling wait",
                                 rate, sc.empty() ? "a delay" : sc);
        if (we) st.summary = fmt::format("{:.0f} short sleeps/s in {} (pg_usleep), wait event {}", rate,
                                         sc.empty() ? "a delay" : sc, we->text());
        if (s.checkpoint_phase == "starting")
          st.summary += "; its checkpoint is starting: it waits for transactions inside their commit critical "
                        "section (delayChkptFlags): look for backends stuck in COMMIT (io-wait on pg_wal)";
        else if (!s.checkpoint_phase.empty())
          st.summary += "; its checkpoint is " + s.checkpoint_phase;
        out.push_back(std::move(st));
      }
    }
  }

  // hot-loop: judged on complete kernel-aggregated windows.
  if (s.completed_window) {
    const Window& w = *s.completed_window;
    LoopVerdict v = judge_loop_window(w, t_);
    if (v.looping) {
      if (!h.hot_since) h.hot_since = w.start_ns;
      h.last_hot_window = w;
    } else {
      h.hot_since.reset();
      h.last_hot_window.reset();
    }
  }
  if (h.hot_since && h.last_hot_window && secs(*h.hot_since, h.last_hot_window->end_ns) + 0.05 >= t_.hot_loop_s) {
    const Window& w = *h.last_hot_window;
    LoopVerdict v = judge_loop_window(w, t_);
    Stall st = make(Kind::HotLoop, *h.hot_since, false);
    nlohmann::json mix = nlohmann::json::array();
    for (const auto& m : w.mix)
      if (m.count)
        mix.push_back({{"syscall", model::syscall_name(m.nr)},
                       {"count", m.count},
                       {"share", std::round(1000.0 * m.count / w.total) / 1000},
                       {"last_ret", m.last_ret},
                       {"same_ret", m.same_ret}});
    st.detail["mix"] = mix;
    st.detail["rate_per_s"] = std::round(v.rate);
    st.detail["repeat_share"] = std::round(v.repeat_share * 1000) / 1000;
    st.detail["client_io"] = w.client_io;
    st.detail["block_issued"] = w.block_issued;
    st.summary = fmt::format("{} syscalls/s: {}; {:.0f}% repeated calls, no client I/O, no block I/O",
                             thousands(v.rate), describe_mix(w), v.repeat_share * 100);
    out.push_back(std::move(st));
  }

  // cpu-bound: busy on CPU with few syscalls, checked once a second. Few
  // syscalls can only be told over an interval the kernel counted whole.
  const bool counted = s.syscalls_counted_since_ns != 0;
  if (h.busy_check_ns == 0 || (counted && s.syscalls_counted_since_ns > h.busy_check_ns)) {
    h.busy_check_ns = now;  // (re)start the interval where counting began
    h.busy_check_cpu = s.cpu_ns;
    h.busy_check_sys = s.nr_syscalls;
  } else if (now - h.busy_check_ns >= static_cast<uint64_t>(kNs)) {
    double span = secs(h.busy_check_ns, now);
    h.last_cpu_share = (s.cpu_ns >= h.busy_check_cpu ? s.cpu_ns - h.busy_check_cpu : 0) / kNs / span;
    h.last_sys_rate = s.nr_syscalls >= h.busy_check_sys ? (s.nr_syscalls - h.busy_check_sys) / span : 0;
    if (counted && h.last_cpu_share >= t_.cpu_busy_share && h.last_sys_rate < t_.cpu_few_syscalls) {
      if (!h.busy_since) h.busy_since = h.busy_check_ns;
    } else {
      h.busy_since.reset();
    }
    h.busy_check_ns = now;
    h.busy_check_cpu = s.cpu_ns;
    h.busy_check_sys = s.nr_syscalls;
  }
  if (h.busy_since && secs(*h.busy_since, now) >= t_.cpu_bound_s) {
    Stall st = make(Kind::CpuBound, *h.busy_since, false);
    st.detail["cpu_share"] = std::round(h.last_cpu_share * 1000) / 1000;
    st.detail["syscalls_per_s"] = std::round(h.last_sys_rate);
    st.summary = fmt::format("on CPU {:.0f}% of the time, {:.0f} syscalls/s", h.last_cpu_share * 100,
                             h.last_sys_rate);
    out.push_back(std::move(st));
  }
  return out;
}

std::pair<nlohmann::json, std::string> Engine::blockers_of(uint64_t now, const Snapshot& s,
                                                            const std::vector<Snapshot>& all) const {
  std::map<int, const Snapshot*> by_pid;
  std::vector<model::BlockedBy> waits;
  for (const auto& o : all) {
    by_pid[o.pid] = &o;
    if (!o.shm_lock) continue;
    model::BlockedBy b;
    b.pid = o.pid;
    for (const auto& h : o.shm_lock->blockers) b.blocked_by.push_back(h.pid);
    waits.push_back(std::move(b));
  }
  nlohmann::json holders = nlohmann::json::array();
  std::string text;
  for (const auto& h : s.shm_lock->blockers) {
    nlohmann::json j = {{"pid", h.pid}, {"holds", model::lock_mask_text(h.hold_mask)}};
    std::string state = h.pid == 0 ? "prepared transaction" : "";
    if (auto it = by_pid.find(h.pid); it != by_pid.end()) {
      const Snapshot& o = *it->second;
      j["state"] = state = model::client_state_name(o.title.state);
      if (auto ht = hist_.find(h.pid); ht != hist_.end() && ht->second.idle_tx_since) {
        const double idle = secs(*ht->second.idle_tx_since, now);
        j["idle_s"] = std::round(idle * 10) / 10;
        state += fmt::format(" {:.0f}s", idle);
      }
      if (o.shm_lock) state += ", itself waiting for " + model::describe_lock(o.shm_lock->tag);
    }
    holders.push_back(std::move(j));
    if (text.size() < 200)
      text += fmt::format("{}pid {} ({}{}{})", text.empty() ? "" : ", ", h.pid, model::lock_mask_text(h.hold_mask),
                          state.empty() ? "" : ", ", state);
  }
  const auto chain = model::blocking_chain(s.pid, waits);
  nlohmann::json j = {{"source", "shared_memory"}, {"holders", holders}, {"chain", chain}};
  if (holders.empty()) return {j, "no conflicting holder in the lock table (queued behind other waiters)"};
  text = "blocked by " + text;
  if (chain.size() > 2) {
    std::string c;
    for (int p : chain) c += (c.empty() ? "" : " -> ") + std::to_string(p);
    text += "; chain " + c;
    if (std::find(chain.begin(), chain.end() - 1, chain.back()) != chain.end() - 1)
      text += " (a cycle: a deadlock the server has not yet broken)";
  }
  return {j, text};
}

std::vector<Event> Engine::update(uint64_t now, const std::vector<Snapshot>& snaps) {
  std::vector<Event> events;
  std::set<int> present;
  // Idle-in-transaction clocks first: lock-sleep verdicts name them as holders.
  for (const auto& s : snaps) {
    if (s.exited) continue;
    present.insert(s.pid);
    History& h = hist_[s.pid];
    if (is_idle_in_tx(s.title)) {
      if (!h.idle_tx_since) {
        // Idle means waiting for the client: the poll it sits in started the idle time.
        h.idle_tx_since = now;
        if (s.in_syscall && model::syscall_class(s.sc_nr) == model::SyscallClass::Poll && s.sc_start_ns < now)
          h.idle_tx_since = s.sc_start_ns;
      }
    } else {
      h.idle_tx_since.reset();
    }
  }

  std::map<std::pair<int, Kind>, Stall> next;
  std::map<int, const Snapshot*> by_pid;
  for (const auto& s : snaps) {
    by_pid[s.pid] = &s;
    if (s.exited) continue;
    for (auto& st : judge(now, s, hist_[s.pid], snaps)) next[{st.pid, st.kind}] = std::move(st);
  }

  for (auto& [key, st] : active_) {
    if (next.count(key)) continue;
    Event e;
    e.type = Event::Type::End;
    e.stall = st;
    e.duration_s = secs(st.since_ns, now);
    if (auto it = by_pid.find(key.first); it != by_pid.end()) {
      const Snapshot& s = *it->second;
      // A wait ends with a wake-up: the one that ended the long sleep inside
      // the stall, else the latest one seen.
      e.woken_by = s.long_sleep_end_ns > st.since_ns ? s.long_sleep_waker_pid : s.last_waker_pid;
      // A polling loop's sleeps end by their timer: whoever ran the timer
      // interrupt is no cause.
      if (st.kind == Kind::DelayLoop) e.woken_by = 0;
      e.exited = s.exited;
    } else {
      e.exited = true;
    }
    events.push_back(std::move(e));
  }
  for (auto& [key, st] : next) {
    if (active_.count(key)) continue;
    Event e;
    e.type = Event::Type::Start;
    e.stall = st;
    e.duration_s = secs(st.since_ns, now);
    events.push_back(std::move(e));
  }
  active_ = std::move(next);
  for (auto it = hist_.begin(); it != hist_.end();)
    it = present.count(it->first) ? std::next(it) : hist_.erase(it);
  return events;
}

}  // namespace pgstall::detect
