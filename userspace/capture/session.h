#pragma once
// A tracing session over the postgres processes of this machine (or of chosen
// clusters): finds them in /proc, tracks them in the kernel, follows forks,
// exits and restarts, and turns the kernel's in-flight state into detector
// snapshots.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/tracer.h"
#include "capture/pgmem.h"
#include "symbols/symbolize.h"
#include "detect/detector.h"
#include "model/checkpoint.h"
#include "model/title.h"

namespace pgstall::capture {

struct ProcInfo {
  int pid = 0;
  int ppid = 0;
  int postmaster = 0;       // its postmaster (itself for the postmaster)
  std::string data_dir;     // /proc/<postmaster>/cwd
  int pg_major = 0;         // from the data directory's PG_VERSION
  std::optional<uint32_t> last_wait_event;  // kept while the process sleeps in D state
  model::ProcessTitle title;
  std::string raw_cmdline;
  uint64_t first_seen_ns = 0;
  // What /proc said when tracking began: durations measured from these are
  // lower bounds (the stall began earlier).
  uint64_t seeded_sc_start_ns = 0;
  uint64_t seeded_offcpu_ns = 0;
  uint32_t windows_delivered_epoch = 0;
  uint64_t long_sleep_end_ns = 0;    // last off-CPU period over the slow threshold
  uint32_t long_sleep_waker_pid = 0;
  uint64_t fd_cache_sc_start = 0;
  std::string fd_cache;
};

// A notable change of the traced set, for the output (JSON type "process").
struct ProcessEvent {
  std::string what;  // "postmaster_start", "postmaster_exit", "backend_start", "backend_exit"
  int pid = 0;
  std::string backend_type;
  std::string detail;
};

// deadlock__found: `pid` found a deadlock and is about to abort its
// transaction; `lock` is the lock it waited for; `others` the other backends
// of the same cluster in a heavyweight lock wait at that moment (the rest of
// the cycle is among them).
// A checkpoint ended (checkpoint__done), with its phases as far as seen.
struct CheckpointEvent {
  int pid = 0;            // the checkpointer (or the startup process, at end of recovery)
  int postmaster = 0;
  uint32_t flags = 0;
  bool started = false;   // true: the start; false: the end
  model::CheckpointTimes times;
};

struct DeadlockEvent {
  int pid = 0;
  uint64_t ts_ns = 0;
  detect::PgWait wait;
  int pg_major = 0;
  std::vector<int> others;
};

struct SessionOptions {
  std::vector<int> pids;               // --pid: postmasters (or any of their processes)
  std::vector<std::string> data_dirs;  // --data-dir
  bool wait_events = true;             // read each backend's wait event from its memory
};

class Session {
 public:
  Session(Tracer& tracer, SessionOptions opts);

  // Resolves the targets and tracks every process found. Fails when the
  // targets name nothing: unknown pid, no postgres running, no postmaster.pid.
  bool start(std::string& err);

  // Drains the ring (forks, exits, execs, slow-event history).
  void poll_ring();
  // Rescans /proc for new postmasters and children the ring did not show
  // (a restart, or events lost), and refreshes process titles.
  void rescan();
  // Re-reads every process title ("... UPDATE waiting" changes by the statement).
  void refresh_titles();
  // Starts a new syscall-mix window; call about once a second.
  void next_window();
  // Starts one when the current window is a second old.
  void maybe_next_window(uint64_t now_ns);
  // Auto syscall mode: attaches the syscall tracepoints while some tracked
  // process is busy on CPU (≥ 60 % over half a second) without sleeping
  // (< 100 sleeps/s) and detaches them after 10 s without one. Starts a fresh window on attach. Call every tick.
  // LWLock probes in auto mode: attached while a backend has sat in an
  // LWLock wait for 200 ms or more, detached 10 s after the last one.
  void steer_lwlock_probes(uint64_t now, const std::vector<detect::Snapshot>& snaps);
  // Seconds they were attached so far (auto mode; -1: always).
  double lwlock_probes_s(uint64_t now) const;
  void steer_syscall_tracing(uint64_t now_ns, const std::vector<detect::Snapshot>& snaps);
  // Seconds the syscall tracepoints have been attached so far.
  double syscall_tracing_s(uint64_t now_ns) const;

  std::vector<detect::Snapshot> snapshot(uint64_t now_ns);

  // Facts for a flagged stall that cost I/O to gather: kernel stack, wchan,
  // the file. Only called for stalls, so cheap overall.
  void enrich(detect::Stall& stall);

  const std::map<int, ProcInfo>& procs() const { return procs_; }
  std::vector<ProcessEvent> take_process_events();
  std::vector<DeadlockEvent> take_deadlocks();
  std::vector<CheckpointEvent> take_checkpoints();
  // The checkpoint in progress in pid's cluster, if its start was seen.
  std::optional<CheckpointEvent> checkpoint_of(int pid) const;
  // Operator-facing notes from setting up (USDT probes missing, ...), once each.
  std::vector<std::string> take_notices();
  uint64_t slow_syscalls() const { return slow_syscalls_; }
  uint64_t slow_offcpu() const { return slow_offcpu_; }
  uint64_t bad_records() const { return bad_records_; }
  uint64_t pg_wait_records() const { return pg_wait_records_; }
  uint64_t wait_event_read_errors() const { return wait_read_errors_; }
  // Lock waits whose holders could not be read from shared memory.
  uint64_t lock_graph_errors() const { return lock_graph_errors_; }
  Tracer& tracer() { return tracer_; }

 private:
  void add_process(int pid, int ppid, int postmaster, bool from_fork);
  void remove_process(int pid, const char* why);
  bool wanted_postmaster(int pid) const;
  std::optional<detect::Window> window_for(ProcInfo& p, const pgstall_thread_state& st);

  Tracer& tracer_;
  SessionOptions opts_;
  std::set<std::string> target_dirs_;  // resolved data dirs of the targets
  std::map<int, ProcInfo> procs_;
  std::set<int> postmasters_;
  std::vector<ProcessEvent> pevents_;
  std::map<uint32_t, uint64_t> epoch_start_ns_;
  uint64_t last_window_ns_ = 0;
  // Syscall tracing: windows from this epoch on were counted whole.
  uint32_t tracing_from_epoch_ = 0;
  bool lwlock_start_current(uint64_t since_ns) const;
  void add_user_stack(detect::Stall& stall, const std::vector<std::string>& kernel_inner_first);
  uint64_t last_lwlock_wait_ns_ = 0, lwlock_on_since_ns_ = 0, lwlock_total_ns_ = 0;
  uint64_t tracing_since_ns_ = 0, tracing_total_ns_ = 0, last_busy_ns_ = 0;
  struct BusyCheck {
    uint64_t at_ns = 0, cpu_ns = 0, sleeps = 0;
  };
  std::map<int, BusyCheck> busy_ckpt_;
  std::vector<detect::Snapshot> exited_;  // last words of processes gone since the last snapshot
  std::vector<DeadlockEvent> deadlocks_;
  std::vector<CheckpointEvent> checkpoint_events_;
  std::map<int, CheckpointEvent> checkpoints_;  // by postmaster: the one in progress
  std::vector<std::string> notices_;
  uint64_t pg_wait_records_ = 0;
  WaitEventReader wait_reader_;
  symbols::Symbolizer symbolizer_;
  bool wait_read_warned_ = false;
  uint64_t wait_read_errors_ = 0;
  // The PGPROC/LOCK walk behind a Lock wait event (model/lockgraph.h).
  std::optional<model::LockWaitRead> read_lock_holders(int pid, int pg_major);
  bool lock_graph_warned_ = false;
  uint64_t lock_graph_errors_ = 0;
  uint64_t slow_syscalls_ = 0, slow_offcpu_ = 0, bad_records_ = 0;
  int self_ = 0;
};

// Seconds since a sleeping task last ran, from /proc/PID/sched (the
// scheduler's clock, compared with our own task's): how long a stall already
// under way has lasted at least. nullopt when the kernel lacks SCHED_DEBUG.
std::optional<double> proc_last_ran_age_s(int pid);

char task_state_char(uint32_t prev_state);

}  // namespace pgstall::capture
