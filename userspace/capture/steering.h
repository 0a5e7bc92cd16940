#pragma once
// When to attach the costly probes, decided from the snapshots alone (pure,
// unit-tested): the syscall tracepoints while some process is busy on CPU
// without sleeping (what a hot loop or a CPU-bound statement looks like),
// the LWLock probes while some backend sits in an LWLock wait. Both are
// detached a while after the last reason to have them.
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "model/snapshot.h"

namespace pgstall::capture {

enum class Steer { Keep, Attach, Detach };

class SyscallSteering {
 public:
  static constexpr uint64_t kCheckNs = 500'000'000ull;     // each process' CPU share, over half a second
  static constexpr uint64_t kLingerNs = 10'000'000'000ull; // detach this long after the last busy process
  // On CPU or runnable: a busy process on a saturated machine gets less
  // than its share of CPU, and is as busy.
  static constexpr double kBusyShare = 0.6;
  // A backend answering a slow client waits between messages, by sleeps or
  // by wake-ups that come before it has switched out: it does not count.
  static constexpr double kMaxWaitsPerS = 100;
  // Nor does one that makes progress: a new statement from its client
  // began since the last check (pg_stat_activity's query_start moved). One
  // serving pgbench -S at full speed here hardly waits at all — 34 sleeps
  // and wake-ups a second at 98 % CPU — but runs thousands of statements a
  // second. A loop inside one statement (PL/pgSQL, a function), a
  // CPU-bound query, a long COPY, a process whose query_start does not
  // move (startup, checkpointer) or cannot be read still counts.

  Steer decide(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, bool attached);

  // The last process judged busy, for the log: pid, share on CPU or runnable, waits per second.
  struct Busy {
    int pid = 0;
    double share = 0, waits_per_s = 0;
  };
  const Busy& last_busy() const { return busy_; }
  // Checks of a process busy on CPU that did not count because it began a
  // new statement, since the start (for the log and tests).
  uint64_t progressing_skipped() const { return progressing_; }

 private:
  struct Check {
    uint64_t at_ns = 0, busy_ns = 0, sleeps = 0, wakeups = 0;  // busy: on CPU or waiting for one
    std::optional<int64_t> statement_start;                   // pg_stat_activity's query_start
  };
  std::map<int, Check> checks_;
  uint64_t last_busy_ns_ = 0;
  uint64_t progressing_ = 0;
  Busy busy_;
};

class LwlockSteering {
 public:
  // Longer than ordinary contention (most LWLock waits last microseconds).
  static constexpr uint64_t kLongNs = 200'000'000ull;
  static constexpr uint64_t kLingerNs = 10'000'000'000ull;

  Steer decide(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, bool attached);

 private:
  uint64_t last_wait_ns_ = 0;
};

}  // namespace pgstall::capture
