#pragma once
// What capture reports besides snapshots: the traced set changing, waits
// for a server, checkpoints, deadlocks. Plain data.
#include <cstdint>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/snapshot.h"

namespace pgstall::model {

// A notable change of the traced set (JSON type "process").
struct ProcessEvent {
  std::string what;  // "postmaster_start", "postmaster_exit", "backend_start", "backend_exit"
  int pid = 0;
  std::string backend_type;
  std::string detail;
  // postmaster_start: it was running already when pgstall started (tracking
  // began, nothing started): JSON only, no notice.
  bool already_running = false;
  // backend_start/exit of a child seen forking that was gone before it could
  // be read (its title, its state): said so, as "unread": true.
  bool unread = false;
};

// pgstall waits for a postmaster (JSON type "waiting"): none ran from a
// target when pgstall started, or the last one exited.
struct WaitingEvent {
  std::string data_dir;  // "": any server on this machine (no target given)
  std::string reason;    // "no postmaster.pid", "postmaster 4160 exited"...
};

// A checkpoint began or ended (checkpoint probes), with its phases as far as seen.
struct CheckpointEvent {
  int pid = 0;            // the checkpointer (or the startup process, at end of recovery)
  int postmaster = 0;
  uint32_t flags = 0;
  bool started = false;   // true: the start; false: the end
  CheckpointTimes times;
};

// deadlock__found: `pid` found a deadlock and is about to abort its
// transaction; `wait` is the lock it waited for; `others` the other backends
// of the same cluster in a heavyweight lock wait at that moment (the rest of
// the cycle is among them).
struct DeadlockEvent {
  int pid = 0;
  uint64_t ts_ns = 0;
  PgWait wait;
  int pg_major = 0;
  std::vector<int> others;
};

}  // namespace pgstall::model
