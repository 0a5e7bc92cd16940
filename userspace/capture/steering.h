#pragma once
// When to attach the costly probes, decided from the snapshots alone (pure,
// unit-tested): the syscall tracepoints while some process is busy on CPU
// without sleeping (what a hot loop or a CPU-bound statement looks like),
// the LWLock probes while some backend sits in an LWLock wait. Both are
// detached a while after the last reason to have them.
#include <cstdint>
#include <map>
#include <vector>

#include "model/snapshot.h"

namespace pgstall::capture {

enum class Steer { Keep, Attach, Detach };

class SyscallSteering {
 public:
  static constexpr uint64_t kCheckNs = 500'000'000ull;     // each process' CPU share, over half a second
  static constexpr uint64_t kLingerNs = 10'000'000'000ull; // detach this long after the last busy process
  static constexpr double kBusyShare = 0.6;
  // A backend answering its client is busy too, but sleeps for the next
  // message thousands of times a second: it does not count.
  static constexpr double kMaxSleepsPerS = 100;

  Steer decide(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, bool attached);

 private:
  struct Check {
    uint64_t at_ns = 0, cpu_ns = 0, sleeps = 0;
  };
  std::map<int, Check> checks_;
  uint64_t last_busy_ns_ = 0;
};

class LwlockSteering {
 public:
  // Longer than ordinary contention (most LWLock waits last microseconds).
  static constexpr uint64_t kLongNs = 200'000'000ull;
  static constexpr uint64_t kLingerNs = 10'000'000'000ull;

  Steer decide(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, bool attached);

 private:
  uint64_t last_wait_ns_ = 0;
};

}  // namespace pgstall::capture
