#include "detect/kind.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "detect/registry.h"
#include "model/duration.h"
#include "model/probes.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

const ThresholdSpec* find_threshold(std::string_view key) {
  for (const KindSpec* k : kinds())
    for (const auto& t : k->thresholds)
      if (t.key == key) return &t;
  return nullptr;
}

constexpr double kHighestRate = 1e9;

// What a unit allows: a duration above 0 and at most a week, a share in
// (0, 1], a rate above 0 and at most a billion a second. 0 is refused too:
// no threshold reads 0 as "off", and a 0 would flag everything.
Result<void> check_value(const ThresholdSpec& t, double value) {
  const std::string flag = "--" + std::string(t.flag);
  if (!std::isfinite(value)) return fail(fmt::format("{}: {} is not a number", flag, value));
  if (value <= 0) return fail(fmt::format("{}: {} is not above 0", flag, value));
  switch (t.unit) {
    case Unit::Seconds:
      if (value > model::kLongestDurationS)
        return fail(fmt::format("{}: {}s is longer than a week, the most it takes", flag, value));
      break;
    case Unit::Share:
      if (value > 1) return fail(fmt::format("{}: {} is not a share (above 0, at most 1)", flag, value));
      break;
    case Unit::PerSecond:
      if (value > kHighestRate)
        return fail(fmt::format("{}: {} a second is more than any rate it can see", flag, value));
      break;
  }
  return {};
}

}  // namespace

std::vector<std::string_view> ring_inputs(const KindSpec& k) {
  namespace rp = model::ring_probe;
  std::vector<std::string_view> out = {rp::kFork, rp::kExit, rp::kExec};
  if (k.ended_by_waker) out.push_back(rp::kSchedSwitch);
  for (std::string_view p : k.ring_inputs)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

Settings Settings::defaults() {
  Settings s;
  for (const KindSpec* k : kinds())
    for (const auto& t : k->thresholds) s.values_[std::string(t.key)] = t.default_value;
  return s;
}

double Settings::get(const ThresholdSpec& t) const {
  auto it = values_.find(t.key);
  return it == values_.end() ? t.default_value : it->second;
}

Result<void> Settings::set(std::string_view key, double value) {
  const ThresholdSpec* t = find_threshold(key);
  if (!t) return fail(fmt::format("no threshold named '{}'", key));
  if (auto usable = check_value(*t, value); !usable) return usable;
  values_[std::string(key)] = value;
  return {};
}

Result<void> Settings::set_text(std::string_view key, std::string_view text) {
  const ThresholdSpec* t = find_threshold(key);
  if (!t) return fail(fmt::format("no threshold named '{}'", key));
  const std::string flag = "--" + std::string(t->flag);
  if (t->unit == Unit::Seconds) {
    auto v = model::parse_duration_option(flag, text);
    if (!v) return v.error();
    return set(key, *v);
  }
  double v = 0;
  const std::string s(text);
  size_t used = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;  // not a number, or beyond a double (1e400)
  }
  if (s.empty() || used != s.size() || !std::isfinite(v))
    return fail(fmt::format("{}: '{}' is not a number", flag, text));
  return set(key, v);
}

std::string default_text(const ThresholdSpec& t) {
  if (t.unit != Unit::Seconds) return fmt::format("{}", t.default_value);
  if (t.default_value == std::floor(t.default_value)) return fmt::format("{}s", t.default_value);
  return fmt::format("{}ms", std::round(t.default_value * 1000));
}

nlohmann::json Settings::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const KindSpec* k : kinds())
    for (const auto& t : k->thresholds) j[std::string(t.key)] = get(t);
  return j;
}

double Settings::shortest_sleep_s() const {
  double out = std::numeric_limits<double>::infinity();
  for (const KindSpec* k : kinds())
    for (const auto& t : k->thresholds)
      if (t.key == k->sleep_key) out = std::min(out, get(t));
  return std::isfinite(out) ? out : 1.0;
}

double secs(uint64_t a, uint64_t b) { return b > a ? static_cast<double>(b - a) / 1e9 : 0.0; }

std::string thousands(double v) {
  auto digits = fmt::format("{:.0f}", v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

Stall open_stall(std::string_view kind, uint64_t now, const model::Snapshot& s, uint64_t since_ns, bool lower_bound) {
  Stall st;
  st.kind = std::string(kind);
  st.pid = s.pid;
  st.since_ns = since_ns;
  st.lower_bound = lower_bound;
  st.syscall = s.in_syscall ? model::syscall_name(s.sc_nr) : "";
  st.state = s.task_state();
  auto& d = st.detail;
  d["title"] = s.title.raw;
  if (!s.title.database.empty()) d["database"] = s.title.database;
  if (!s.title.user.empty()) d["user"] = s.title.user;
  if (!s.title.command.empty()) d["command"] = s.title.command;
  if (auto we = model::wait_event_of(s)) d["wait_event"] = we->text();
  if (s.in_syscall) d["syscall_running_s"] = std::round(secs(s.sc_start_ns, now) * 1000) / 1000;
  if (s.pg.query_since_ns && s.pg.query_since_ns <= now)
    d["query"] = {{"text", s.pg.query},
                  {"running_s", std::round(secs(s.pg.query_since_ns, now) * 10) / 10},
                  {"truncated", s.pg.query_truncated}};
  return st;
}

}  // namespace pgstall::detect
