#include "capture/processes.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "model/procfs.h"
#include "model/procstate.h"
#include "model/title.h"

namespace pgstall::capture {
namespace {

constexpr uint64_t kTitleWaitNs = 1'000'000'000ull;

void set_title(ProcInfo& p, const std::string& cmdline) {
  p.raw_cmdline = cmdline;
  p.title = model::parse_title(cmdline);
  // A freshly forked child still shows the postmaster's argv.
  if (p.pid != p.postmaster && p.title.type == model::BackendType::Postmaster)
    p.title.type = model::BackendType::Unknown;
}

// What /proc says a process already running is doing: the in-flight state
// to seed the kernel's with. Its durations are lower bounds.
pgstall_thread_state seed_from_proc(ProcInfo& p, const Tracer& tracer) {
  pgstall_thread_state seed{};
  seed.flags = PGSTALL_F_TRACKED;
  seed.tgid = static_cast<uint32_t>(p.pid);
  seed.sc_nr = PGSTALL_NO_SYSCALL;
  seed.sleep_sc_nr = PGSTALL_NO_SYSCALL;
  seed.off_kstack = seed.off_ustack = PGSTALL_NO_STACK;  // asleep since before: no stack taken
  seed.sc_gen = tracer.sc_gen();
  const uint64_t now = monotonic_ns();
  auto st = model::read_proc_stat(p.pid);
  if (st && st->state == 'R') {
    seed.oncpu_since_ns = now;
  } else if (st) {
    const double age = model::proc_last_ran_age_s(p.pid).value_or(0.0);
    const uint64_t since = now - std::min<uint64_t>(now, static_cast<uint64_t>(age * 1e9));
    seed.offcpu_since_ns = since;
    seed.offcpu_state = st->state == 'D' ? 2 : 1;
    seed.flags |= PGSTALL_F_SEEDED_SLEEP;  // aggregated at its wake, stackless, as a lower bound
    if (auto sc = model::proc_syscall(p.pid)) {
      seed.sc_nr = sc->nr;
      seed.sc_start_ns = since;
      std::copy(std::begin(sc->args), std::end(sc->args), seed.sc_args);
      seed.sleep_sc_nr = sc->nr;
      std::copy(std::begin(sc->args), std::end(sc->args), seed.sleep_sc_args);
      p.seeded_sc_start_ns = since;
    }
    p.seeded_offcpu_ns = since;
  }
  return seed;
}

std::map<int, model::ProcStat> postgres_in_proc(int self) {
  std::map<int, model::ProcStat> pg;
  for (int pid : model::list_pids()) {
    if (pid == self) continue;
    auto st = model::read_proc_stat(pid);
    if (st && model::is_postgres_comm(st->comm)) pg.emplace(pid, *st);
  }
  return pg;
}

}  // namespace

Processes::Processes(Tracer& tracer, Targets targets, bool wait_events, std::function<void(int)> on_removed)
    : tracer_(tracer),
      targets_(std::move(targets)),
      wait_events_(wait_events),
      on_removed_(std::move(on_removed)),
      self_(getpid()) {}

const ProcInfo* Processes::find(int pid) const {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : &it->second;
}

std::optional<std::string> Processes::target_of(int pid) const {
  if (dirs_.empty()) return std::string();
  for (const auto& d : dirs_)
    if (model::runs_from(pid, d)) return d.path;
  return std::nullopt;
}

void Processes::add_target(model::DataDir d) {
  for (const auto& t : dirs_)
    if (t.path == d.path || (t.dev == d.dev && t.ino == d.ino)) return;
  dirs_.push_back(std::move(d));
}

// A --pid must name a running postgres process now; its cluster is then
// followed by data directory, across restarts. A --data-dir must be a data
// directory; whether its server runs yet does not matter.
Result<void> Processes::resolve_targets() {
  for (int pid : targets_.pids) {
    auto st = model::read_proc_stat(pid);
    if (!st) return fail(fmt::format("no process with pid {}", pid));
    if (!model::is_postgres_comm(st->comm))
      return fail(fmt::format("pid {} is not a PostgreSQL process (it is '{}')", pid, st->comm));
    // A backend's pid stands for its cluster: follow it up to the postmaster.
    int pm = pid;
    if (auto parent = model::read_proc_stat(st->ppid); parent && model::is_postgres_comm(parent->comm)) pm = st->ppid;
    auto cwd = model::cwd_of(pm);
    if (!cwd) return fail(fmt::format("cannot read the data directory of pid {} (/proc/{}/cwd)", pm, pm));
    add_target(std::move(*cwd));
  }
  for (const auto& dir : targets_.data_dirs) {
    auto d = model::open_data_dir(dir);
    if (!d) return d.error();
    add_target(std::move(*d));
  }
  return {};
}

Result<void> Processes::start() {
  if (auto r = resolve_targets(); !r) return r;
  std::set<std::string> targets;
  for (const auto& d : dirs_) targets.insert(d.path);
  waits_ = TargetWaits(targets);
  // What runs now was running before pgstall: no postmaster_start notice.
  starting_ = true;
  rescan();
  starting_ = false;
  return {};
}

bool Processes::postmaster_may_be_up() const {
  for (const auto& target : waits_.waiting()) {
    if (target.empty()) return true;
    for (const auto& d : dirs_)
      if (d.path == target && model::running_postmaster(d)) return true;
  }
  return false;
}

void Processes::update_waits() {
  for (const auto& b : waits_.update(postmasters_)) waiting_.push_back({b.target, why_waiting(b)});
}

std::string Processes::why_waiting(const TargetWaits::Began& b) const {
  if (!b.exited.empty())
    return fmt::format("postmaster{} {} exited", b.exited.size() > 1 ? "s" : "", fmt::join(b.exited, ", "));
  for (const auto& d : dirs_)
    if (d.path == b.target)
      if (auto pm = model::running_postmaster(d); !pm) return pm.error().message;
  return "no postmaster found in /proc";
}

bool Processes::seed_and_track(ProcInfo& p) {
  if (auto tracked = tracer_.track(p.pid, seed_from_proc(p, tracer_)); !tracked) {
    spdlog::debug("{}", tracked.error().message);
    return false;
  }
  return true;
}

void Processes::add(int pid, int ppid, int postmaster, bool from_fork, const std::string& target) {
  if (pid == self_ || procs_.count(pid)) return;
  ProcInfo p;
  p.pid = pid;
  p.ppid = ppid;
  p.postmaster = postmaster;
  p.first_seen_ns = monotonic_ns();
  if (auto st = model::read_proc_stat(pid)) p.start_ticks = st->starttime_ticks;
  if (auto cwd = model::proc_cwd(postmaster)) p.data_dir = *cwd;
  if (auto pm = procs_.find(postmaster); pm != procs_.end()) {
    p.pg_major = pm->second.pg_major;
  } else if (!p.data_dir.empty()) {
    std::ifstream v(p.data_dir + "/PG_VERSION");
    v >> p.pg_major;
  }
  if (auto cmd = model::proc_cmdline(pid)) set_title(p, *cmd);
  // A child seen forking is tracked by the kernel already; one found in
  // /proc is seeded from what /proc says it is doing.
  const uint64_t gone_before = tracer_.gone_before_read();
  if (from_fork ? !tracer_.adopt(pid) : !seed_and_track(p)) {
    if (from_fork && tracer_.gone_before_read() > gone_before) say_gone_unread(p);
    return;
  }
  p.windows_delivered_epoch = tracer_.epoch();
  if (pid == postmaster) {
    postmasters_[pid] = target;
    if (wait_events_ && p.pg_major && p.pg_major < 14)
      notices_.push_back(fmt::format("postmaster {}: PostgreSQL {} exports no my_wait_event_info; wait events "
                                     "are not shown for this cluster",
                                     pid, p.pg_major));
    if (tracer_.usdt_enabled())
      if (auto usdt = tracer_.attach_usdt(pid); !usdt)
        notices_.push_back(fmt::format("postmaster {}: {}; lock tags and LWLock tranches come from the wait "
                                       "event only", pid, usdt.error().message));
    events_.push_back({"postmaster_start", pid, "postmaster", p.data_dir, starting_});
  } else if (p.title.type == model::BackendType::Unknown) {
    p.start_pending = true;  // a child sets its title just after the fork (seen forking or in /proc)
  } else {
    announce(p);
  }
  procs_.emplace(pid, std::move(p));
}

// Seen forking, gone before it could be adopted: its fork record was drained
// late (pgstall held up), or it lived only a moment (a refused connection).
// Its start and end are said all the same, with all that is known of it: a
// process the kernel saw never goes unsaid.
void Processes::say_gone_unread(const ProcInfo& p) {
  const std::string type(model::backend_type_name(p.title.type));
  events_.push_back({"backend_start", p.pid, type, p.title.raw, false, true});
  events_.push_back({"backend_exit", p.pid, type, "exited before it could be read", false, true});
}

void Processes::announce(ProcInfo& p) {
  p.start_pending = false;
  events_.push_back({"backend_start", p.pid, std::string(model::backend_type_name(p.title.type)), p.title.raw});
}

void Processes::remove(int pid, const char* why) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  if (it->second.start_pending) announce(it->second);  // starts and exits come in pairs
  const bool pm = postmasters_.erase(pid) > 0;
  events_.push_back({pm ? "postmaster_exit" : "backend_exit", pid,
                     pm ? "postmaster" : std::string(model::backend_type_name(it->second.title.type)), why});
  // Its last words: the detectors end its stalls with what woke it.
  model::Snapshot last;
  last.pid = pid;
  last.start_ticks = it->second.start_ticks;
  last.exited = true;
  last.title = it->second.title;
  last.long_sleep_end_ns = it->second.long_sleep_end_ns;
  last.long_sleep_waker_pid = it->second.long_sleep_waker_pid;
  if (auto st = tracer_.state(pid)) last.last_waker_pid = st->last_waker_pid;
  exited_.push_back(std::move(last));
  tracer_.untrack(pid);
  if (on_removed_) on_removed_(pid);
  procs_.erase(it);
}

bool Processes::drop_if_reused(int pid, uint64_t start_ticks) {
  auto it = procs_.find(pid);
  if (it == procs_.end() || !it->second.start_ticks) return false;
  if (!start_ticks) {
    auto st = model::read_proc_stat(pid);
    if (!st) return false;  // gone: its exit, or the next rescan, removes it
    start_ticks = st->starttime_ticks;
  }
  if (start_ticks == it->second.start_ticks) return false;
  // Its exit was not seen (a ring record lost, or not drained yet when the
  // pid came back): it ends here, before anything of the new one is read.
  remove(pid, "exited");
  return true;
}

void Processes::exited(int pid) {
  const bool pm = postmasters_.count(pid) > 0;
  remove(pid, "exited");
  if (pm) update_waits();
}

bool Processes::add_found(const std::map<int, model::ProcStat>& pg) {
  bool new_postmaster = false;
  // Postmasters: postgres processes whose parent is not one.
  for (auto& [pid, st] : pg) {
    if (pg.count(st.ppid) || procs_.count(pid)) continue;
    if (auto target = target_of(pid)) {
      add(pid, st.ppid, pid, false, *target);
      new_postmaster |= postmasters_.count(pid) > 0;
    }
  }
  for (auto& [pid, st] : pg) {
    if (procs_.count(pid) || !postmasters_.count(st.ppid)) continue;
    add(pid, st.ppid, st.ppid, false);
  }
  return new_postmaster;
}

void Processes::rescan() {
  auto pg = postgres_in_proc(self_);
  for (const auto& [pid, st] : pg) drop_if_reused(pid, st.starttime_ticks);
  // A postmaster just tracked (a server starting: its startup process
  // among them): children it forked between the scan and the tracking are
  // in a second look; those after, the kernel follows from their fork.
  if (add_found(pg)) {
    pg = postgres_in_proc(self_);
    add_found(pg);
  }
  // Gone, or reused by something else.
  std::vector<int> gone;
  for (auto& [pid, p] : procs_)
    if (!pg.count(pid)) gone.push_back(pid);
  for (int pid : gone) remove(pid, "exited");
  refresh_titles();
  update_waits();
}

void Processes::refresh_titles() {
  std::vector<int> reused;
  for (auto& [pid, p] : procs_) {
    // /proc/PID/cmdline reads the process's memory under its mmap lock: not
    // for a process asleep in D state, which may hold it (see the
    // snapshots), nor for one in its exit. Its start is still announced in
    // time.
    const auto st = tracer_.state(pid);
    const bool d_state = st && !st->oncpu_since_ns && model::task_state_char(st->offcpu_state) == 'D';
    std::optional<std::string> cmd;
    if (!d_state && !exiting(st ? &*st : nullptr) && ran_since(st ? &*st : nullptr, p.title_read_switches)) {
      cmd = model::proc_cmdline(pid);
      if (cmd && st) p.title_read_switches = st->nr_switches;
    }
    if (cmd && *cmd != p.raw_cmdline) {
      // A new title may be another process's that took the pid since.
      const auto stat = model::read_proc_stat(pid);
      if (stat && p.start_ticks && stat->starttime_ticks != p.start_ticks) {
        reused.push_back(pid);
        continue;
      }
      set_title(p, *cmd);
    }
    if (p.start_pending &&
        (p.title.type != model::BackendType::Unknown || monotonic_ns() - p.first_seen_ns >= kTitleWaitNs))
      announce(p);
  }
  for (int pid : reused) drop_if_reused(pid);
}

void Processes::forked(int parent_tgid, int child_pid) {
  auto parent = procs_.find(parent_tgid);
  if (parent == procs_.end()) return;
  // The pid may still name a process whose exit we have not seen.
  if (drop_if_reused(child_pid)) parent = procs_.find(parent_tgid);
  if (parent == procs_.end()) return;
  add(child_pid, parent->first, parent->second.postmaster, true);
}

void Processes::exec_seen(int pid) {
  if (auto it = procs_.find(pid); it != procs_.end()) {  // re-read on the next rescan
    it->second.raw_cmdline.clear();
    it->second.title_read_switches = it->second.memory_read_switches = ProcInfo::kNeverRead;
  }
}

void Processes::long_sleep_ended(int pid, uint64_t end_ns, uint32_t waker_pid) {
  if (auto it = procs_.find(pid); it != procs_.end()) {
    it->second.long_sleep_end_ns = end_ns;
    it->second.long_sleep_waker_pid = waker_pid;
  }
}

}  // namespace pgstall::capture
