// io-slow: slow I/O over time. A process that spent most of a sliding
// window waiting on I/O — in file syscalls (D state in one, or in a page
// fault, too), or waiting for another process' I/O (LWLock:WALWrite,
// IPC:BufferIO, IO:* wait events) — each wait short of io-wait's threshold but slow (a median of 100 ms or
// more): a throttled or failing disk where every fdatasync takes 0.5 s and
// the server runs at 1 TPS. A busy server on a fast disk waits on I/O much of
// the time too, in waits of milliseconds: that is progress. One episode, with hysteresis: it starts when the
// share reaches the threshold over several waits and ends only when it has
// fallen to half of it. A single long wait is io-wait's; during an episode
// io-wait and lwlock-wait yield to it (one cause, one stall).
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "detect/kind.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "io-slow";
constexpr ThresholdSpec kWindow{"io-slow", "io_slow_window_s", Unit::Seconds, 5.0,
                                "io-slow: the sliding window over which I/O wait is measured"};
constexpr ThresholdSpec kShare{"io-slow-share", "io_slow_share", Unit::Share, 0.5,
                               "io-slow: share of the window spent waiting on I/O (ends below half of it)"};
constexpr ThresholdSpec kMinWait{"io-slow-wait", "io_slow_wait_s", Unit::Seconds, 0.1,
                                  "io-slow: median wait, at least (a fast disk's many short waits are progress)"};
constexpr size_t kMinDone = 2;            // waits completed in the window: one long wait is io-wait's
constexpr double kMinCoveredShare = 0.4;  // of the window seen before judging

bool is_peer_fd(const std::string& path) {
  return path.rfind("socket:", 0) == 0 || path.rfind("pipe:", 0) == 0 || path.rfind("anon_inode:", 0) == 0;
}

bool exiting(const model::Snapshot& s) {
  static const int kExit = model::syscall_number("exit"), kExitGroup = model::syscall_number("exit_group");
  return s.in_syscall && (s.sc_nr == kExit || s.sc_nr == kExitGroup);
}

// D state is I/O when the thread sleeps in a file syscall or outside any
// syscall (a page fault on a file-backed page). In another syscall it is
// not: the postmaster in fork (clone) waiting for memory or its mmap lock
// in a connection storm, a backend in munmap — those are no disk's fault.
bool d_state_io(const model::Snapshot& s) {
  if (s.on_cpu || s.offcpu_state != 'D') return false;
  return !s.in_syscall || model::syscall_class(s.sc_nr) == model::SyscallClass::FileIo;
}

// Waiting for another process' I/O: the WAL flush of whoever holds WALWrite,
// a buffer another backend is reading or writing.
bool proxy_io(const model::Snapshot& s) {
  const auto we = model::wait_event_of(s);
  if (!we) return false;
  return we->type == "IO" || (we->type == "LWLock" && we->name == "WALWrite") ||
         (we->type == "IPC" && we->name == "BufferIO");
}

struct Sample {
  uint64_t at = 0;
  bool io = false;
  uint64_t wait_start = 0;  // identifies the wait (its start is exact: the kernel's)
  model::FileClass cls = model::FileClass::Unknown;
  std::string what;  // "fdatasync(pg_wal/… (WAL segment))", "LWLock:WALWrite", "D state"
};

struct Episode {
  std::deque<Sample> samples;  // the window
  std::optional<uint64_t> since;
};

// What the window says.
struct Measure {
  double covered_s = 0, share = 0;
  size_t waits = 0;
  std::vector<double> done_s;                        // completed waits' durations
  std::map<model::FileClass, double> by_class;       // sampled seconds
  std::map<std::string, double> by_what;             // sampled seconds
  uint64_t first_io_at = 0;
};

Measure measure(const std::deque<Sample>& w, uint64_t now, uint64_t current_wait) {
  Measure m;
  if (w.empty()) return m;
  m.covered_s = secs(w.front().at, now);
  size_t io = 0;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> waits;  // start -> (first seen, last seen)
  for (size_t i = 0; i < w.size(); ++i) {
    const Sample& s = w[i];
    if (!s.io) continue;
    ++io;
    if (!m.first_io_at) m.first_io_at = s.at;
    const double step = secs(i ? w[i - 1].at : s.at, s.at);
    m.by_class[s.cls] += step;
    m.by_what[s.what] += step;
    auto [it, fresh] = waits.try_emplace(s.wait_start, s.at, s.at);
    it->second.second = s.at;
  }
  m.share = static_cast<double>(io) / static_cast<double>(w.size());
  m.waits = waits.size();
  for (const auto& [start, seen] : waits)
    if (start != current_wait) m.done_s.push_back(secs(start, seen.second));
  return m;
}

class IoSlow final : public PerProcessJudge<Episode> {
 public:
  explicit IoSlow(const Settings& s)
      : window_s_(s.get(kWindow)), share_(s.get(kShare)), min_wait_s_(s.get(kMinWait)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    Episode& e = state(s.pid);
    const Sample now_sample = sample(now, s);
    e.samples.push_back(now_sample);
    const uint64_t window_ns = static_cast<uint64_t>(window_s_ * 1e9);
    while (!e.samples.empty() && now - e.samples.front().at > window_ns) e.samples.pop_front();
    if (!e.since && std::none_of(e.samples.begin(), e.samples.end(), [](const Sample& x) { return x.io; })) {
      e.samples.clear();  // nothing to remember about a process that does no I/O
      e.samples.push_back(now_sample);
      return std::nullopt;
    }
    const Measure m = measure(e.samples, now, now_sample.io ? now_sample.wait_start : 0);
    if (!e.since) {
      if (m.covered_s < window_s_ * kMinCoveredShare || m.share < share_ || m.done_s.size() < kMinDone ||
          median(m.done_s) < min_wait_s_)
        return std::nullopt;
      e.since = m.first_io_at;
    } else if (m.share < share_ / 2) {
      e.since.reset();
      return std::nullopt;
    }
    return verdict(now, s, *e.since, m, now_sample);
  }

 private:
  static Sample sample(uint64_t now, const model::Snapshot& s) {
    Sample x;
    x.at = now;
    if (s.on_cpu || exiting(s)) return x;  // a process being torn down is not waiting on the database's I/O
    const bool file = s.in_syscall && model::syscall_class(s.sc_nr) == model::SyscallClass::FileIo &&
                      !is_peer_fd(s.sc_fd_path);
    if (file) {
      x.io = true;
      x.wait_start = s.sc_start_ns;
      x.cls = s.sc_fd_class;
      x.what = model::syscall_name(s.sc_nr) + (s.sc_fd_path.empty() ? "" : "(" + s.sc_fd_path + ")");
    } else if (d_state_io(s) || proxy_io(s)) {
      x.io = true;
      x.wait_start = s.in_syscall ? s.sc_start_ns : s.offcpu_since_ns;
      const auto we = model::wait_event_of(s);
      x.what = we ? we->text() : s.offcpu_state == 'D' ? "D state" : "I/O";
    }
    return x;
  }

  Stall verdict(uint64_t now, const model::Snapshot& s, uint64_t since, const Measure& m, const Sample& cur) const {
    Stall st = open_stall(kName, now, s, since, false);
    auto& d = st.detail;
    d["io_share"] = std::round(m.share * 100) / 100;
    d["window_s"] = window_s_;
    d["waits"] = m.waits;
    std::vector<double> done = m.done_s;
    std::sort(done.begin(), done.end());
    std::string lat;
    if (!done.empty()) {
      const double p50 = done[done.size() / 2], max = done.back();
      d["wait_s"] = {{"p50", std::round(p50 * 100) / 100}, {"max", std::round(max * 100) / 100},
                     {"completed", done.size()}, {"resolution_s", 0.1}};
      lat = fmt::format(", median {:.1f} s, max {:.1f} s", p50, max);
    }
    nlohmann::json classes = nlohmann::json::object();
    for (const auto& [c, t] : m.by_class) classes[std::string(model::file_class_name(c))] = std::round(t * 10) / 10;
    d["by_file_class_s"] = classes;
    std::vector<std::pair<double, std::string>> top;
    for (const auto& [what, t] : m.by_what) top.emplace_back(t, what);
    std::sort(top.rbegin(), top.rend());
    nlohmann::json busiest = nlohmann::json::array();
    std::string on;
    for (size_t i = 0; i < top.size() && i < 3; ++i) {
      busiest.push_back({{"wait", top[i].second}, {"sampled_s", std::round(top[i].first * 10) / 10}});
      on += (i ? "; " : "") + top[i].second;
    }
    d["busiest"] = busiest;
    st.summary = fmt::format("{:.0f}% of the last {:.0f} s waiting on I/O: {} waits{}; on {}", m.share * 100,
                             window_s_, m.waits, lat, on.empty() ? "?" : on);
    if (cur.io && secs(cur.wait_start, now) >= window_s_)
      st.summary += fmt::format("; its current wait has lasted {:.0f} s", secs(cur.wait_start, now));
    return st;
  }

  static double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }

  double window_s_, share_, min_wait_s_;
};

}  // namespace

const KindSpec& io_slow_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "most of a sliding window spent waiting on I/O, over several waits (a slow, throttled or failing disk)",
      .thresholds = {kWindow, kShare, kMinWait},
      .make = [](const Settings& s) { return std::make_unique<IoSlow>(s); },
      .enrich = kEnrichIo,
  };
  return k;
}

}  // namespace pgstall::detect
