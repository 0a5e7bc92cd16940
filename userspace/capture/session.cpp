#include "capture/session.h"

#include <dirent.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "symbols/stall_stack.h"
#include "model/procfs.h"
#include "model/relpath.h"
#include "model/syscalls.h"
#include "model/wait_event.h"

namespace pgstall::capture {
namespace {

// No longer there, or a zombie: nothing left to read.
bool gone_or_exiting(int pid) {
  auto stat = model::read_proc_file(pid, "stat");
  if (!stat) return true;
  auto close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return true;
  const char state = (*stat)[close + 2];
  if (state == 'Z' || state == 'X') return true;
  // Exiting but not yet a zombie: its memory is gone already (exit_mm), so
  // it has no executable any more — a postgres process always has one while
  // alive.
  char buf[16];
  return readlink(fmt::format("/proc/{}/exe", pid).c_str(), buf, sizeof buf) < 0 && errno == ENOENT;
}

// PG_WAIT_LOCK >> 24 (src/include/utils/wait_event.h, the same in 13-17).
constexpr uint32_t kWaitClassLock = 0x03;

std::vector<int> list_pids() {
  std::vector<int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    int pid = 0;
    auto [p, ec] = std::from_chars(e->d_name, e->d_name + strlen(e->d_name), pid);
    if (ec == std::errc{} && *p == '\0' && pid > 0) out.push_back(pid);
  }
  closedir(d);
  return out;
}

bool is_postgres_comm(const std::string& comm) { return comm == "postgres" || comm == "postmaster"; }

std::optional<double> sched_exec_start_ms(int pid) {
  auto text = pid == 0 ? [] {
    std::ifstream f("/proc/self/sched");
    std::stringstream ss;
    ss << f.rdbuf();
    return std::optional<std::string>(ss.str());
  }()
                       : model::read_proc_file(pid, "sched");
  if (!text) return std::nullopt;
  auto pos = text->find("se.exec_start");
  if (pos == std::string::npos) return std::nullopt;
  pos = text->find(':', pos);
  if (pos == std::string::npos) return std::nullopt;
  try {
    return std::stod(text->substr(pos + 1));
  } catch (...) {
    return std::nullopt;
  }
}

// /proc/PID/syscall: "nr arg1 ... arg6 sp pc", "running", or "-1 sp pc".
struct ProcSyscall {
  int nr = -1;
  uint64_t args[4] = {};
};
std::optional<ProcSyscall> proc_syscall(int pid) {
  auto text = model::read_proc_file(pid, "syscall");
  if (!text || text->rfind("running", 0) == 0) return std::nullopt;
  std::istringstream in(*text);
  ProcSyscall s;
  if (!(in >> s.nr) || s.nr < 0) return std::nullopt;
  for (auto& a : s.args) {
    std::string tok;
    if (!(in >> tok)) break;
    a = std::stoull(tok, nullptr, 16);
  }
  return s;
}

void set_title(ProcInfo& p, const std::string& cmdline) {
  p.raw_cmdline = cmdline;
  p.title = model::parse_title(cmdline);
  // A freshly forked child still shows the postmaster's argv.
  if (p.pid != p.postmaster && p.title.type == model::BackendType::Postmaster)
    p.title.type = model::BackendType::Unknown;
}

detect::PgWait pg_wait_of(const pgstall_pg_wait& w) {
  detect::PgWait p;
  p.lock_since_ns = w.lock_since_ns;
  std::copy(std::begin(w.lock_field), std::end(w.lock_field), p.lock_field.begin());
  p.lock_type = w.lock_type;
  p.lock_mode = w.lock_mode;
  p.lwlock_since_ns = w.lwlock_since_ns;
  p.lwlock_tranche.assign(w.lwlock_tranche, strnlen(w.lwlock_tranche, sizeof w.lwlock_tranche));
  p.lwlock_mode = w.lwlock_mode;
  return p;
}

}  // namespace

char task_state_char(uint32_t s) {
  if (s == 0) return 'R';                      // preempted: runnable
  if ((s & 0x2) && (s & 0x400)) return 'I';     // TASK_IDLE: D without load, a kernel nap
  if (s & 0x2) return 'D';
  if (s & 0x1) return 'S';
  if (s & (0x4 | 0x8)) return 'T';
  return '?';
}

std::optional<double> proc_last_ran_age_s(int pid) {
  auto them = sched_exec_start_ms(pid);
  auto us = sched_exec_start_ms(0);
  if (!them || !us || *us < *them) return std::nullopt;
  return (*us - *them) / 1000.0;
}

Session::Session(Tracer& tracer, SessionOptions opts) : tracer_(tracer), opts_(std::move(opts)) {
  self_ = getpid();
}

bool Session::wanted_postmaster(int pid) const {
  if (target_dirs_.empty()) return true;
  auto cwd = model::proc_cwd(pid);
  return cwd && target_dirs_.count(*cwd);
}

bool Session::start(std::string& err) {
  for (int pid : opts_.pids) {
    auto st = model::read_proc_stat(pid);
    if (!st) {
      err = fmt::format("no process with pid {}", pid);
      return false;
    }
    if (!is_postgres_comm(st->comm)) {
      err = fmt::format("pid {} is not a PostgreSQL process (it is '{}')", pid, st->comm);
      return false;
    }
    // A backend's pid stands for its cluster: follow it up to the postmaster.
    int pm = pid;
    if (auto parent = model::read_proc_stat(st->ppid); parent && is_postgres_comm(parent->comm)) pm = st->ppid;
    auto cwd = model::proc_cwd(pm);
    if (!cwd) {
      err = fmt::format("cannot read the data directory of pid {} (/proc/{}/cwd)", pm, pm);
      return false;
    }
    target_dirs_.insert(*cwd);
  }
  for (const auto& dir : opts_.data_dirs) {
    std::ifstream f(dir + "/postmaster.pid");
    int pid = 0;
    if (!(f >> pid) || pid <= 0) {
      err = fmt::format("no running PostgreSQL for data directory {} (cannot read {}/postmaster.pid)", dir, dir);
      return false;
    }
    auto cwd = model::proc_cwd(pid);
    if (!cwd) {
      err = fmt::format("{}/postmaster.pid names pid {}, which is not running (stale file?)", dir, pid);
      return false;
    }
    target_dirs_.insert(*cwd);
  }
  rescan();
  if (postmasters_.empty()) {
    err = target_dirs_.empty() ? "no PostgreSQL is running on this machine (no postmaster found in /proc)"
                               : "the chosen PostgreSQL cluster has no running postmaster";
    return false;
  }
  next_window();
  if (tracer_.syscall_tracing()) {
    tracing_from_epoch_ = tracer_.epoch();
    tracing_since_ns_ = epoch_start_ns_[tracing_from_epoch_];
  }
  return true;
}

void Session::add_process(int pid, int ppid, int postmaster, bool from_fork) {
  if (pid == self_ || procs_.count(pid)) return;
  ProcInfo p;
  p.pid = pid;
  p.ppid = ppid;
  p.postmaster = postmaster;
  p.first_seen_ns = monotonic_ns();
  if (auto cwd = model::proc_cwd(postmaster)) p.data_dir = *cwd;
  if (auto pm = procs_.find(postmaster); pm != procs_.end()) {
    p.pg_major = pm->second.pg_major;
  } else if (!p.data_dir.empty()) {
    std::ifstream v(p.data_dir + "/PG_VERSION");
    v >> p.pg_major;
  }
  if (auto cmd = model::proc_cmdline(pid)) set_title(p, *cmd);

  if (from_fork) {
    if (!tracer_.adopt(pid)) return;  // gone already
  } else {
    // Seed the in-flight state from /proc: a stall under way when we start is
    // the usual case in an incident.
    pgstall_thread_state seed{};
    seed.flags = PGSTALL_F_TRACKED;
    seed.tgid = static_cast<uint32_t>(pid);
    seed.sc_nr = PGSTALL_NO_SYSCALL;
    seed.sleep_sc_nr = PGSTALL_NO_SYSCALL;
    seed.off_kstack = seed.off_ustack = PGSTALL_NO_STACK;  // asleep since before: no stack taken
    seed.sc_gen = tracer_.sc_gen();
    uint64_t now = monotonic_ns();
    auto st = model::read_proc_stat(pid);
    if (st && st->state == 'R') {
      seed.oncpu_since_ns = now;
    } else if (st) {
      double age = proc_last_ran_age_s(pid).value_or(0.0);
      uint64_t since = now - std::min<uint64_t>(now, static_cast<uint64_t>(age * 1e9));
      seed.offcpu_since_ns = since;
      seed.offcpu_state = st->state == 'D' ? 2 : 1;
      if (auto sc = proc_syscall(pid)) {
        seed.sc_nr = sc->nr;
        seed.sc_start_ns = since;
        std::copy(std::begin(sc->args), std::end(sc->args), seed.sc_args);
        seed.sleep_sc_nr = sc->nr;
        std::copy(std::begin(sc->args), std::end(sc->args), seed.sleep_sc_args);
        p.seeded_sc_start_ns = since;
      }
      p.seeded_offcpu_ns = since;
    }
    std::string err;
    if (!tracer_.track(pid, seed, err)) {
      spdlog::debug("{}", err);
      return;
    }
  }
  p.windows_delivered_epoch = tracer_.epoch();
  if (pid == postmaster) {
    postmasters_.insert(pid);
    if (opts_.wait_events && p.pg_major && p.pg_major < 14)
      notices_.push_back(fmt::format("postmaster {}: PostgreSQL {} exports no my_wait_event_info; wait events "
                                     "are not shown for this cluster",
                                     pid, p.pg_major));
    if (tracer_.usdt_enabled()) {
      std::string uerr;
      if (!tracer_.attach_usdt(pid, uerr))
        notices_.push_back(fmt::format("postmaster {}: {}; lock tags and LWLock tranches come from the wait "
                                       "event only", pid, uerr));
    }
    pevents_.push_back({"postmaster_start", pid, "postmaster", p.data_dir});
  } else {
    pevents_.push_back({"backend_start", pid, std::string(model::backend_type_name(p.title.type)), p.title.raw});
  }
  procs_.emplace(pid, std::move(p));
}

void Session::remove_process(int pid, const char* why) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  bool pm = postmasters_.erase(pid) > 0;
  pevents_.push_back({pm ? "postmaster_exit" : "backend_exit", pid,
                      pm ? "postmaster" : std::string(model::backend_type_name(it->second.title.type)), why});
  detect::Snapshot last;
  last.pid = pid;
  last.exited = true;
  last.title = it->second.title;
  last.long_sleep_end_ns = it->second.long_sleep_end_ns;
  last.long_sleep_waker_pid = it->second.long_sleep_waker_pid;
  if (auto st = tracer_.state(pid)) last.last_waker_pid = st->last_waker_pid;
  exited_.push_back(std::move(last));
  tracer_.untrack(pid);
  wait_reader_.forget(pid);
  procs_.erase(it);
}

void Session::rescan() {
  std::map<int, model::ProcStat> pg;
  for (int pid : list_pids()) {
    if (pid == self_) continue;
    auto st = model::read_proc_stat(pid);
    if (st && is_postgres_comm(st->comm)) pg.emplace(pid, *st);
  }
  // Postmasters: postgres processes whose parent is not one.
  for (auto& [pid, st] : pg) {
    if (pg.count(st.ppid)) continue;
    if (!procs_.count(pid) && wanted_postmaster(pid)) add_process(pid, st.ppid, pid, false);
  }
  for (auto& [pid, st] : pg) {
    if (procs_.count(pid) || !postmasters_.count(st.ppid)) continue;
    add_process(pid, st.ppid, st.ppid, false);
  }
  // Gone, or reused by something else.
  std::vector<int> gone;
  for (auto& [pid, p] : procs_)
    if (!pg.count(pid)) gone.push_back(pid);
  for (int pid : gone) remove_process(pid, "exited");
  refresh_titles();
}

void Session::refresh_titles() {
  for (auto& [pid, p] : procs_) {
    // /proc/PID/cmdline reads the process's memory under its mmap lock: skip
    // a process asleep in D state, which may hold it (see snapshot()).
    if (auto st = tracer_.state(pid); st && !st->oncpu_since_ns && task_state_char(st->offcpu_state) == 'D') continue;
    if (auto cmd = model::proc_cmdline(pid); cmd && *cmd != p.raw_cmdline) set_title(p, *cmd);
  }
}

void Session::poll_ring() {
  tracer_.drain([this](const void* data, size_t size) {
    if (size < sizeof(pgstall_rec_hdr)) {
      ++bad_records_;
      return;
    }
    const auto* h = static_cast<const pgstall_rec_hdr*>(data);
    switch (h->type) {
      case PGSTALL_REC_FORK: {
        if (size < sizeof(pgstall_rec_fork)) break;
        const auto* r = static_cast<const pgstall_rec_fork*>(data);
        if (r->child_pid != r->child_tgid) break;  // a thread, not a process
        auto parent = procs_.find(static_cast<int>(h->tgid));
        if (parent == procs_.end()) break;
        add_process(static_cast<int>(r->child_pid), parent->first, parent->second.postmaster, true);
        break;
      }
      case PGSTALL_REC_EXIT:
        if (h->pid == h->tgid) remove_process(static_cast<int>(h->pid), "exited");
        break;
      case PGSTALL_REC_EXEC: {
        auto it = procs_.find(static_cast<int>(h->pid));
        if (it != procs_.end()) it->second.raw_cmdline.clear();  // re-read on the next rescan
        break;
      }
      case PGSTALL_REC_SYSCALL_SLOW: ++slow_syscalls_; break;
      case PGSTALL_REC_OFFCPU_SLOW: {
        ++slow_offcpu_;
        if (size < sizeof(pgstall_rec_offcpu)) break;
        const auto* r = static_cast<const pgstall_rec_offcpu*>(data);
        if (auto it = procs_.find(static_cast<int>(h->pid)); it != procs_.end()) {
          it->second.long_sleep_end_ns = h->ts_ns;
          it->second.long_sleep_waker_pid = r->waker_pid;
        }
        break;
      }
      case PGSTALL_REC_PG_WAIT_DONE: ++pg_wait_records_; break;
      case PGSTALL_REC_DEADLOCK: {
        if (size < sizeof(pgstall_rec_pg_wait)) break;
        const auto* r = static_cast<const pgstall_rec_pg_wait*>(data);
        DeadlockEvent d;
        d.pid = static_cast<int>(h->pid);
        d.ts_ns = h->ts_ns;
        d.wait = pg_wait_of(r->w);
        auto it = procs_.find(d.pid);
        if (it != procs_.end()) d.pg_major = it->second.pg_major;
        // The others in the cycle wait for a heavyweight lock too, right now.
        for (auto& [opid, op] : procs_) {
          if (opid == d.pid || (it != procs_.end() && op.postmaster != it->second.postmaster)) continue;
          auto ost = tracer_.state(opid);
          if ((ost && ost->pg.lock_since_ns) || op.title.waiting) d.others.push_back(opid);
        }
        deadlocks_.push_back(std::move(d));
        break;
      }
      case PGSTALL_REC_CHECKPOINT: {
        if (size < sizeof(pgstall_rec_checkpoint)) {
          ++bad_records_;
          break;
        }
        const auto* r = static_cast<const pgstall_rec_checkpoint*>(data);
        const int pid = static_cast<int>(h->tgid);
        auto it = procs_.find(pid);
        const int pm = it != procs_.end() ? it->second.postmaster : 0;
        CheckpointEvent& c = checkpoints_[pm];
        c.pid = pid;
        c.postmaster = pm;
        switch (r->phase) {
          case PGSTALL_CKPT_START:
            c.times = {};
            c.times.start_ns = h->ts_ns;
            c.flags = r->flags;
            c.started = true;
            checkpoint_events_.push_back(c);
            break;
          case PGSTALL_CKPT_WRITE: c.times.write_ns = h->ts_ns; break;
          case PGSTALL_CKPT_SYNC: c.times.sync_ns = h->ts_ns; break;
          case PGSTALL_CKPT_BUFFERS_DONE: c.times.buffers_done_ns = h->ts_ns; break;
          case PGSTALL_CKPT_DONE:
            c.times.done_ns = h->ts_ns;
            c.started = false;
            checkpoint_events_.push_back(c);
            checkpoints_.erase(pm);
            break;
          default: ++bad_records_;
        }
        break;
      }
      default: ++bad_records_;
    }
  });
}

void Session::next_window() {
  uint32_t e = tracer_.bump_epoch();
  last_window_ns_ = epoch_start_ns_[e] = monotonic_ns();
  while (epoch_start_ns_.size() > 8) epoch_start_ns_.erase(epoch_start_ns_.begin());
}

void Session::maybe_next_window(uint64_t now) {
  if (now - last_window_ns_ >= 1'000'000'000ull) next_window();
}

bool Session::lwlock_start_current(uint64_t since_ns) const {
  return since_ns && tracer_.lwlock_probes_on() && since_ns >= tracer_.lwlock_attached_ns();
}

void Session::steer_lwlock_probes(uint64_t now, const std::vector<detect::Snapshot>& snaps) {
  if (tracer_.lwlock_mode() != SyscallMode::Auto || !tracer_.usdt_enabled()) return;
  // An LWLock wait long enough to be more than ordinary contention (most
  // last microseconds): attach, to see the next ones with mode and caller.
  constexpr uint64_t kLong = 200'000'000ull, kLinger = 10'000'000'000ull;
  bool waiting = false;
  for (const auto& s : snaps) {
    if (s.exited || s.on_cpu || !s.offcpu_since_ns || now < s.offcpu_since_ns + kLong) continue;
    if (auto we = detect::wait_event_of(s); we && we->type == "LWLock") waiting = true;
  }
  if (waiting) last_lwlock_wait_ns_ = now;
  const bool on = tracer_.lwlock_probes_on();
  if (waiting && !on) {
    if (tracer_.set_lwlock_probes(true)) {
      lwlock_on_since_ns_ = now;
      notices_.push_back("LWLock probes attached: a backend waits on an LWLock (lwlock__wait__start/done, until 10 s "
                         "without one)");
    }
  } else if (!waiting && on && now - last_lwlock_wait_ns_ >= kLinger) {
    tracer_.set_lwlock_probes(false);
    lwlock_total_ns_ += now - lwlock_on_since_ns_;
    lwlock_on_since_ns_ = 0;
    notices_.push_back("LWLock probes detached: no LWLock wait for 10 s");
  }
}

double Session::lwlock_probes_s(uint64_t now) const {
  if (tracer_.lwlock_mode() == SyscallMode::Always) return -1;
  return static_cast<double>(lwlock_total_ns_ + (lwlock_on_since_ns_ ? now - lwlock_on_since_ns_ : 0)) / 1e9;
}

void Session::steer_syscall_tracing(uint64_t now, const std::vector<detect::Snapshot>& snaps) {
  if (tracer_.syscall_mode() != SyscallMode::Auto) return;
  // Busy and hardly ever sleeping: what a hot loop or a CPU-bound query looks
  // like. A backend answering its client is busy too, but sleeps for the
  // client's next message thousands of times a second: it does not count.
  constexpr uint64_t kCheck = 500'000'000ull, kLinger = 10'000'000'000ull;
  constexpr double kBusy = 0.6, kMaxSleepsPerS = 100;
  bool busy = false;
  size_t live = 0;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    ++live;
    auto [it, fresh] = busy_ckpt_.try_emplace(s.pid, BusyCheck{now, s.cpu_ns, s.nr_sleeps});
    BusyCheck& c = it->second;
    if (fresh || now - c.at_ns < kCheck) continue;
    const double span = static_cast<double>(now - c.at_ns);
    const double share = static_cast<double>(s.cpu_ns >= c.cpu_ns ? s.cpu_ns - c.cpu_ns : 0) / span;
    const double sleeps = static_cast<double>(s.nr_sleeps - std::min(s.nr_sleeps, c.sleeps)) * 1e9 / span;
    busy |= share >= kBusy && sleeps < kMaxSleepsPerS;
    c = {now, s.cpu_ns, s.nr_sleeps};
  }
  if (busy_ckpt_.size() > live) {
    std::set<int> present;
    for (const auto& s : snaps)
      if (!s.exited) present.insert(s.pid);
    for (auto it = busy_ckpt_.begin(); it != busy_ckpt_.end();)
      it = present.count(it->first) ? std::next(it) : busy_ckpt_.erase(it);
  }
  if (busy) last_busy_ns_ = now;
  if (busy && !tracer_.syscall_tracing()) {
    if (!tracer_.set_syscall_tracing(true)) return;
    // Windows count from here: the one in progress began untraced.
    next_window();
    tracing_from_epoch_ = tracer_.epoch();
    tracing_since_ns_ = last_window_ns_;
    spdlog::debug("syscall tracing on: a postgres process is busy on CPU without sleeping");
  } else if (!busy && tracer_.syscall_tracing() && now - last_busy_ns_ >= kLinger) {
    tracer_.set_syscall_tracing(false);
    tracing_total_ns_ += now - tracing_since_ns_;
    tracing_since_ns_ = 0;
    spdlog::debug("syscall tracing off: nothing busy on CPU for {} s", kLinger / 1'000'000'000ull);
  }
}

double Session::syscall_tracing_s(uint64_t now) const {
  uint64_t ns = tracing_total_ns_;
  if (tracer_.syscall_tracing() && tracing_since_ns_ && now > tracing_since_ns_) ns += now - tracing_since_ns_;
  return ns / 1e9;
}

std::optional<detect::Window> Session::window_for(ProcInfo& p, const pgstall_thread_state& st) {
  uint32_t e = tracer_.epoch();
  uint32_t done = e - 1;  // the newest complete window
  // Only windows the syscall tracepoints saw whole say anything.
  if (!tracer_.syscall_tracing() || done < tracing_from_epoch_) return std::nullopt;
  if (p.windows_delivered_epoch >= done || !epoch_start_ns_.count(done) || !epoch_start_ns_.count(e))
    return std::nullopt;
  p.windows_delivered_epoch = done;
  detect::Window w;
  w.start_ns = epoch_start_ns_[done];
  w.end_ns = epoch_start_ns_[e];
  const pgstall_window* src = nullptr;
  if (st.cur.epoch == done)
    src = &st.cur;  // no syscall since the bump: cur is still the finished window
  else if (st.cur.epoch == e && st.prev.epoch == done)
    src = &st.prev;
  if (!src) return w;  // made no syscall in that window
  w.total = src->total;
  w.repeats = src->repeats;
  w.other = src->other;
  w.client_io = src->client_io;
  w.block_issued = src->block_issued;
  for (const auto& m : src->mix)
    if (m.nr_plus1) w.mix.push_back({static_cast<int>(m.nr_plus1) - 1, m.count, m.last_ret, m.same_ret});
  return w;
}

std::vector<detect::Snapshot> Session::snapshot(uint64_t now) {
  std::vector<detect::Snapshot> out;
  out.reserve(procs_.size());
  for (auto& [pid, p] : procs_) {
    auto st = tracer_.state(pid);
    if (!st) continue;
    detect::Snapshot s;
    s.pid = pid;
    s.title = p.title;
    s.on_cpu = st->oncpu_since_ns != 0;
    if (tracer_.syscall_tracing() && st->sc_gen == tracer_.sc_gen()) {
      // Exact: entry time and arguments from sys_enter.
      s.in_syscall = st->sc_nr >= 0;
      s.sc_nr = st->sc_nr;
      s.sc_start_ns = st->sc_start_ns;
      std::copy(std::begin(st->sc_args), std::end(st->sc_args), s.sc_args.begin());
    } else if (!s.on_cpu && st->sleep_sc_nr >= 0) {
      // From the registers saved at switch-out: the syscall it sleeps in,
      // timed from when it went to sleep.
      s.in_syscall = true;
      s.sc_nr = st->sleep_sc_nr;
      s.sc_start_ns = st->offcpu_since_ns;
      std::copy(std::begin(st->sleep_sc_args), std::end(st->sleep_sc_args), s.sc_args.begin());
    }
    if (tracer_.syscall_tracing()) s.syscalls_counted_since_ns = tracing_since_ns_;
    s.offcpu_since_ns = st->offcpu_since_ns;
    s.offcpu_state = task_state_char(st->offcpu_state);
    s.cpu_ns = st->oncpu_total_ns + (st->oncpu_since_ns && now > st->oncpu_since_ns ? now - st->oncpu_since_ns : 0);
    s.nr_syscalls = st->nr_syscalls;
    s.nr_sleeps = st->nr_sleeps;
    s.last_waker_pid = st->last_waker_pid;
    s.long_sleep_end_ns = p.long_sleep_end_ns;
    s.long_sleep_waker_pid = p.long_sleep_waker_pid;
    s.lower_bound = (p.seeded_sc_start_ns && s.in_syscall && s.sc_start_ns == p.seeded_sc_start_ns) ||
                    (p.seeded_offcpu_ns && !s.on_cpu && st->offcpu_since_ns == p.seeded_offcpu_ns);
    // Where a long file syscall points; looked up once per syscall.
    if (s.in_syscall && model::syscall_arg0_is_fd(s.sc_nr) && now > s.sc_start_ns + 300'000'000) {
      if (p.fd_cache_sc_start != s.sc_start_ns) {
        p.fd_cache_sc_start = s.sc_start_ns;
        p.fd_cache.clear();
        if (auto path = model::fd_path(pid, static_cast<int>(s.sc_args[0]))) {
          p.fd_cache = *path;
          if (auto f = model::classify_path(*path, p.data_dir)) p.fd_cache = model::describe(*f);
        }
      }
      s.sc_fd_path = p.fd_cache;
    }
    s.pg = pg_wait_of(st->pg);
    if (s.pg.lwlock_since_ns && !lwlock_start_current(s.pg.lwlock_since_ns)) {
      // Stored while the LWLock probes were attached before: its end may
      // have gone unseen since. The wait event still tells an LWLock wait.
      s.pg.lwlock_since_ns = 0;
      s.pg.lwlock_tranche.clear();
    }
    if (st->query_since_ns) {
      s.pg.query_since_ns = st->query_since_ns;
      s.pg.query.assign(st->query, strnlen(st->query, sizeof st->query));
      s.pg.query_truncated = s.pg.query.size() + 1 >= sizeof st->query;
    }
    s.pg_major = p.pg_major;
    // Reading another process's memory takes its mmap lock: a process asleep
    // in D state may hold it (stuck in mmap/munmap), and the read would hang
    // the whole watch. Keep the last value for those.
    const bool d_state = !s.on_cpu && s.offcpu_state == 'D';
    if (opts_.wait_events && d_state) {
      s.wait_event_info = p.last_wait_event;
    } else if (opts_.wait_events && p.pg_major >= 14 && p.pg_major <= model::kWaitEventMaxMajor) {
      std::string err;
      s.wait_event_info = p.last_wait_event = wait_reader_.read(pid, err);
      if (!s.wait_event_info) {
        // A process that exited between the listing and the read is a race,
        // not a failure to read: its exit arrives through the ring.
        if (!gone_or_exiting(pid)) {
          ++wait_read_errors_;
          if (!wait_read_warned_) {
            wait_read_warned_ = true;
            notices_.push_back("cannot read wait events: " + err);
          }
        }
      } else if ((*s.wait_event_info >> 24) == kWaitClassLock) {
        s.shm_lock = read_lock_holders(pid, p.pg_major);
      }
    }
    if (auto c = checkpoints_.find(p.postmaster);
        c != checkpoints_.end() && c->second.pid == pid && c->second.times.start_ns)
      s.checkpoint_phase = model::checkpoint_phase(c->second.times).value_or("");
    s.completed_window = window_for(p, *st);
    out.push_back(std::move(s));
  }
  for (auto& s : exited_) out.push_back(std::move(s));
  exited_.clear();
  return out;
}

std::optional<model::LockWaitRead> Session::read_lock_holders(int pid, int pg_major) {
  const auto layout = model::lock_layout(pg_major);
  const auto target = wait_reader_.wait_event_target(pid);
  if (!layout || !target) {
    if (!layout && !lock_graph_warned_) {
      lock_graph_warned_ = true;
      notices_.push_back(fmt::format(
          "lock holders: no PGPROC layout known for PostgreSQL {} (measured: 15); lock waits show "
          "holder candidates only",
          pg_major));
    }
    return std::nullopt;
  }
  // Shared memory sits at the same address in every backend: read it through
  // the waiter's own address space.
  const model::MemReader mem = [pid](uint64_t addr, void* buf, size_t len) {
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
  };
  std::string err;
  auto r = model::read_lock_wait(mem, pid, *target, *layout, err);
  if (!r) {
    if (gone_or_exiting(pid)) return std::nullopt;
    ++lock_graph_errors_;
    if (!lock_graph_warned_) {
      lock_graph_warned_ = true;
      notices_.push_back("cannot read lock holders: " + err);
    }
    return std::nullopt;
  }
  if (!r->waiting) return std::nullopt;  // granted between the two reads
  r->tag.type = std::string(model::lock_tag_type_name(static_cast<uint8_t>(r->tag.type_id), pg_major).value_or(""));
  return r;
}

void Session::add_user_stack(detect::Stall& stall, const std::vector<std::string>& kernel_inner_first) {
  // A sleeping thread's whole stack: its saved user registers (task
  // iterator), unwound by CFI through libc (libdwfl), memory read with
  // process_vm_readv. Not in D state: the reads take the process' mmap lock,
  // which a D-state sleeper may hold — the read would hang the watch.
  if (stall.state != 'S' || stall.detail.contains("stack")) return;
  std::string why;
  auto regs = tracer_.task_user_regs(stall.pid, why);
  if (!regs) {
    spdlog::debug("no user stack for pid {}: {}", stall.pid, why);
    return;
  }
  auto frames = symbols::unwind_stall_stack(stall.pid, {(*regs)[0], (*regs)[1], (*regs)[2]}, symbolizer_,
                                            symbols::kernel_tail(kernel_inner_first));
  if (!frames) {
    spdlog::debug("no user stack for pid {}: {}", stall.pid, frames.error().message);
    return;
  }
  stall.detail["stack"] = *frames;  // root first
  stall.detail["stack_unwind"] = "dwarf";
}

void Session::enrich(detect::Stall& stall) {
  int pid = stall.pid;
  // Who waits for the LWLock: the user stack taken at lwlock__wait__start.
  // Return addresses are looked up one byte back, inside their call.
  if (stall.kind == detect::Kind::LwlockWait) {
    if (auto st = tracer_.state(pid);
        st && lwlock_start_current(st->pg.lwlock_since_ns) && st->pg.lwlock_stack_id >= 0) {
      auto ips = tracer_.user_stack(st->pg.lwlock_stack_id);
      for (size_t i = 1; i < ips.size(); ++i) --ips[i];
      if (auto names = symbolizer_.symbolize(pid, ips); !names.empty()) {
        // The caller that wanted the lock, past LWLockAcquire & co.
        for (const auto& n : names) {
          if (n.rfind("LWLock", 0) == 0) continue;
          stall.summary += " in " + n;
          break;
        }
        stall.detail["user_stack"] = std::move(names);
      }
    }
  }
  // A checkpoint in progress in the same cluster: behind many I/O and WAL
  // stalls, and the checkpointer's own stall is one of its phases.
  if (auto c = checkpoint_of(pid)) {
    const uint64_t now = monotonic_ns();
    stall.detail["checkpoint"] = {
        {"pid", c->pid},
        {"phase", model::checkpoint_phase(c->times).value_or("")},
        {"running_s", std::round(static_cast<double>(now - std::min(now, c->times.start_ns)) / 1e8) / 10},
        {"flags", model::checkpoint_flags_text(c->flags)}};
  }
  if (auto w = model::read_proc_file(pid, "wchan"); w && !w->empty() && *w != "0") stall.detail["wchan"] = *w;
  {
    const std::vector<std::string> frames = model::read_proc_stack(pid);  // innermost first
    if (!frames.empty()) {
      stall.detail["kernel_stack"] = frames;
      add_user_stack(stall, frames);
      // Where an I/O wait sleeps says why (a freeze, a journal commit); the
      // syscall entry frames below it say nothing. A futex stack is always the same.
      if (stall.kind == detect::Kind::IoWait) {
        std::string chain;
        int n = 0;
        for (const auto& f : frames) {
          if (f.rfind("__x64_sys_", 0) == 0 || f.rfind("__arm64_sys_", 0) == 0 || f == "do_syscall_64" ||
              f.rfind("entry_SYSCALL", 0) == 0 || n == 3)
            break;
          chain += (n++ ? " ← " : "") + f;
        }
        if (!chain.empty()) stall.summary += "; kernel: " + chain;
      }
    }
  }
  auto it = procs_.find(pid);
  if (it != procs_.end()) {
    stall.detail["backend_type"] = std::string(model::backend_type_name(it->second.title.type));
    if (stall.kind == detect::Kind::IoWait && !it->second.fd_cache.empty())
      stall.detail["file"] = it->second.fd_cache;
  }
  if (stall.kind == detect::Kind::IoWait) {
    // The block layer's view: requests outstanding per device, oldest first.
    auto inflight = tracer_.block_inflight();
    uint64_t now = monotonic_ns();
    nlohmann::json devs = nlohmann::json::object();
    for (const auto& r : inflight) {
      std::string dev = fmt::format("{}:{}", r.dev >> 20, r.dev & 0xfffff);
      auto& d = devs[dev];
      if (!d.is_object()) d = {{"in_flight", 0}, {"oldest_s", 0.0}};
      d["in_flight"] = d.value("in_flight", 0) + 1;
      double age = now > r.issue_ns ? (now - r.issue_ns) / 1e9 : 0;
      d["oldest_s"] = std::max(d.value("oldest_s", 0.0), age);
    }
    stall.detail["block_in_flight"] = devs;
    if (devs.empty()) stall.summary += "; no block request in flight (the wait is above the disk)";
  }
}

std::vector<CheckpointEvent> Session::take_checkpoints() {
  std::vector<CheckpointEvent> out;
  out.swap(checkpoint_events_);
  return out;
}

std::optional<CheckpointEvent> Session::checkpoint_of(int pid) const {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return std::nullopt;
  auto c = checkpoints_.find(it->second.postmaster);
  if (c == checkpoints_.end() || !c->second.times.start_ns) return std::nullopt;
  return c->second;
}

std::vector<DeadlockEvent> Session::take_deadlocks() {
  std::vector<DeadlockEvent> out;
  out.swap(deadlocks_);
  return out;
}

std::vector<std::string> Session::take_notices() {
  std::vector<std::string> out;
  out.swap(notices_);
  return out;
}

std::vector<ProcessEvent> Session::take_process_events() {
  std::vector<ProcessEvent> out;
  out.swap(pevents_);
  return out;
}

}  // namespace pgstall::capture
