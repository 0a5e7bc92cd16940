#pragma once
// The postgres processes being traced: found in /proc (postmasters of the
// chosen clusters, or of all, and their children), followed through the
// ring's forks and exits, each tracked in the kernel — seeded from /proc with
// what it is doing now, since a stall under way is the usual case when
// pgstall starts. Titles are re-read every tick. A target with no running
// postmaster (not yet, or not any more) is waited for, and said so once.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "capture/tracer.h"
#include "capture/waits.h"
#include "model/datadir.h"
#include "model/events.h"
#include "model/process.h"
#include "model/procfs.h"
#include "model/snapshot.h"
#include "util/result.h"

namespace pgstall::capture {

// A tracked process, and what capture keeps about it between snapshots.
struct ProcInfo : model::Process {
  // /proc/PID/stat's start time when it was found: with the pid, who it is
  // (a pid is reused once its process has exited; 0: it could not be read).
  uint64_t start_ticks = 0;
  std::optional<uint32_t> last_wait_event;  // kept while the process sleeps in D state
  std::optional<int64_t> last_statement_start;
  // Its switch count (nr_switches) when its title, and its own fields in
  // shared memory, were last read: only the process itself changes them, so
  // one off CPU that has not switched since cannot have changed them (500
  // mostly idle backends: most are not read again each tick).
  static constexpr uint64_t kNeverRead = ~uint64_t{0};
  uint64_t title_read_switches = kNeverRead;
  uint64_t memory_read_switches = kNeverRead;
  uint64_t first_seen_ns = 0;
  // New, its title still the postmaster's: backend_start waits until it
  // says what it is (or a second has passed).
  bool start_pending = false;
  // What /proc said when tracking began: durations measured from these are
  // lower bounds (the stall began earlier).
  uint64_t seeded_sc_start_ns = 0;
  uint64_t seeded_offcpu_ns = 0;
  uint32_t windows_delivered_epoch = 0;
  uint64_t long_sleep_end_ns = 0;    // last off-CPU period over the slow threshold
  uint32_t long_sleep_waker_pid = 0;
  uint64_t fd_cache_sc_start = 0;
  std::string fd_cache;
  model::FileClass fd_cache_class = model::FileClass::Unknown;
};

// Whether a process may have run since `read_switches` (its nr_switches when
// something it alone writes was last read): on CPU now, switched since, or
// unknown (no state, never read).
inline bool ran_since(const pgstall_thread_state* st, uint64_t read_switches) {
  return !st || st->oncpu_since_ns || read_switches == ProcInfo::kNeverRead || st->nr_switches != read_switches;
}

// Whether a process is in its exit (the kernel saw PF_EXITING): its own
// teardown holds its mmap lock (exit_mmap), so reading its memory or its
// /proc/PID/cmdline would wait for it — seconds for each of hundreds of
// backends in an exit storm on a busy machine, with the whole watch waiting.
inline bool exiting(const pgstall_thread_state* st) { return st && (st->flags & PGSTALL_F_EXITING); }

struct Targets {
  std::vector<int> pids;               // --pid: postmasters (or any of their processes)
  std::vector<std::string> data_dirs;  // --data-dir
};

class Processes {
 public:
  // wait_events: whether wait events will be read (a cluster too old for
  // them gets a notice). on_removed: called for each process dropped.
  Processes(Tracer& tracer, Targets targets, bool wait_events, std::function<void(int pid)> on_removed);

  // Resolves the targets and tracks every process found. Fails only on a
  // usage error: a --pid that is not a running postgres process, a
  // --data-dir that does not exist or is not a data directory. A target with
  // no postmaster running is waited for (take_waiting()).
  Result<void> start();
  // Rescans /proc for new postmasters and children the ring did not show
  // (a restart, or events lost), drops the gone, refreshes titles.
  void rescan();
  // Some target has no postmaster running: pgstall waits for one.
  bool waiting() const { return waits_.any(); }
  // While waiting, a cheap look whether a postmaster may run now (each
  // target's postmaster.pid; with no target, always: only a /proc scan tells).
  bool postmaster_may_be_up() const;
  // Re-reads every process title ("... UPDATE waiting" changes by the statement).
  void refresh_titles();

  // From the ring.
  void forked(int parent_tgid, int child_pid);
  void exited(int pid);
  void exec_seen(int pid);
  void long_sleep_ended(int pid, uint64_t end_ns, uint32_t waker_pid);

  const std::map<int, ProcInfo>& all() const { return procs_; }
  std::map<int, ProcInfo>& all() { return procs_; }
  const ProcInfo* find(int pid) const;
  std::vector<model::ProcessEvent> take_events() { return std::exchange(events_, {}); }
  // The last state of each process gone since the last call, once.
  std::vector<model::Snapshot> take_exited() { return std::exchange(exited_, {}); }
  std::vector<std::string> take_notices() { return std::exchange(notices_, {}); }
  // Waits that began since the last call: one per target, until a postmaster has run again.
  std::vector<model::WaitingEvent> take_waiting() { return std::exchange(waiting_, {}); }

 private:
  void announce(ProcInfo& p);
  void say_gone_unread(const ProcInfo& p);
  Result<void> resolve_targets();
  void add_target(model::DataDir d);
  // The target a postmaster belongs to ("" with no targets), or none.
  std::optional<std::string> target_of(int pid) const;
  // Tracks the postmasters of the targets and the children of those tracked;
  // whether a postmaster was new.
  bool add_found(const std::map<int, model::ProcStat>& pg);
  // target: for a postmaster, the target it belongs to.
  void add(int pid, int ppid, int postmaster, bool from_fork, const std::string& target = {});
  bool seed_and_track(ProcInfo& p);
  void remove(int pid, const char* why);
  // The process tracked under pid has exited and pid names another one now
  // (start time seen: `start_ticks`, 0 = read it): drop the old one.
  bool drop_if_reused(int pid, uint64_t start_ticks = 0);
  void update_waits();
  std::string why_waiting(const TargetWaits::Began& b) const;

  Tracer& tracer_;
  Targets targets_;
  bool wait_events_;
  std::function<void(int)> on_removed_;
  std::vector<model::DataDir> dirs_;  // resolved data dirs of the targets
  TargetWaits waits_{{}};
  std::map<int, ProcInfo> procs_;
  std::map<int, std::string> postmasters_;  // pid -> its target
  std::vector<model::ProcessEvent> events_;
  std::vector<model::Snapshot> exited_;
  std::vector<std::string> notices_;
  std::vector<model::WaitingEvent> waiting_;
  int self_ = 0;
  bool starting_ = false;  // in start(): the processes found were already running
};

}  // namespace pgstall::capture
