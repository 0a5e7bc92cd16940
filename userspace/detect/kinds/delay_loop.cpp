// delay-loop: asleep in a pure delay (pg_usleep: select/pselect6 with no fds
// up to PostgreSQL 15, nanosleep from 16) at every look, waking and sleeping
// again: a polling wait Postgres gives no wait event for. Vacuum's cost delay
// is one too, and healthy: it says so (Timeout:VacuumDelay).
#include <cmath>

#include <fmt/format.h>

#include "detect/kind.h"
#include "model/probes.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "delay-loop";
constexpr ThresholdSpec kAfter{"delay-loop", "delay_loop_s", Unit::Seconds, 5.0,
                               "delay-loop threshold (polling in pg_usleep this long)"};
constexpr ThresholdSpec kRate{"delay-loop-rate", "delay_loop_rate", Unit::PerSecond, 2.0,
                              "delay-loop: delays per second, at least (fewer is one long nap)"};

bool in_delay(const model::Snapshot& s) {
  if (!s.in_syscall) return false;
  static const int kSelect = model::syscall_number("select"), kPselect = model::syscall_number("pselect6"),
                   kNanosleep = model::syscall_number("nanosleep"),
                   kClockNanosleep = model::syscall_number("clock_nanosleep");
  if (s.sc_nr == kNanosleep || s.sc_nr == kClockNanosleep) return true;
  return (s.sc_nr == kSelect || s.sc_nr == kPselect) && s.sc_args[0] == 0;
}

struct Polling {
  std::optional<uint64_t> since;
  uint64_t sleeps0 = 0, seen_ns = 0;
};

class DelayLoop final : public PerProcessJudge<Polling> {
 public:
  explicit DelayLoop(const Settings& s) : after_s_(s.get(kAfter)), rate_(s.get(kRate)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    Polling& p = state(s.pid);
    const auto we = model::wait_event_of(s);
    const bool vacuum_delay = we && we->type == "Timeout" && we->name == "VacuumDelay";
    if (!s.on_cpu && in_delay(s) && !vacuum_delay) {
      if (!p.since) {
        p.since = s.sc_start_ns && s.sc_start_ns < now ? s.sc_start_ns : now;
        p.sleeps0 = s.nr_sleeps;
      }
      p.seen_ns = now;
    } else if (!(s.on_cpu && p.since && secs(p.seen_ns, now) < 1.0)) {
      p.since.reset();  // on CPU between two delays is part of the loop; anything else ends it
    }
    if (!p.since) return std::nullopt;
    const double for_s = secs(*p.since, now);
    const double rate = for_s > 0 ? static_cast<double>(s.nr_sleeps - p.sleeps0) / for_s : 0;
    if (for_s < after_s_ || rate < rate_) return std::nullopt;
    Stall st = open_stall(kName, now, s, *p.since, false);
    st.detail["sleeps_per_s"] = std::round(rate);
    const std::string in = st.syscall.empty() ? "a delay" : st.syscall;
    st.summary = we ? fmt::format("{:.0f} short sleeps/s in {} (pg_usleep), wait event {}", rate, in, we->text())
                    : fmt::format("{:.0f} short sleeps/s in {} with nothing to wait on (pg_usleep), no wait "
                                  "event: a polling wait",
                                  rate, in);
    if (s.checkpoint_phase == "starting")
      st.summary += "; its checkpoint is starting: it waits for transactions inside their commit critical "
                    "section (delayChkptFlags): look for backends stuck in COMMIT (io-wait on pg_wal)";
    else if (!s.checkpoint_phase.empty())
      st.summary += "; its checkpoint is " + s.checkpoint_phase;
    return st;
  }

 private:
  double after_s_, rate_;
};

}  // namespace

const KindSpec& delay_loop_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "asleep in pg_usleep at every look, again and again, with no wait event (a polling wait)",
      .thresholds = {kAfter, kRate},
      .make = [](const Settings& s) { return std::make_unique<DelayLoop>(s); },
      // A polling loop's sleeps end by their timer: whoever ran the timer interrupt is no cause.
      .ended_by_waker = false,
      // Its words on the checkpoint it holds come from the checkpoint probes.
      .ring_inputs = {model::ring_probe::kCheckpoint},
  };
  return k;
}

}  // namespace pgstall::detect
