#pragma once
// A tracing session over the postgres processes of this machine (or of
// chosen clusters), composed of its parts: the processes (discovery and
// seeding, capture/processes), the ring's records (capture/ring), the
// checkpoints in progress, the costly probes steered on demand
// (capture/steering) and the snapshots the detectors judge
// (capture/snapshots).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture/checkpoints.h"
#include "capture/processes.h"
#include "capture/snapshots.h"
#include "capture/steering.h"
#include "capture/tracer.h"
#include "model/events.h"
#include "model/snapshot.h"
#include "util/result.h"

namespace pgstall::capture {

struct SessionOptions {
  std::vector<int> pids;               // --pid: postmasters (or any of their processes)
  std::vector<std::string> data_dirs;  // --data-dir
  bool wait_events = true;             // read each backend's wait event from its memory
};

// What came through the ring, counted.
struct RingCounts {
  uint64_t slow_syscalls = 0, slow_offcpu = 0, pg_wait_records = 0;
  uint64_t bad_records = 0;  // too short for their type, or of an unknown type
};

class Session {
 public:
  Session(Tracer& tracer, SessionOptions opts);

  // Resolves the targets and tracks every process found. Fails only on a
  // usage error (capture/processes); a target with no postmaster running is
  // waited for.
  Result<void> start();

  // Drains the ring (forks, exits, execs, slow-event history, deadlocks,
  // checkpoints).
  void poll_ring();
  // Rescans /proc for new postmasters and children the ring did not show
  // (a restart, or events lost), and refreshes process titles.
  void rescan() { procs_.rescan(); }
  // Some target has no postmaster running; while so, postmaster_may_be_up()
  // is a cheap look whether a rescan would find one.
  bool waiting() const { return procs_.waiting(); }
  bool postmaster_may_be_up() const { return procs_.postmaster_may_be_up(); }
  // Re-reads every process title ("... UPDATE waiting" changes by the statement).
  void refresh_titles() { procs_.refresh_titles(); }
  // Starts a new syscall-mix window when the current one is a second old.
  void maybe_next_window(uint64_t now_ns) { windows_.maybe_next(now_ns); }

  std::vector<model::Snapshot> snapshot(uint64_t now_ns);
  // Auto syscall mode: the syscall tracepoints attached while some process
  // is busy on CPU without sleeping, detached 10 s after (capture/steering).
  void steer_syscall_tracing(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);
  // LWLock probes in auto mode: attached while a backend has sat in an
  // LWLock wait for 200 ms or more, detached 10 s after the last one.
  void steer_lwlock_probes(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);
  // Seconds the syscall tracepoints have been attached so far.
  double syscall_tracing_s(uint64_t now_ns) const;
  // Seconds the LWLock probes were attached so far (auto mode; -1: always).
  double lwlock_probes_s(uint64_t now_ns) const;

  const std::map<int, ProcInfo>& procs() const { return procs_.all(); }
  std::vector<model::ProcessEvent> take_process_events() { return procs_.take_events(); }
  std::vector<model::WaitingEvent> take_waiting() { return procs_.take_waiting(); }
  std::vector<model::DeadlockEvent> take_deadlocks() { return std::exchange(deadlocks_, {}); }
  std::vector<model::CheckpointEvent> take_checkpoints() { return checkpoints_.take_events(); }
  // The checkpoint in progress in pid's cluster, if its start was seen.
  std::optional<model::CheckpointEvent> checkpoint_of(int pid) const;
  // Operator-facing notes (USDT probes missing, memory reads failing, probes
  // attached on demand...), once each.
  std::vector<std::string> take_notices();
  const RingCounts& ring_counts() const { return ring_; }
  const ReadErrors& read_errors() const { return builder_.errors(); }
  Tracer& tracer() { return tracer_; }

 private:
  void on_deadlock(int pid, uint64_t ts_ns, const model::PgWait& wait);
  void on_checkpoint(int tgid, uint64_t ts_ns, uint32_t phase, uint32_t flags);

  // Time a probe set spent attached.
  struct Attached {
    uint64_t since_ns = 0, total_ns = 0;
    double seconds(uint64_t now) const;
  };

  Tracer& tracer_;
  Processes procs_;
  Checkpoints checkpoints_;
  Windows windows_;
  SnapshotBuilder builder_;
  SyscallSteering syscall_steering_;
  LwlockSteering lwlock_steering_;
  Attached syscall_tracing_, lwlock_probes_;
  std::vector<model::DeadlockEvent> deadlocks_;
  std::vector<std::string> notices_;
  RingCounts ring_;
};

}  // namespace pgstall::capture
