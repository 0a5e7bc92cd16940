#pragma once
// The ring buffer's records, decoded and checked: each one is a typed value
// or, when its size does not match its tag, counted as bad. Pure: unit-tested
// on hand-made bytes.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "capture/abi.h"
#include "model/snapshot.h"

namespace pgstall::capture::ring {

struct Fork {
  int parent_tgid = 0;
  int child_pid = 0;
  bool is_thread = false;  // a thread of the parent, not a new process
};
struct Exit {
  int pid = 0;
  bool is_thread = false;
};
struct Exec {
  int pid = 0;
};
struct SlowSyscall {};
struct SlowOffcpu {
  int pid = 0;
  uint64_t end_ns = 0;  // it ran again
  uint32_t waker_pid = 0;
};
struct PgWaitDone {};
struct Deadlock {
  int pid = 0;
  uint64_t ts_ns = 0;
  model::PgWait wait;
};
struct Checkpoint {
  int tgid = 0;
  uint64_t ts_ns = 0;
  uint32_t phase = 0;  // enum pgstall_checkpoint_phase
  uint32_t flags = 0;
};
struct Bad {};  // too short for its tag, or an unknown tag

using Record = std::variant<Fork, Exit, Exec, SlowSyscall, SlowOffcpu, PgWaitDone, Deadlock, Checkpoint, Bad>;

Record decode(const void* data, size_t size);

// Postgres' wait as the kernel side stored it.
model::PgWait pg_wait_of(const pgstall_pg_wait& w);

}  // namespace pgstall::capture::ring
