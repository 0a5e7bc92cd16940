#include "capture/snapshots.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "capture/ring.h"
#include "model/procstate.h"
#include "model/relpath.h"
#include "model/syscalls.h"
#include "model/wait_event.h"

namespace pgstall::capture {
namespace {

// PG_WAIT_LOCK >> 24 (src/include/utils/wait_event.h, the same in 13-17).
constexpr uint32_t kWaitClassLock = 0x03;
// A file syscall this long is worth saying where its fd points (once per
// syscall): io-wait names the file, io-slow counts waits by file class.
constexpr uint64_t kFdLookupAfterNs = 100'000'000;

model::FileClass class_of(const model::PgFile& f) {
  if (f.kind == model::PgFileKind::Wal) return model::FileClass::Wal;
  if (f.temp || f.rel.find("pgsql_tmp") != std::string::npos) return model::FileClass::Temp;
  if (f.kind == model::PgFileKind::Relation) return model::FileClass::Relation;
  return model::FileClass::Other;
}

}  // namespace

void Windows::next() {
  const uint32_t e = tracer_.bump_epoch();
  last_ns_ = start_ns_[e] = monotonic_ns();
  while (start_ns_.size() > 8) start_ns_.erase(start_ns_.begin());
}

void Windows::maybe_next(uint64_t now) {
  if (now - last_ns_ >= 1'000'000'000ull) next();
}

uint64_t Windows::count_from_next() {
  next();
  counted_from_ = tracer_.epoch();
  return last_ns_;
}

std::optional<model::Window> Windows::completed(ProcInfo& p, const pgstall_thread_state& st) {
  const uint32_t e = tracer_.epoch();
  const uint32_t done = e - 1;  // the newest complete window
  // Only windows the syscall tracepoints saw whole say anything.
  if (!tracer_.syscall_tracing() || done < counted_from_) return std::nullopt;
  if (p.windows_delivered_epoch >= done || !start_ns_.count(done) || !start_ns_.count(e)) return std::nullopt;
  p.windows_delivered_epoch = done;
  model::Window w;
  w.start_ns = start_ns_[done];
  w.end_ns = start_ns_[e];
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
  // Call i of the window is at seq[i % PGSTALL_SEQ_LEN]: the last ones, oldest first.
  const uint32_t n = std::min<uint32_t>(src->total, PGSTALL_SEQ_LEN);
  for (uint32_t i = src->total - n; i != src->total; ++i) {
    const pgstall_seq_call& c = src->seq[i % PGSTALL_SEQ_LEN];
    w.sequence.push_back({c.nr, c.ret, c.arg0, c.arg2});
  }
  return w;
}

bool lwlock_start_current(const Tracer& tracer, uint64_t since_ns) {
  return since_ns && tracer.lwlock_probes_on() && since_ns >= tracer.lwlock_attached_ns();
}

SnapshotBuilder::SnapshotBuilder(Tracer& tracer, Processes& procs, const Checkpoints& checkpoints, Windows& windows,
                                 bool wait_events)
    : tracer_(tracer), procs_(procs), checkpoints_(checkpoints), windows_(windows), wait_events_(wait_events) {}

std::vector<model::Snapshot> SnapshotBuilder::build(uint64_t now, uint64_t counted_since) {
  std::vector<model::Snapshot> out;
  out.reserve(procs_.all().size());
  for (auto& [pid, p] : procs_.all())
    if (auto st = tracer_.state(pid)) out.push_back(one(now, p, *st, counted_since));
  for (auto& s : procs_.take_exited()) out.push_back(std::move(s));
  return out;
}

model::Snapshot SnapshotBuilder::one(uint64_t now, ProcInfo& p, const pgstall_thread_state& st,
                                     uint64_t counted_since) {
  model::Snapshot s;
  s.pid = p.pid;
  s.start_ticks = p.start_ticks;
  s.title = p.title;
  s.on_cpu = st.oncpu_since_ns != 0;
  set_syscall(s, st);
  s.syscalls_counted_since_ns = counted_since;
  s.offcpu_since_ns = st.offcpu_since_ns;
  s.offcpu_state = model::task_state_char(st.offcpu_state);
  s.cpu_ns = st.oncpu_total_ns + (st.oncpu_since_ns && now > st.oncpu_since_ns ? now - st.oncpu_since_ns : 0);
  const bool preempted = !s.on_cpu && st.offcpu_since_ns && st.offcpu_state == 0;
  s.runq_ns = st.runq_total_ns + (preempted && now > st.offcpu_since_ns ? now - st.offcpu_since_ns : 0);
  s.nr_syscalls = st.nr_syscalls;
  s.nr_sleeps = st.nr_sleeps;
  s.nr_wakeups = st.nr_wakeups;
  s.last_waker_pid = st.last_waker_pid;
  s.long_sleep_end_ns = p.long_sleep_end_ns;
  s.long_sleep_waker_pid = p.long_sleep_waker_pid;
  s.lower_bound = (p.seeded_sc_start_ns && s.in_syscall && s.sc_start_ns == p.seeded_sc_start_ns) ||
                  (p.seeded_offcpu_ns && !s.on_cpu && st.offcpu_since_ns == p.seeded_offcpu_ns);
  set_fd_path(s, p, now);
  set_pg_wait(s, st);
  s.pg_major = p.pg_major;
  read_memory(s, p, st);
  if (auto c = checkpoints_.in_progress(p.postmaster); c && c->pid == p.pid)
    s.checkpoint_phase = model::checkpoint_phase(c->times).value_or("");
  s.completed_window = windows_.completed(p, st);
  return s;
}

void SnapshotBuilder::set_syscall(model::Snapshot& s, const pgstall_thread_state& st) const {
  if (tracer_.syscall_tracing() && st.sc_gen == tracer_.sc_gen()) {
    // Exact: entry time and arguments from sys_enter.
    s.in_syscall = st.sc_nr >= 0;
    s.sc_nr = st.sc_nr;
    s.sc_start_ns = st.sc_start_ns;
    std::copy(std::begin(st.sc_args), std::end(st.sc_args), s.sc_args.begin());
  } else if (!s.on_cpu && st.sleep_sc_nr >= 0) {
    // From the registers saved at switch-out: the syscall it sleeps in,
    // timed from when it went to sleep.
    s.in_syscall = true;
    s.sc_nr = st.sleep_sc_nr;
    s.sc_start_ns = st.offcpu_since_ns;
    std::copy(std::begin(st.sleep_sc_args), std::end(st.sleep_sc_args), s.sc_args.begin());
  }
}

// Where a long file syscall points; looked up once per syscall.
void SnapshotBuilder::set_fd_path(model::Snapshot& s, ProcInfo& p, uint64_t now) const {
  if (!s.in_syscall || !model::syscall_arg0_is_fd(s.sc_nr) || now <= s.sc_start_ns + kFdLookupAfterNs) return;
  if (p.fd_cache_sc_start != s.sc_start_ns) {
    p.fd_cache_sc_start = s.sc_start_ns;
    p.fd_cache.clear();
    p.fd_cache_class = model::FileClass::Unknown;
    if (auto path = model::fd_path(p.pid, static_cast<int>(s.sc_args[0]))) {
      p.fd_cache = *path;
      p.fd_cache_class = model::FileClass::Other;
      if (auto f = model::classify_path(*path, p.data_dir)) {
        p.fd_cache = model::describe(*f);
        p.fd_cache_class = class_of(*f);
      }
    }
  }
  s.sc_fd_path = p.fd_cache;
  s.sc_fd_class = p.fd_cache_class;
}

void SnapshotBuilder::set_pg_wait(model::Snapshot& s, const pgstall_thread_state& st) const {
  s.pg = ring::pg_wait_of(st.pg);
  if (s.pg.lwlock_since_ns && !lwlock_start_current(tracer_, s.pg.lwlock_since_ns)) {
    // Stored while the LWLock probes were attached before: its end may
    // have gone unseen since. The wait event still tells an LWLock wait.
    s.pg.lwlock_since_ns = 0;
    s.pg.lwlock_tranche.clear();
  }
  if (st.query_since_ns) {
    s.pg.query_since_ns = st.query_since_ns;
    s.pg.query.assign(st.query, strnlen(st.query, sizeof st.query));
    s.pg.query_truncated = s.pg.query.size() + 1 >= sizeof st.query;
  }
}

// Reading another process's memory takes its mmap lock: a process asleep in
// D state may hold it (stuck in mmap/munmap), and so does a process in its
// exit (exit_mmap); the read would hang the whole watch. Keep the last value
// for those.
void SnapshotBuilder::read_memory(model::Snapshot& s, ProcInfo& p, const pgstall_thread_state& st) {
  if (!wait_events_) return;
  if ((!s.on_cpu && s.offcpu_state == 'D') || exiting(&st)) {
    s.wait_event_info = p.last_wait_event;
    return;
  }
  if (p.pg_major < 14 || p.pg_major > model::kWaitEventMaxMajor) return;
  // Not run since the last read: its wait event and statement start are as
  // read then. The lock holders are other processes': read again.
  if (p.last_wait_event && !ran_since(&st, p.memory_read_switches)) {
    s.wait_event_info = p.last_wait_event;
    s.statement_start = p.last_statement_start;
    if ((*s.wait_event_info >> 24) == kWaitClassLock) s.shm_lock = read_lock_holders(p.pid, p.pg_major);
    return;
  }
  p.memory_read_switches = st.nr_switches;
  const auto info = wait_reader_.read(p.pid);
  s.wait_event_info = p.last_wait_event = info ? std::optional<uint32_t>(*info) : std::nullopt;
  if (s.wait_event_info) {
    s.statement_start = p.last_statement_start = wait_reader_.statement_start(p.pid);
    if ((*s.wait_event_info >> 24) == kWaitClassLock) s.shm_lock = read_lock_holders(p.pid, p.pg_major);
    return;
  }
  // A process that exited between the listing and the read is a race, not a
  // failure to read: its exit arrives through the ring.
  if (model::gone_or_exiting(p.pid)) return;
  ++errors_.wait_events;
  if (!wait_read_warned_) {
    wait_read_warned_ = true;
    notices_.push_back("cannot read wait events: " + info.error().message);
  }
}

std::optional<model::LockWaitRead> SnapshotBuilder::read_lock_holders(int pid, int pg_major) {
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
  auto r = model::read_lock_wait(mem, pid, *target, *layout);
  if (!r) {
    if (model::gone_or_exiting(pid)) return std::nullopt;
    ++errors_.lock_graph;
    if (!lock_graph_warned_) {
      lock_graph_warned_ = true;
      notices_.push_back("cannot read lock holders: " + r.error().message);
    }
    return std::nullopt;
  }
  if (!r->waiting) return std::nullopt;  // granted between the two reads
  r->tag.type = std::string(model::lock_tag_type_name(static_cast<uint8_t>(r->tag.type_id), pg_major).value_or(""));
  return std::move(*r);
}

}  // namespace pgstall::capture
