#pragma once
// Stall detectors: pure code. In-flight snapshots of every tracked process go
// in (about every 100 ms), stall start/end events come out. No I/O, no root:
// everything here is unit-tested on synthetic snapshot streams.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/lockgraph.h"
#include "model/locktag.h"
#include "model/title.h"
#include "model/wait_event.h"

namespace pgstall::detect {

enum class Kind { LockSleep, LwlockWait, IoWait, HotLoop, CpuBound, DelayLoop };
std::string_view kind_name(Kind k);  // "lock-sleep", "lwlock-wait", ...

struct Thresholds {
  double lock_sleep_s = 5.0;
  double lwlock_wait_s = 1.0;
  double io_wait_s = 1.0;
  double hot_loop_rate = 5000.0;        // syscalls per second
  double hot_loop_s = 3.0;
  double hot_loop_top_share = 0.8;      // the top 3 syscalls make up at least this share
  double hot_loop_repeat_share = 0.8;   // calls identical to a recent call (args and result)
  double cpu_bound_s = 10.0;
  double cpu_busy_share = 0.7;          // share of wall time on CPU
  double cpu_few_syscalls = 500.0;      // per second: below this a busy thread is "CPU-bound"
  double delay_loop_s = 5.0;            // sleeping in pg_usleep-style delays, again and again, this long
  double delay_loop_rate = 2.0;         // delays per second: fewer is one long nap, not a loop
};

struct MixEntry {
  int nr = -1;
  uint32_t count = 0;
  int64_t last_ret = 0;
  uint32_t same_ret = 0;  // calls that returned what the previous call of that number returned
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

// What one process is doing now, as the capture layer saw it.
struct Snapshot {
  int pid = 0;
  model::ProcessTitle title;
  bool in_syscall = false;
  int sc_nr = -1;
  uint64_t sc_start_ns = 0;
  std::array<uint64_t, 4> sc_args{};
  std::string sc_fd_path;  // file I/O syscalls with an fd argument: where the fd points ("" = unknown)
  bool on_cpu = false;
  uint64_t offcpu_since_ns = 0;  // valid when !on_cpu
  char offcpu_state = 'S';       // 'S', 'D', 'R' (preempted) ...
  uint64_t cpu_ns = 0;           // cumulative CPU time, including the current run
  uint64_t nr_syscalls = 0;      // cumulative, while syscalls are counted
  // Syscalls have been counted without a gap since this time (0: they are not
  // counted now; the syscall tracepoints are detached).
  uint64_t syscalls_counted_since_ns = 0;
  uint64_t nr_sleeps = 0;        // cumulative: times it went to sleep (preemptions not counted)
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
  int pg_major = 0;              // PostgreSQL major version (0: unknown)
  // The heavyweight lock it sleeps on and who holds it in a conflicting
  // mode, read from shared memory; set only while it waits on one.
  std::optional<model::LockWaitRead> shm_lock;
  // The checkpoint this process is running, by phase ("starting", "writing
  // buffers", ...), from the checkpoint probes; "" when none (or no USDT).
  std::string checkpoint_phase;
  // The process has exited: its last state, delivered once so its stalls end
  // with what woke it (a waiter often finishes and exits within one tick).
  bool exited = false;
  std::optional<Window> completed_window;  // a window that completed since the last snapshot
};

struct Stall {
  Kind kind{};
  int pid = 0;
  uint64_t since_ns = 0;
  bool lower_bound = false;
  std::string syscall;  // the syscall it sits in, if any
  char state = '?';     // task state: R, S, D
  std::string summary;  // one line, human words
  nlohmann::json detail = nlohmann::json::object();
};

struct Event {
  enum class Type { Start, End };
  Type type{};
  Stall stall;
  double duration_s = 0;    // at start: so far; at end: total
  uint32_t woken_by = 0;    // End: who woke the thread out of the stall (0 = unknown)
  bool exited = false;      // End: the process exited
};

class Engine {
 public:
  explicit Engine(Thresholds t = {}) : t_(t) {}

  // All tracked processes at time now (CLOCK_MONOTONIC ns). A pid missing from
  // the list, or marked exited, has exited: its stalls end.
  std::vector<Event> update(uint64_t now_ns, const std::vector<Snapshot>& snaps);

  // Stalls in flight, by (pid, kind), with summaries as of the last update.
  const std::map<std::pair<int, Kind>, Stall>& active() const { return active_; }
  const Thresholds& thresholds() const { return t_; }

 private:
  struct History {
    std::optional<uint64_t> waiting_since;  // title says "waiting"
    bool waiting_lower_bound = false;
    std::optional<uint64_t> hot_since;
    std::optional<uint64_t> delay_since;   // sleeping in pure delays (pg_usleep) since
    uint64_t delay_sleeps0 = 0, delay_seen_ns = 0;
    std::optional<Window> last_hot_window;
    std::optional<uint64_t> busy_since;
    uint64_t busy_check_ns = 0, busy_check_cpu = 0, busy_check_sys = 0;
    double last_cpu_share = 0, last_sys_rate = 0;
    std::optional<uint64_t> idle_tx_since;
  };

  std::vector<Stall> judge(uint64_t now_ns, const Snapshot& s, History& h,
                           const std::vector<Snapshot>& all);
  // s waits on a lock read from shared memory: its holders (JSON) and the
  // words for the summary ("blocked by pid 4100 (ExclusiveLock, idle in
  // transaction 12s); chain 4102 -> 4101 -> 4100").
  std::pair<nlohmann::json, std::string> blockers_of(uint64_t now_ns, const Snapshot& s,
                                                     const std::vector<Snapshot>& all) const;

  Thresholds t_;
  std::map<int, History> hist_;
  std::map<std::pair<int, Kind>, Stall> active_;
};

// Pure helpers, exposed for tests.
struct LoopVerdict {
  bool looping = false;
  double rate = 0;
  double top_share = 0;
  double repeat_share = 0;
  std::string why_not;  // when !looping: the first criterion that failed
};
LoopVerdict judge_loop_window(const Window& w, const Thresholds& t);
std::string describe_mix(const Window& w);  // "lseek 50% (ret 8192), read 50% (ret 0)"
std::string thousands(double v);            // 18400 -> "18,400"
std::optional<model::WaitEvent> wait_event_of(const Snapshot& s);
model::LockTag lock_tag_of(const Snapshot& s);

}  // namespace pgstall::detect
