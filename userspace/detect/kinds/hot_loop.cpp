// hot-loop: a thread making syscalls fast, the same calls again and again,
// with no progress (no client I/O, no block I/O), judged on complete windows
// the kernel aggregated (about 1 s each) for as long as it lasts.
#include "detect/kinds/hot_loop.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "hot-loop";
constexpr ThresholdSpec kAfter{"hot-loop", "hot_loop_s", Unit::Seconds, 3.0, "hot-loop: how long the loop must last"};
constexpr ThresholdSpec kRate{"hot-loop-rate", "hot_loop_rate", Unit::PerSecond, 5000.0,
                              "hot-loop: syscalls per second"};
constexpr ThresholdSpec kTopShare{"hot-loop-top-share", "hot_loop_top_share", Unit::Share, 0.8,
                                  "hot-loop: share of the calls made by the 3 commonest syscalls"};
constexpr ThresholdSpec kRepeatShare{"hot-loop-repeat-share", "hot_loop_repeat_share", Unit::Share, 0.8,
                                     "hot-loop: share of calls repeating a recent call (arguments and result)"};

struct Loop {
  std::optional<uint64_t> since;
  std::optional<model::Window> last;  // the newest looping window
};

class HotLoop final : public PerProcessJudge<Loop> {
 public:
  explicit HotLoop(const Settings& s) : after_s_(s.get(kAfter)), limits_(LoopLimits::from(s)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    Loop& l = state(s.pid);
    if (s.completed_window) {
      if (judge_loop_window(*s.completed_window, limits_).looping) {
        if (!l.since) l.since = s.completed_window->start_ns;
        l.last = s.completed_window;
      } else {
        l.since.reset();
        l.last.reset();
      }
    }
    if (!l.since || !l.last || secs(*l.since, l.last->end_ns) + 0.05 < after_s_) return std::nullopt;
    const model::Window& w = *l.last;
    const LoopVerdict v = judge_loop_window(w, limits_);
    Stall st = open_stall(kName, now, s, *l.since, false);
    nlohmann::json mix = nlohmann::json::array();
    for (const auto& m : w.mix)
      if (m.count)
        mix.push_back({{"syscall", model::syscall_name(m.nr)},
                       {"count", m.count},
                       {"share", std::round(1000.0 * m.count / w.total) / 1000},
                       {"last_ret", m.last_ret},
                       {"same_ret", m.same_ret}});
    st.detail["mix"] = mix;
    st.detail["rate_per_s"] = std::round(v.rate);
    st.detail["repeat_share"] = std::round(v.repeat_share * 1000) / 1000;
    st.detail["client_io"] = w.client_io;
    st.detail["block_issued"] = w.block_issued;
    st.summary = fmt::format("{} syscalls/s: {}; {:.0f}% repeated calls, no client I/O, no block I/O",
                             thousands(v.rate), describe_mix(w), v.repeat_share * 100);
    return st;
  }

 private:
  double after_s_;
  LoopLimits limits_;
};

}  // namespace

LoopLimits LoopLimits::from(const Settings& s) { return {s.get(kRate), s.get(kTopShare), s.get(kRepeatShare)}; }

LoopVerdict judge_loop_window(const model::Window& w, const LoopLimits& t) {
  LoopVerdict v;
  double span = secs(w.start_ns, w.end_ns);
  if (span <= 0 || w.total == 0) {
    v.why_not = "no syscalls";
    return v;
  }
  v.rate = w.total / span;
  std::vector<uint32_t> counts;
  for (const auto& m : w.mix) counts.push_back(m.count);
  std::sort(counts.rbegin(), counts.rend());
  uint64_t top = 0;
  for (size_t i = 0; i < counts.size() && i < 3; ++i) top += counts[i];
  v.top_share = static_cast<double>(top) / w.total;
  // Same call, same arguments, same result again; or the same error over and
  // over (EAGAIN/EINTR loops pass different buffers but fail the same way).
  uint64_t same_err = 0;
  for (const auto& m : w.mix)
    if (m.last_ret < 0) same_err += m.same_ret;
  v.repeat_share = static_cast<double>(std::max<uint64_t>(w.repeats, same_err)) / w.total;
  if (v.rate < t.rate)
    v.why_not = fmt::format("rate {:.0f}/s below {:.0f}/s", v.rate, t.rate);
  else if (v.top_share < t.top_share)
    v.why_not = fmt::format("mix spread: top 3 syscalls only {:.0f}%", v.top_share * 100);
  else if (v.repeat_share < t.repeat_share)
    v.why_not = fmt::format("progress: only {:.0f}% repeated calls", v.repeat_share * 100);
  else if (w.client_io > 0)
    v.why_not = fmt::format("progress: {} client socket calls", w.client_io);
  else if (w.block_issued > 0)
    v.why_not = fmt::format("progress: {} block requests issued", w.block_issued);
  else
    v.looping = true;
  return v;
}

std::string describe_mix(const model::Window& w) {
  std::vector<model::MixEntry> mix = w.mix;
  std::sort(mix.begin(), mix.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  std::string out;
  for (const auto& m : mix) {
    if (m.count == 0 || w.total == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.0f}%", model::syscall_name(m.nr), 100.0 * m.count / w.total);
    if (m.count > 1 && m.same_ret * 2 >= m.count) out += fmt::format(" (ret {})", m.last_ret);
  }
  if (w.other) out += fmt::format(", other {:.0f}%", 100.0 * w.other / w.total);
  return out;
}

const KindSpec& hot_loop_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "fast, repeating syscalls with no client or block I/O (syscall tracepoints, attached on demand)",
      .thresholds = {kAfter, kRate, kTopShare, kRepeatShare},
      .make = [](const Settings& s) { return std::make_unique<HotLoop>(s); },
  };
  return k;
}

}  // namespace pgstall::detect
