#pragma once
// What pgstall's kernel side attached and counted: plain data that capture
// fills and the outputs print.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgstall::model {

// One BPF program.
struct Probe {
  std::string name;      // e.g. "tp_btf/sched_switch"
  std::string purpose;   // what is lost without it
  bool required = false;
  bool on_demand = false;  // attached and detached while running (syscall tracepoints in auto mode)
  bool loaded = false;
  bool attached = false;
  bool fired = false;    // seen to fire by the self-test (or later counters)
  std::string error;
};

// One USDT probe of one postgres binary.
struct UsdtProbe {
  std::string name;    // "lock__wait__start"
  std::string binary;  // the executable it was attached in
  int sites = 0;       // places in the binary the probe resolved to (0: absent from this build)
  bool attached = false;
  bool on_demand = false;  // attached and detached while running (LWLock probes in auto mode)
  std::string error;
};

// One of the kernel side's counters, summed over CPUs.
struct Counter {
  std::string name;  // "ring_drops"
  uint64_t value = 0;
  bool loss = false;  // counts data that was lost
};

// The probes that write ring records, as their lost records are named. A
// record the full ring could not take is counted under its probe.
namespace ring_probe {
inline constexpr std::string_view kSchedSwitch = "sched_switch";  // a long sleep ended, and its waker
inline constexpr std::string_view kFork = "sched_process_fork";   // a new process to follow
inline constexpr std::string_view kExit = "sched_process_exit";
inline constexpr std::string_view kExec = "sched_process_exec";
inline constexpr std::string_view kSysExit = "sys_exit";          // a slow syscall, after the fact
inline constexpr std::string_view kLockWaitDone = "lock__wait__done";
inline constexpr std::string_view kLwlockWaitDone = "lwlock__wait__done";
inline constexpr std::string_view kDeadlock = "deadlock__found";
inline constexpr std::string_view kCheckpoint = "checkpoint";     // every checkpoint probe
}  // namespace ring_probe

// Ring records lost because the ring was full, per probe: every probe, in a
// fixed order, zeros included. The total is their sum (the `ring_drops`
// counter is this sum, read at the same time).
struct RingDrops {
  std::vector<std::pair<std::string, uint64_t>> by_probe;

  uint64_t total() const {
    uint64_t n = 0;
    for (const auto& [probe, lost] : by_probe) n += lost;
    return n;
  }
  uint64_t of(std::string_view probe) const {
    for (const auto& [p, lost] : by_probe)
      if (p == probe) return lost;
    return 0;
  }
};

}  // namespace pgstall::model
