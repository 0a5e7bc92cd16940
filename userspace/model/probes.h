#pragma once
// What pgstall's kernel side attached and counted: plain data that capture
// fills and the outputs print.
#include <cstdint>
#include <string>
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

}  // namespace pgstall::model
