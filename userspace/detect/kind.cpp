#include "detect/kind.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "detect/registry.h"
#include "model/duration.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

const ThresholdSpec* find_threshold(std::string_view key) {
  for (const KindSpec* k : kinds())
    for (const auto& t : k->thresholds)
      if (t.key == key) return &t;
  return nullptr;
}

}  // namespace

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
  if (!std::isfinite(value) || value < 0) return fail(fmt::format("--{}: {} is not a usable value", t->flag, value));
  if (t->unit == Unit::Share && value > 1)
    return fail(fmt::format("--{}: {} is not a share (between 0 and 1)", t->flag, value));
  values_[std::string(key)] = value;
  return {};
}

Result<void> Settings::set_text(std::string_view key, std::string_view text) {
  const ThresholdSpec* t = find_threshold(key);
  if (!t) return fail(fmt::format("no threshold named '{}'", key));
  if (t->unit == Unit::Seconds) {
    auto v = model::parse_duration_s(std::string(text));
    if (!v) return fail(fmt::format("--{}: '{}' is not a duration (try 5s, 500ms, 2m)", t->flag, text));
    return set(key, *v);
  }
  double v = 0;
  const std::string s(text);
  size_t used = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size()) return fail(fmt::format("--{}: '{}' is not a number", t->flag, text));
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
