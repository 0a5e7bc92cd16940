// wait: a process in work — a client backend running a statement, an
// autovacuum worker, a background or parallel worker — that has sat in one
// wait meaning "blocked on something else" for longer than the threshold,
// whatever it waits for: a COMMIT waiting for a synchronous standby
// (IPC:SyncRep), a cleanup lock on a pinned buffer (BufferPin), another
// process' I/O on a buffer (IPC:BufferIO), a checkpoint, an extension. The
// wait event is read from the backend's memory every snapshot. Heavyweight
// lock, LWLock and I/O waits are lock-sleep's, lwlock-wait's and io-wait's.
// Never a stall: waiting for the client, the naps of auxiliary processes,
// pg_sleep, vacuum's cost delay, recovery_min_apply_delay, and a parallel
// query whose other members are running.
#include <array>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "detect/kind.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "wait";
constexpr ThresholdSpec kAfter{"wait", "wait_s", Unit::Seconds, 5.0,
                               "wait threshold (any blocking wait event: IPC, BufferPin, Extension, Timeout)"};
// Seen again within this long, the same wait goes on (a latch wait wakes
// now and then and sleeps again).
constexpr uint64_t kGapNs = 1'000'000'000ull;

// The human cause of the commonest waits.
std::string cause_of(const model::WaitEvent& we) {
  struct Cause {
    std::string_view type, name, words;
  };
  static constexpr std::array<Cause, 24> kCauses{{
      {"IPC", "SyncRep", "COMMIT waits for synchronous replication (no synchronous standby confirms)"},
      {"BufferPin", "BufferPin",
       "waits for a cleanup lock on a buffer pinned by another session (an open cursor, a long query)"},
      {"IPC", "BufferIO", "waits for another process' I/O on the same buffer"},
      {"IPC", "CheckpointDone", "waits for a checkpoint to finish"},
      {"IPC", "CheckpointStart", "waits for a checkpoint to start"},
      {"IPC", "ProcArrayGroupUpdate", "waits for the group leader to clear its transaction at commit"},
      {"IPC", "XactGroupUpdate", "waits for the group leader to update its transaction status at commit"},
      {"IPC", "SafeSnapshot", "waits for a safe snapshot (SERIALIZABLE READ ONLY DEFERRABLE)"},
      {"IPC", "ProcSignalBarrier", "waits for every process to absorb a signal barrier"},
      {"IPC", "BackendTermination", "waits for a backend it signalled to terminate"},
      {"IPC", "BgWorkerStartup", "waits for a background worker to start"},
      {"IPC", "BgWorkerShutdown", "waits for a background worker to shut down"},
      {"IPC", "ParallelFinish", "waits for its parallel workers to finish"},
      {"IPC", "ExecuteGather", "waits for its parallel workers' rows (Gather)"},
      {"IPC", "MessageQueueSend", "waits to send to a parallel query's message queue"},
      {"IPC", "MessageQueueReceive", "waits to receive from a parallel query's message queue"},
      {"IPC", "ReplicationSlotDrop", "waits for a replication slot to become inactive to drop it"},
      {"IPC", "RecoveryConflictSnapshot", "waits for recovery conflicts to be resolved (snapshot)"},
      {"IPC", "ArchiveCommand", "waits for archive_command"},
      {"IPC", "BackupWaitWalArchive", "waits for WAL to be archived (backup)"},
      {"Timeout", "RegisterSyncRequest", "waits to hand an fsync request to the checkpointer (its queue is full)"},
      {"Timeout", "VacuumTruncate", "waits to take an exclusive lock to truncate a relation (vacuum)"},
      {"Timeout", "SpinDelay", "waits for a contended spinlock"},
      {"Extension", "Extension", "waits inside an extension"},
  }};
  for (const auto& c : kCauses)
    if (c.type == we.type && c.name == we.name) return std::string(c.words);
  return fmt::format("waits on {}", we.text());
}

// Which processes do work a blocking wait stalls.
bool in_work(const model::ProcessTitle& t) {
  switch (t.type) {
    case model::BackendType::ClientBackend:
      return t.state == model::ClientState::Active || t.state == model::ClientState::Fastpath;
    case model::BackendType::AutovacuumWorker:
    case model::BackendType::BackgroundWorker:
    case model::BackendType::ParallelWorker:
    case model::BackendType::LogicalReplicationWorker: return true;
    default: return false;
  }
}

// A wait event that means "blocked on something else": not idle, not a nap,
// and not one of the kinds with a detector of their own.
bool blocking(const model::WaitEvent& we) {
  if (we.type == "IPC" || we.type == "BufferPin" || we.type == "Extension") return true;
  if (we.type == "Timeout")
    return we.name != "PgSleep" && we.name != "VacuumDelay" && we.name != "RecoveryApplyDelay";
  return false;  // Lock, LWLock, IO: their own kinds; Client, Activity: idle and naps
}

struct Seen {
  std::optional<model::WaitEvent> event;  // none: the kernel-view fallback (event unreadable)
  uint32_t info = 0;
  uint64_t since = 0, last_ns = 0;        // since 0: not in such a wait
  bool lower_bound = false;
};

class Wait final : public PerProcessJudge<Seen> {
 public:
  explicit Wait(const Settings& s) : after_s_(s.get(kAfter)) {}

  // Parallel queries: a member waiting while another member runs is the
  // query working, not a stall. A group is its leader and its workers.
  void begin_tick(uint64_t, const std::vector<model::Snapshot>& all) override {
    running_groups_.clear();
    std::map<int, uint64_t> cpu;
    for (const auto& o : all) {
      if (o.exited) continue;
      auto last = cpu_.find(o.pid);
      const bool ran = o.on_cpu || (last != cpu_.end() && o.cpu_ns > last->second);
      cpu[o.pid] = o.cpu_ns;
      if (!ran) continue;
      if (o.title.type == model::BackendType::ParallelWorker && o.title.leader_pid)
        running_groups_.insert(o.title.leader_pid);
      else
        running_groups_.insert(o.pid);
    }
    cpu_ = std::move(cpu);
  }

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    Seen& w = state(s.pid);
    const auto we = model::wait_event_of(s);
    const bool known = we && blocking(*we) && in_work(s.title) && !parallel_group_running(s);
    const bool fallback = !s.wait_event_info && latch_wait_without_event(s);
    if (known || fallback) {
      const uint32_t info = known ? *s.wait_event_info : 0;
      if (!w.since || w.info != info || w.event.has_value() != known || now - w.last_ns >= kGapNs) {
        w = {known ? we : std::nullopt, info, now, now, s.lower_bound};
        // Asleep since before it was first seen waiting: the wait began then at the latest.
        if (s.lower_bound && !s.on_cpu && s.offcpu_since_ns && s.offcpu_since_ns < now) w.since = s.offcpu_since_ns;
      }
      w.last_ns = now;
    } else if (!w.since || now - w.last_ns >= kGapNs) {
      w.since = 0;  // a glimpse between two sleeps of one wait does not end it; longer does
      return std::nullopt;
    }
    if (secs(w.since, now) < after_s_) return std::nullopt;
    Stall st = open_stall(kName, now, s, w.since, w.lower_bound);
    if (w.event) {
      st.detail["wait_event"] = w.event->text();
      st.detail["wait_event_type"] = w.event->type;
      st.summary = fmt::format("{} ({}, {})", cause_of(*w.event), w.event->text(), doing(s));
      if (!s.title.waiting_for_lsn.empty()) {
        st.detail["waiting_for_lsn"] = s.title.waiting_for_lsn;
        st.summary += "; it waits for LSN " + s.title.waiting_for_lsn;
      }
    } else {
      st.detail["wait_event"] = nullptr;
      st.summary = fmt::format("in a latch wait (epoll_wait, no timeout) while {}; its wait event cannot be read: "
                               "the cause is unknown",
                               doing(s));
    }
    return st;
  }

 private:
  static std::string doing(const model::Snapshot& s) {
    if (s.title.type == model::BackendType::ClientBackend && !s.title.command.empty())
      return "running " + s.title.command;
    std::string who(model::backend_type_name(s.title.type));
    return s.title.detail.empty() ? who : who + " " + s.title.detail;
  }

  // Without a wait event (not readable on this server): a client backend
  // running a command, asleep in epoll_wait (a latch) with no timeout — the
  // shape of every blocking wait (SyncRep, a buffer pin, a condition
  // variable). pg_sleep naps with a timeout; lock waits say " waiting" in
  // the title (lock-sleep's).
  static bool latch_wait_without_event(const model::Snapshot& s) {
    static const int kEpollWait = model::syscall_number("epoll_wait"),
                     kEpollPwait = model::syscall_number("epoll_pwait");
    const bool no_timeout = static_cast<int32_t>(s.sc_args[3]) == -1;
    return s.title.type == model::BackendType::ClientBackend && s.title.state == model::ClientState::Active &&
           !s.title.waiting && !s.on_cpu && s.in_syscall && (s.sc_nr == kEpollWait || s.sc_nr == kEpollPwait) &&
           no_timeout;
  }

  bool parallel_group_running(const model::Snapshot& s) const {
    const int group = s.title.type == model::BackendType::ParallelWorker ? s.title.leader_pid : s.pid;
    return group && running_groups_.count(group) > 0;
  }

  double after_s_;
  std::set<int> running_groups_;  // groups (leader pid) with a member that ran since the last tick
  std::map<int, uint64_t> cpu_;   // CPU time of every process at the last tick
};

}  // namespace

const KindSpec& wait_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "a process in work sat in one blocking wait event (IPC, BufferPin, Extension, Timeout)",
      .thresholds = {kAfter},
      .make = [](const Settings& s) { return std::make_unique<Wait>(s); },
      .yields_to = {"lock-sleep", "lwlock-wait", "io-wait", "io-slow"},
      .sleep_key = kAfter.key,
      .enrich = kEnrichPinHolders,
  };
  return k;
}

}  // namespace pgstall::detect
