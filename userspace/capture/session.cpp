#include "capture/session.h"

#include <type_traits>
#include <variant>

#include <spdlog/spdlog.h>

#include "capture/ring.h"

namespace pgstall::capture {

Session::Session(Tracer& tracer, SessionOptions opts)
    : tracer_(tracer),
      procs_(tracer, {std::move(opts.pids), std::move(opts.data_dirs)}, opts.wait_events,
             [this](int pid) { builder_.forget(pid); }),
      windows_(tracer),
      builder_(tracer, procs_, checkpoints_, windows_, opts.wait_events) {}

Result<void> Session::start() {
  if (auto r = procs_.start(); !r) return r;
  if (tracer_.syscall_tracing())
    syscall_tracing_.since_ns = windows_.count_from_next();
  else
    windows_.next();
  return {};
}

void Session::poll_ring() {
  tracer_.drain([this](const void* data, size_t size) {
    std::visit(
        [this](const auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, ring::Fork>) {
            if (!r.is_thread) procs_.forked(r.parent_tgid, r.child_pid);
          } else if constexpr (std::is_same_v<T, ring::Exit>) {
            if (!r.is_thread) procs_.exited(r.pid);
          } else if constexpr (std::is_same_v<T, ring::Exec>) {
            procs_.exec_seen(r.pid);
          } else if constexpr (std::is_same_v<T, ring::SlowSyscall>) {
            ++ring_.slow_syscalls;
          } else if constexpr (std::is_same_v<T, ring::SlowOffcpu>) {
            ++ring_.slow_offcpu;
            procs_.long_sleep_ended(r.pid, r.end_ns, r.waker_pid);
          } else if constexpr (std::is_same_v<T, ring::PgWaitDone>) {
            ++ring_.pg_wait_records;
          } else if constexpr (std::is_same_v<T, ring::Deadlock>) {
            on_deadlock(r.pid, r.ts_ns, r.wait);
          } else if constexpr (std::is_same_v<T, ring::Checkpoint>) {
            on_checkpoint(r.tgid, r.ts_ns, r.phase, r.flags);
          } else {
            ++ring_.bad_records;
          }
        },
        ring::decode(data, size));
  });
}

void Session::on_deadlock(int pid, uint64_t ts_ns, const model::PgWait& wait) {
  model::DeadlockEvent d;
  d.pid = pid;
  d.ts_ns = ts_ns;
  d.wait = wait;
  const ProcInfo* self = procs_.find(pid);
  if (self) d.pg_major = self->pg_major;
  // The others in the cycle wait for a heavyweight lock too, right now.
  for (const auto& [opid, op] : procs_.all()) {
    if (opid == pid || (self && op.postmaster != self->postmaster)) continue;
    auto ost = tracer_.state(opid);
    if ((ost && ost->pg.lock_since_ns) || op.title.waiting) d.others.push_back(opid);
  }
  deadlocks_.push_back(std::move(d));
}

void Session::on_checkpoint(int tgid, uint64_t ts_ns, uint32_t phase, uint32_t flags) {
  const ProcInfo* p = procs_.find(tgid);
  if (!checkpoints_.on_probe(tgid, p ? p->postmaster : 0, phase, flags, ts_ns)) ++ring_.bad_records;
}

std::vector<model::Snapshot> Session::snapshot(uint64_t now) {
  return builder_.build(now, tracer_.syscall_tracing() ? syscall_tracing_.since_ns : 0);
}

void Session::steer_syscall_tracing(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  if (tracer_.syscall_mode() != SyscallMode::Auto) return;
  const uint64_t progressing = syscall_steering_.progressing_skipped();
  const Steer steer = syscall_steering_.decide(now, snaps, tracer_.syscall_tracing());
  if (progressing == 0 && syscall_steering_.progressing_skipped() > 0)
    spdlog::debug("syscall tracing not attached for busy backends whose clients keep sending statements "
                  "(pg_stat_activity's query_start moves): they make progress");
  switch (steer) {
    case Steer::Attach:
      if (!tracer_.set_syscall_tracing(true)) return;
      // Windows count from here: the one in progress began untraced.
      syscall_tracing_.since_ns = windows_.count_from_next();
      spdlog::debug("syscall tracing on: postgres process {} is busy on CPU without waiting ({:.0f}% on CPU or runnable, {:.0f} "
                    "sleeps or wake-ups/s)",
                    syscall_steering_.last_busy().pid, 100 * syscall_steering_.last_busy().share,
                    syscall_steering_.last_busy().waits_per_s);
      break;
    case Steer::Detach:
      tracer_.set_syscall_tracing(false);
      syscall_tracing_.total_ns += now - syscall_tracing_.since_ns;
      syscall_tracing_.since_ns = 0;
      spdlog::debug("syscall tracing off: nothing busy on CPU for {} s", SyscallSteering::kLingerNs / 1'000'000'000ull);
      break;
    case Steer::Keep: break;
  }
}

void Session::steer_lwlock_probes(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  if (tracer_.lwlock_mode() != SyscallMode::Auto || !tracer_.usdt_enabled()) return;
  switch (lwlock_steering_.decide(now, snaps, tracer_.lwlock_probes_wanted())) {
    case Steer::Attach: tracer_.set_lwlock_probes(true); break;
    case Steer::Detach: tracer_.set_lwlock_probes(false); break;
    case Steer::Keep: break;
  }
  // Said and counted when the tracer's thread has done it.
  const bool on = tracer_.lwlock_probes_on();
  if (on && !lwlock_probes_.since_ns) {
    lwlock_probes_.since_ns = now;
    notices_.push_back(
        "LWLock probes attached: a backend waits on an LWLock (lwlock__wait__start/done, until 10 s without one)");
  } else if (!on && lwlock_probes_.since_ns) {
    lwlock_probes_.total_ns += now - lwlock_probes_.since_ns;
    lwlock_probes_.since_ns = 0;
    notices_.push_back("LWLock probes detached: no LWLock wait for 10 s");
  }
}

double Session::Attached::seconds(uint64_t now) const {
  return static_cast<double>(total_ns + (since_ns && now > since_ns ? now - since_ns : 0)) / 1e9;
}

double Session::syscall_tracing_s(uint64_t now) const {
  return tracer_.syscall_tracing() ? syscall_tracing_.seconds(now) : syscall_tracing_.total_ns / 1e9;
}

double Session::lwlock_probes_s(uint64_t now) const {
  if (tracer_.lwlock_mode() == SyscallMode::Always) return -1;
  return lwlock_probes_.seconds(now);
}

std::optional<model::CheckpointEvent> Session::checkpoint_of(int pid) const {
  const ProcInfo* p = procs_.find(pid);
  if (!p) return std::nullopt;
  return checkpoints_.in_progress(p->postmaster);
}

std::vector<std::string> Session::take_notices() {
  std::vector<std::string> out = std::exchange(notices_, {});
  for (auto& n : procs_.take_notices()) out.push_back(std::move(n));
  for (auto& n : builder_.take_notices()) out.push_back(std::move(n));
  return out;
}

}  // namespace pgstall::capture
