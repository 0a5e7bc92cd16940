#pragma once
// Detector snapshots from the kernel's per-thread state: the syscall it is in
// (exact while the syscall tracepoints are attached, else the one it went to
// sleep in), where a long file syscall's fd points, Postgres' own account of
// its wait (USDT), the wait event it published and, for a heavyweight lock
// wait, who holds the lock (both read from its memory), and each complete
// one-second syscall window.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture/checkpoints.h"
#include "capture/pgmem.h"
#include "capture/processes.h"
#include "capture/tracer.h"
#include "model/snapshot.h"

namespace pgstall::capture {

// The syscall-mix windows: bumping the kernel's epoch starts a new one in
// every thread; only windows the syscall tracepoints saw whole are handed on.
class Windows {
 public:
  explicit Windows(Tracer& tracer) : tracer_(tracer) {}
  void next();
  // A new one when the current window is a second old.
  void maybe_next(uint64_t now_ns);
  // Syscall tracing starts now: the window in progress began untraced, so
  // counting starts with a fresh one. Returns when it began.
  uint64_t count_from_next();
  // The newest complete window of p, once; nullopt when there is none new or
  // it was not counted whole.
  std::optional<model::Window> completed(ProcInfo& p, const pgstall_thread_state& st);
  uint64_t last_start_ns() const { return last_ns_; }

 private:
  Tracer& tracer_;
  std::map<uint32_t, uint64_t> start_ns_;  // epoch -> when it began
  uint64_t last_ns_ = 0;
  uint32_t counted_from_ = 0;              // windows from this epoch on were counted whole
};

// A wait start stored while the LWLock probes were attached before (its end
// may have gone unseen since) is not current.
bool lwlock_start_current(const Tracer& tracer, uint64_t since_ns);

struct ReadErrors {
  uint64_t wait_events = 0;  // wait events that could not be read (the process is still there)
  uint64_t lock_graph = 0;   // lock waits whose holders could not be read from shared memory
};

class SnapshotBuilder {
 public:
  SnapshotBuilder(Tracer& tracer, Processes& procs, const Checkpoints& checkpoints, Windows& windows,
                  bool wait_events);

  // Every tracked process as of now; syscalls_counted_since_ns: since when
  // syscalls have been counted without a gap (0: not now).
  std::vector<model::Snapshot> build(uint64_t now_ns, uint64_t syscalls_counted_since_ns);
  void forget(int pid) { wait_reader_.forget(pid); }
  const ReadErrors& errors() const { return errors_; }
  std::vector<std::string> take_notices() { return std::exchange(notices_, {}); }

 private:
  model::Snapshot one(uint64_t now, ProcInfo& p, const pgstall_thread_state& st, uint64_t counted_since);
  void set_syscall(model::Snapshot& s, const pgstall_thread_state& st) const;
  void set_fd_path(model::Snapshot& s, ProcInfo& p, uint64_t now) const;
  void set_pg_wait(model::Snapshot& s, const pgstall_thread_state& st) const;
  void read_memory(model::Snapshot& s, ProcInfo& p, const pgstall_thread_state& st);
  // The PGPROC/LOCK walk behind a Lock wait event (model/lockgraph.h).
  std::optional<model::LockWaitRead> read_lock_holders(int pid, int pg_major);

  Tracer& tracer_;
  Processes& procs_;
  const Checkpoints& checkpoints_;
  Windows& windows_;
  bool wait_events_;
  WaitEventReader wait_reader_;
  ReadErrors errors_;
  bool wait_read_warned_ = false, lock_graph_warned_ = false;
  std::vector<std::string> notices_;
};

}  // namespace pgstall::capture
