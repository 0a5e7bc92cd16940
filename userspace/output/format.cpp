#include "output/format.h"

#include <time.h>

#include <cmath>

#include <fmt/format.h>

#include "detect/kind.h"

namespace pgstall::output {
namespace {

int64_t now_of(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double round1(double v) { return std::round(v * 10) / 10; }

// A statement on one line: whitespace runs become one space, cut at max bytes
// (on a UTF-8 boundary) with "…" when cut or when the probe had cut it.
std::string one_line(const std::string& q, size_t max, bool truncated) {
  std::string out;
  bool space = false;
  for (char c : q) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    truncated = true;
  }
  return truncated ? out + "…" : out;
}

}  // namespace

Clock::Clock() : offset_ns_(now_of(CLOCK_REALTIME) - now_of(CLOCK_MONOTONIC)) {}

std::string Clock::rfc3339(uint64_t mono) const {
  int64_t real = static_cast<int64_t>(mono) + offset_ns_;
  time_t sec = static_cast<time_t>(real / 1'000'000'000);
  int ms = static_cast<int>((real % 1'000'000'000) / 1'000'000);
  tm t{};
  gmtime_r(&sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, ms);
}

std::string Clock::hms(uint64_t mono) const {
  int64_t real = static_cast<int64_t>(mono) + offset_ns_;
  time_t sec = static_cast<time_t>(real / 1'000'000'000);
  tm t{};
  localtime_r(&sec, &t);
  return fmt::format("{:02}:{:02}:{:02}", t.tm_hour, t.tm_min, t.tm_sec);
}

std::string describe_process(const model::ProcessTitle& t) {
  std::string out(model::backend_type_name(t.type));
  if (!t.user.empty() || !t.database.empty()) out += fmt::format(" {}@{}", t.user, t.database);
  if (!t.command.empty()) out += " " + t.command;
  if (t.waiting) out += " waiting";
  if (!t.detail.empty() && t.type != model::BackendType::ClientBackend) out += " (" + t.detail + ")";
  return out;
}

std::string event_line(const detect::Event& e, const model::ProcessTitle& t, const Clock& clock) {
  const auto& s = e.stall;
  if (e.type == detect::Event::Type::End) {
    std::string woke = e.woken_by ? fmt::format(" (woken by pid {})", e.woken_by) : "";
    return fmt::format("END   {} pid {} after {}{:.1f}s{}{}{}", s.kind, s.pid, s.lower_bound ? "≥" : "",
                       e.duration_s, woke, e.exited ? ", then exited" : "", input_loss_text(s.input_lost));
  }
  std::string query;
  if (auto q = s.detail.find("query"); q != s.detail.end() && q->is_object())
    query = fmt::format("; query ({:.0f}s): {}", q->value("running_s", 0.0),
                        one_line(q->value("text", std::string()), 80, q->value("truncated", false)));
  return fmt::format("STALL {} {}{:.1f}s pid {} {} — {}; since {}{}{}{}", s.kind,
                     s.lower_bound ? "≥" : "", e.duration_s, s.pid, describe_process(t), s.summary,
                     clock.hms(s.since_ns), s.lower_bound ? " or earlier" : "", query, input_loss_text(s.input_lost));
}

std::string input_loss_text(const std::map<std::string, uint64_t>& lost) {
  if (lost.empty()) return "";
  uint64_t total = 0;
  std::string each;
  for (const auto& [probe, n] : lost) {
    total += n;
    each += fmt::format("{}{} {}", each.empty() ? "" : ", ", probe, detect::thousands(static_cast<double>(n)));
  }
  return fmt::format(" (input incomplete: {} ring record{} lost: {})", detect::thousands(static_cast<double>(total)),
                     total == 1 ? "" : "s", each);
}

namespace {

void add_input_loss(nlohmann::json& j, const std::map<std::string, uint64_t>& lost) {
  if (lost.empty()) return;
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& [probe, n] : lost) probes.push_back(probe);
  j["input_incomplete"] = std::move(probes);
  j["input_lost"] = lost;
}

}  // namespace

nlohmann::json event_json(const detect::Event& e, const model::ProcessTitle& t, const Clock& clock) {
  const auto& s = e.stall;
  nlohmann::json j;
  if (e.type == detect::Event::Type::End) {
    j["type"] = "stall_end";
    j["kind"] = s.kind;
    j["pid"] = s.pid;
    j["duration_s"] = round1(e.duration_s);
    j["woken_by"] = e.woken_by ? nlohmann::json(e.woken_by) : nlohmann::json(nullptr);
    j["exited"] = e.exited;
    add_input_loss(j, s.input_lost);
    return j;
  }
  j["type"] = "stall";
  j["kind"] = s.kind;
  j["pid"] = s.pid;
  j["backend_type"] = model::backend_type_name(t.type);
  j["state"] = std::string(1, s.state);
  j["syscall"] = s.syscall.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.syscall);
  j["since"] = clock.rfc3339(s.since_ns);
  j["duration_s"] = round1(e.duration_s);
  j["lower_bound"] = s.lower_bound;
  j["summary"] = s.summary;
  j["detail"] = s.detail;
  add_input_loss(j, s.input_lost);
  return j;
}

}  // namespace pgstall::output
