#pragma once
// What one process is doing now, as the capture layer saw it: the currency
// between capture (which builds snapshots about every 100 ms) and the
// detectors and enrichment (which judge and describe them). Plain data.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/lockgraph.h"
#include "model/locktag.h"
#include "model/title.h"
#include "model/wait_event.h"

namespace pgstall::model {

struct MixEntry {
  int nr = -1;
  uint32_t count = 0;
  int64_t last_ret = 0;
  uint32_t same_ret = 0;  // calls that returned what the previous call of that number returned
};

// One call of a window's sequence.
struct SeqCall {
  int nr = -1;
  int32_t ret = 0;    // truncated to 32 bits
  int32_t arg0 = 0;   // the first argument as an int: the fd of fd calls
  uint32_t arg2 = 0;  // the third argument truncated: the byte count of read/write
  bool operator==(const SeqCall&) const = default;
};

// One complete syscall window (about 1 s) of one thread, aggregated in the kernel.
struct Window {
  uint64_t start_ns = 0, end_ns = 0;
  uint32_t total = 0;
  uint32_t repeats = 0;       // same call, same args, same result as one of the last 8
  uint32_t other = 0;         // calls outside the tracked mix slots
  uint32_t client_io = 0;     // socket send/recv
  uint32_t block_issued = 0;  // block requests issued by the thread
  std::vector<MixEntry> mix;
  std::vector<SeqCall> sequence;  // the window's last calls (up to 16), oldest first
};

// Postgres' own account of a wait in progress, from its USDT probes.
struct PgWait {
  uint64_t lock_since_ns = 0;  // heavyweight lock wait (0: none)
  std::array<uint32_t, 4> lock_field{};
  uint32_t lock_type = 0;      // LockTagType (version-specific)
  int lock_mode = 0;           // LOCKMODE
  uint64_t lwlock_since_ns = 0;
  std::string lwlock_tranche;
  int lwlock_mode = 0;
  // The statement running (query__start/done, --queries only; 0/"": unknown).
  uint64_t query_since_ns = 0;
  std::string query;
  bool query_truncated = false;  // the text filled the probe's buffer: there is more
};

// What a file an I/O wait is on holds, as far as the data directory says.
enum class FileClass { Unknown, Wal, Relation, Temp, Other };
std::string_view file_class_name(FileClass c);  // "WAL", "relation", "temp", "other", "unknown"

struct Snapshot {
  int pid = 0;
  // When the process started (/proc/PID/stat field 22, clock ticks since
  // boot; 0: unknown). A pid is reused once its process has exited: (pid,
  // start) is who it is, and state kept per pid belongs to one start only.
  uint64_t start_ticks = 0;
  ProcessTitle title;
  bool in_syscall = false;
  int sc_nr = -1;
  uint64_t sc_start_ns = 0;
  std::array<uint64_t, 4> sc_args{};
  std::string sc_fd_path;  // file I/O syscalls with an fd argument: where the fd points ("" = unknown)
  FileClass sc_fd_class = FileClass::Unknown;
  bool on_cpu = false;
  uint64_t offcpu_since_ns = 0;  // valid when !on_cpu
  char offcpu_state = 'S';       // 'S', 'D', 'R' (preempted) ...
  uint64_t cpu_ns = 0;           // cumulative CPU time, including the current run
  // Cumulative time runnable but waiting for a CPU (preempted), including
  // the current wait: cpu_ns + runq_ns is how busy it is whatever the load.
  uint64_t runq_ns = 0;
  uint64_t nr_syscalls = 0;      // cumulative, while syscalls are counted
  // Syscalls have been counted without a gap since this time (0: they are not
  // counted now; the syscall tracepoints are detached).
  uint64_t syscalls_counted_since_ns = 0;
  uint64_t nr_sleeps = 0;        // cumulative: times it went to sleep (preemptions not counted)
  uint64_t nr_wakeups = 0;       // cumulative: times it was woken (also when the wake-up beat its sleep)
  uint32_t last_waker_pid = 0;
  // The last off-CPU period long enough to be a stall ended at this time,
  // woken by this pid: what ended a wait, not whatever poked the thread later.
  uint64_t long_sleep_end_ns = 0;
  uint32_t long_sleep_waker_pid = 0;
  // The state was seeded from /proc when pgstall started: the stall began no
  // later than the *_since values, so durations are lower bounds.
  bool lower_bound = false;
  PgWait pg;                     // from USDT, when attached
  // The wait event the backend published (wait_event_info), read from its
  // memory; nullopt when it could not be read.
  std::optional<uint32_t> wait_event_info;
  // When its current top-level statement began (pg_stat_activity's
  // query_start, µs since 2000-01-01; 0: none yet), read from shared memory;
  // nullopt when it could not be read. Changes with every statement a
  // client sends, not with those a function runs.
  std::optional<int64_t> statement_start;
  int pg_major = 0;              // PostgreSQL major version (0: unknown)
  // The heavyweight lock it sleeps on and who holds it in a conflicting
  // mode, read from shared memory; set only while it waits on one.
  std::optional<LockWaitRead> shm_lock;
  // The checkpoint this process is running, by phase ("starting", "writing
  // buffers", ...), from the checkpoint probes; "" when none (or no USDT).
  std::string checkpoint_phase;
  // The process has exited: its last state, delivered once so its stalls end
  // with what woke it (a waiter often finishes and exits within one tick).
  bool exited = false;
  std::optional<Window> completed_window;  // a window that completed since the last snapshot

  char task_state() const { return on_cpu ? 'R' : offcpu_state; }
};

// The wait event s published, decoded for its server's version; nullopt when
// not waiting or unknown.
std::optional<WaitEvent> wait_event_of(const Snapshot& s);
// The heavyweight lock tag USDT reported for s, in pg_locks words.
LockTag lock_tag_of(const PgWait& w, int pg_major);

}  // namespace pgstall::model
