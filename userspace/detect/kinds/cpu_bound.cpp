// cpu-bound: on CPU most of the time (or waiting for one: on a saturated
// machine a runaway query gets its share, and is still busy) with few
// syscalls — a very long statement, not a loop of calls. Checked once a
// second; "few syscalls" can only be told over an interval the kernel
// counted whole.
#include <cmath>

#include <fmt/format.h>

#include "detect/kind.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "cpu-bound";
constexpr uint64_t kCheckNs = 1'000'000'000ull;
constexpr ThresholdSpec kAfter{"cpu-bound", "cpu_bound_s", Unit::Seconds, 10.0, "cpu-bound threshold"};
constexpr ThresholdSpec kBusy{"cpu-busy-share", "cpu_busy_share", Unit::Share, 0.7,
                              "cpu-bound: share of wall time on CPU or waiting for one, at least"};
constexpr ThresholdSpec kFewSyscalls{"cpu-few-syscalls", "cpu_few_syscalls", Unit::PerSecond, 500.0,
                                     "cpu-bound: syscalls per second, fewer than"};

struct Busy {
  std::optional<uint64_t> since;
  uint64_t check_ns = 0, check_cpu = 0, check_runq = 0, check_sys = 0;  // the interval measured began here
  double cpu_share = 0, runq_share = 0, sys_rate = 0;                   // over the last whole interval
};

class CpuBound final : public PerProcessJudge<Busy> {
 public:
  explicit CpuBound(const Settings& s)
      : after_s_(s.get(kAfter)), busy_share_(s.get(kBusy)), few_syscalls_(s.get(kFewSyscalls)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    Busy& b = state(s.pid);
    measure(now, s, b);
    if (!b.since || secs(*b.since, now) < after_s_) return std::nullopt;
    Stall st = open_stall(kName, now, s, *b.since, false);
    st.detail["cpu_share"] = std::round(b.cpu_share * 1000) / 1000;
    st.detail["runnable_share"] = std::round(b.runq_share * 1000) / 1000;
    st.detail["syscalls_per_s"] = std::round(b.sys_rate);
    st.summary = fmt::format("on CPU {:.0f}% of the time, {:.0f} syscalls/s", b.cpu_share * 100, b.sys_rate);
    // Busy on a saturated machine: it would run if it could.
    if (b.runq_share >= 0.1)
      st.summary += fmt::format("; waiting for a CPU {:.0f}% of the time (the CPUs are saturated)", b.runq_share * 100);
    return st;
  }

 private:
  void measure(uint64_t now, const model::Snapshot& s, Busy& b) const {
    const bool counted = s.syscalls_counted_since_ns != 0;
    if (b.check_ns == 0 || (counted && s.syscalls_counted_since_ns > b.check_ns)) {
      restart(now, s, b);  // where counting began
      return;
    }
    if (now - b.check_ns < kCheckNs) return;
    const double span = secs(b.check_ns, now);
    b.cpu_share = (s.cpu_ns >= b.check_cpu ? s.cpu_ns - b.check_cpu : 0) / 1e9 / span;
    b.runq_share = (s.runq_ns >= b.check_runq ? s.runq_ns - b.check_runq : 0) / 1e9 / span;
    b.sys_rate = s.nr_syscalls >= b.check_sys ? (s.nr_syscalls - b.check_sys) / span : 0;
    if (counted && b.cpu_share + b.runq_share >= busy_share_ && b.sys_rate < few_syscalls_) {
      if (!b.since) b.since = b.check_ns;
    } else {
      b.since.reset();
    }
    restart(now, s, b);
  }

  static void restart(uint64_t now, const model::Snapshot& s, Busy& b) {
    b.check_ns = now;
    b.check_cpu = s.cpu_ns;
    b.check_runq = s.runq_ns;
    b.check_sys = s.nr_syscalls;
  }

  double after_s_, busy_share_, few_syscalls_;
};

}  // namespace

const KindSpec& cpu_bound_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "on CPU (or waiting for one) most of the time with few syscalls (syscall tracepoints, on demand)",
      .thresholds = {kAfter, kBusy, kFewSyscalls},
      .make = [](const Settings& s) { return std::make_unique<CpuBound>(s); },
  };
  return k;
}

}  // namespace pgstall::detect
