#pragma once
// What a process is doing now, read from /proc: the syscall it sits in, how
// long ago it last ran, whether it is gone. For a stall already under way
// when pgstall starts (the usual case in an incident), these seed its state.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pgstall::model {

// Every numeric entry of /proc: pids of processes (threads are not listed).
std::vector<int> list_pids();

// /proc/PID/syscall: "nr arg1 ... arg6 sp pc" while blocked in a syscall,
// "running", or "-1 sp pc" outside one.
struct ProcSyscall {
  int nr = -1;
  uint64_t args[4] = {};
};
std::optional<ProcSyscall> parse_proc_syscall(std::string_view text);
std::optional<ProcSyscall> proc_syscall(int pid);

// se.exec_start (ms, the scheduler's clock) from a /proc/PID/sched text.
std::optional<double> parse_sched_exec_start_ms(std::string_view text);
// Seconds since a sleeping task last ran, from /proc/PID/sched (the
// scheduler's clock, compared with our own task's): how long a stall already
// under way has lasted at least. nullopt when the kernel lacks SCHED_DEBUG.
std::optional<double> proc_last_ran_age_s(int pid);

// No longer there, a zombie, or exiting (its memory already gone): nothing
// of it is left to read.
bool gone_or_exiting(int pid);

// The kernel's task state at switch-out (sched_switch prev_state) as ps
// shows it: R (preempted), S, D, I (TASK_IDLE: D without load), T, ?.
char task_state_char(uint32_t prev_state);

}  // namespace pgstall::model
