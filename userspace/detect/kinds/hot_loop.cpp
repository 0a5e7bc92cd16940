// hot-loop: a thread repeating a short cycle of syscalls fast, the same calls
// again and again, with no progress (no client I/O, no block I/O, no file
// read forward), judged on complete windows the kernel aggregated (about 1 s
// each) for as long as it lasts.
#include "detect/kinds/hot_loop.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "hot-loop";
constexpr ThresholdSpec kAfter{"hot-loop", "hot_loop_s", Unit::Seconds, 3.0, "hot-loop: how long the loop must last"};
constexpr ThresholdSpec kRate{"hot-loop-rate", "hot_loop_rate", Unit::PerSecond, 5000.0,
                              "hot-loop: syscalls per second"};
constexpr ThresholdSpec kCycleShare{"hot-loop-cycle-share", "hot_loop_cycle_share", Unit::Share, 0.9,
                                    "hot-loop: share of the calls made by the syscalls of the repeating cycle"};
constexpr ThresholdSpec kRepeatShare{"hot-loop-repeat-share", "hot_loop_repeat_share", Unit::Share, 0.8,
                                     "hot-loop: share of calls repeating a recent call (arguments and result)"};

struct Loop {
  std::optional<uint64_t> since;
  std::optional<model::Window> last;  // the newest looping window
};

double round3(double v) { return std::round(v * 1000) / 1000; }

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
                       {"share", round3(static_cast<double>(m.count) / w.total)},
                       {"last_ret", m.last_ret},
                       {"same_ret", m.same_ret}});
    nlohmann::json cycle = nlohmann::json::array();
    for (const auto& c : v.cycle) cycle.push_back({{"syscall", model::syscall_name(c.nr)}, {"ret", c.ret}});
    st.detail["cycle"] = cycle;
    st.detail["cycle_share"] = round3(v.cycle_share);
    st.detail["mix"] = mix;
    st.detail["rate_per_s"] = std::round(v.rate);
    st.detail["repeat_share"] = round3(v.repeat_share);
    st.detail["client_io"] = w.client_io;
    st.detail["block_issued"] = w.block_issued;
    st.summary = fmt::format(
        "{} syscalls/s: cycle {}, {:.0f}% of calls ({}); {:.0f}% repeated calls, no client I/O, no block I/O",
        thousands(v.rate), describe_cycle(v.cycle), v.cycle_share * 100, describe_mix(w, false),
        v.repeat_share * 100);
    return st;
  }

 private:
  double after_s_;
  LoopLimits limits_;
};

bool is_open(int nr) {
  static const int kOpen[] = {model::syscall_number("open"), model::syscall_number("openat"),
                              model::syscall_number("openat2"), model::syscall_number("creat")};
  return nr >= 0 && std::find(std::begin(kOpen), std::end(kOpen), nr) != std::end(kOpen);
}

// Where a rotation of the cycle should start: an open begins a turn, then an
// lseek (a loop that re-reads a file it keeps open).
int phase_rank(const model::SeqCall& c) {
  if (is_open(c.nr)) return 0;
  return c.nr == model::syscall_number("lseek") ? 1 : 2;
}

bool same_call(const model::SeqCall& a, const model::SeqCall& b) { return a.nr == b.nr && a.ret == b.ret; }

std::vector<model::SeqCall> rotated(const std::vector<model::SeqCall>& c, size_t first) {
  std::vector<model::SeqCall> r(c.begin() + first, c.end());
  r.insert(r.end(), c.begin(), c.begin() + first);
  return r;
}

// The rotation that starts where phase_rank says, ties broken by the
// smallest (syscall, result) sequence.
std::vector<model::SeqCall> canonical(const std::vector<model::SeqCall>& c) {
  auto key = [](const std::vector<model::SeqCall>& r) {
    std::vector<std::pair<int, int32_t>> k{{phase_rank(r[0]), 0}};
    for (const auto& x : r) k.emplace_back(x.nr, x.ret);
    return k;
  };
  std::vector<model::SeqCall> best = c;
  for (size_t i = 1; i < c.size(); ++i) {
    auto r = rotated(c, i);
    if (key(r) < key(best)) best = std::move(r);
  }
  return best;
}

std::string errno_name(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : std::to_string(e);
}

}  // namespace

LoopLimits LoopLimits::from(const Settings& s) { return {s.get(kRate), s.get(kCycleShare), s.get(kRepeatShare)}; }

std::vector<model::SeqCall> find_cycle(const std::vector<model::SeqCall>& seq) {
  for (size_t p = 1; p <= kMaxCycle && 2 * p <= seq.size(); ++p) {
    bool repeats = true;
    for (size_t i = p; i < seq.size() && repeats; ++i) repeats = same_call(seq[i], seq[i - p]);
    if (repeats) return canonical({seq.end() - p, seq.end()});
  }
  return {};
}

std::string reads_forward(const std::vector<model::SeqCall>& cycle) {
  const int read = model::syscall_number("read"), lseek = model::syscall_number("lseek"),
            close = model::syscall_number("close");
  for (const auto& r : cycle) {
    if (r.nr != read || r.ret <= 0 || static_cast<uint32_t>(r.ret) != r.arg2) continue;
    const bool reset = std::any_of(cycle.begin(), cycle.end(), [&](const model::SeqCall& c) {
      return ((c.nr == lseek || c.nr == close) && c.arg0 == r.arg0) || (is_open(c.nr) && c.ret == r.arg0);
    });
    if (!reset)
      return fmt::format("reads forward: read(fd {}) fills its {}-byte buffer every turn, never seeks back or reopens",
                         r.arg0, r.arg2);
  }
  return "";
}

LoopVerdict judge_loop_window(const model::Window& w, const LoopLimits& t) {
  LoopVerdict v;
  double span = secs(w.start_ns, w.end_ns);
  if (span <= 0 || w.total == 0) {
    v.why_not = "no syscalls";
    return v;
  }
  v.rate = w.total / span;
  v.cycle = find_cycle(w.sequence);
  std::set<int> in_cycle;
  for (const auto& c : v.cycle) in_cycle.insert(c.nr);
  uint64_t of_cycle = 0;
  for (const auto& m : w.mix)
    if (in_cycle.count(m.nr)) of_cycle += m.count;
  v.cycle_share = static_cast<double>(of_cycle) / w.total;
  // Same call, same arguments, same result again; or the same error over and
  // over (EAGAIN/EINTR loops pass different buffers but fail the same way).
  uint64_t same_err = 0;
  for (const auto& m : w.mix)
    if (m.last_ret < 0) same_err += m.same_ret;
  v.repeat_share = static_cast<double>(std::max<uint64_t>(w.repeats, same_err)) / w.total;
  std::string forward;
  if (v.rate < t.rate)
    v.why_not = fmt::format("rate {:.0f}/s below {:.0f}/s", v.rate, t.rate);
  else if (v.cycle.empty())
    v.why_not = fmt::format("no cycle of up to {} calls repeats over the last {}", kMaxCycle, w.sequence.size());
  else if (v.cycle_share < t.cycle_share)
    v.why_not = fmt::format("the cycle's syscalls make only {:.0f}% of the calls", v.cycle_share * 100);
  else if (!(forward = reads_forward(v.cycle)).empty())
    v.why_not = "progress: " + forward;
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

std::string describe_cycle(const std::vector<model::SeqCall>& cycle) {
  std::string out;
  for (const auto& c : cycle) {
    if (!out.empty()) out += " → ";
    out += model::syscall_name(c.nr);
    out += c.ret < 0 && c.ret > -4096 ? fmt::format("(-{})", errno_name(-c.ret)) : fmt::format("({})", c.ret);
  }
  return out;
}

std::string describe_mix(const model::Window& w, bool returns) {
  std::vector<model::MixEntry> mix = w.mix;
  std::stable_sort(mix.begin(), mix.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  std::string out;
  for (const auto& m : mix) {
    if (m.count == 0 || w.total == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.0f}%", model::syscall_name(m.nr), 100.0 * m.count / w.total);
    if (returns && m.count > 1 && m.same_ret * 2 >= m.count) out += fmt::format(" (ret {})", m.last_ret);
  }
  if (w.other) out += fmt::format(", other {:.0f}%", 100.0 * w.other / w.total);
  return out;
}

const KindSpec& hot_loop_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "a short cycle of syscalls repeating fast, no client or block I/O (syscall tracepoints, on demand)",
      .thresholds = {kAfter, kRate, kCycleShare, kRepeatShare},
      .make = [](const Settings& s) { return std::make_unique<HotLoop>(s); },
  };
  return k;
}

}  // namespace pgstall::detect
