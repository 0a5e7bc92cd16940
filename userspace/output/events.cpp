#include "output/events.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "model/locktag.h"

namespace pgstall::output {

Out start_event(const StartFacts& f) {
  nlohmann::json probes = nlohmann::json::array(), usdt = nlohmann::json::array();
  for (const auto& p : f.probes)
    probes.push_back({{"name", p.name},
                      {"attached", p.attached},
                      {"on_demand", p.on_demand},
                      {"fired", p.fired},
                      {"error", p.error}});
  int usdt_attached = 0;
  for (const auto& u : f.usdt) {
    usdt.push_back({{"name", u.name}, {"binary", u.binary}, {"sites", u.sites}, {"attached", u.attached},
                    {"on_demand", u.on_demand}, {"error", u.error}});
    usdt_attached += u.attached;
  }
  nlohmann::json j = {{"type", "start"},          {"processes", f.processes},     {"probes", probes},
                      {"syscalls", f.syscalls},    {"usdt", usdt},                 {"usdt_enabled", f.usdt_enabled},
                      {"wait_events", f.wait_events}, {"queries", f.queries},      {"lwlock_probes", f.lwlock_probes},
                      {"thresholds", f.thresholds}};
  const std::string usdt_text =
      !f.usdt_enabled  ? "off"
      : f.usdt.empty() ? "attached to each postmaster when found"
                       : fmt::format("{} probes attached{}{}", usdt_attached,
                                     f.lwlock_probes == "auto" ? ", LWLock probes on demand" : "",
                                     f.queries ? ", with query text" : "");
  std::string line = fmt::format("pgstall: watching {} postgres processes (syscall tracing: {}; USDT: {})",
                                 f.processes, f.syscalls, usdt_text);
  for (const auto& w : f.warnings) line += "\npgstall: warning: " + w;
  return {std::move(j), std::move(line), ""};
}

std::vector<std::string> probe_warnings(const std::vector<model::Probe>& probes) {
  std::vector<std::string> out;
  for (const auto& p : probes) {
    if (p.on_demand && p.fired) continue;  // attached when needed
    if (!p.attached && !p.on_demand)
      out.push_back(fmt::format("probe {} not attached ({}): no {}", p.name, p.error, p.purpose));
    else if (!p.fired && p.name.find("block_") == std::string::npos && p.loaded)
      out.push_back(fmt::format("probe {} attached but did not fire in the self-test: {} may be missing", p.name,
                                p.purpose));
  }
  return out;
}

Out process_event(const model::ProcessEvent& e) {
  // Backends come and go all the time: JSON only. Postmasters are news.
  if (e.what == "backend_start" || e.what == "backend_exit")
    return {{{"type", "process"}, {"event", e.what}, {"pid", e.pid}, {"backend_type", e.backend_type}}, "", ""};
  std::string line = fmt::format("pgstall: {} pid {} {}", e.what, e.pid, e.detail);
  return {{{"type", "process"}, {"event", e.what}, {"pid", e.pid}, {"detail", e.detail}}, line, line};
}

Out notice_event(const std::string& message, bool warning) {
  return {{{"type", "notice"}, {"message", message}}, (warning ? "pgstall: warning: " : "pgstall: ") + message,
          message};
}

Out waiting_event(const model::WaitingEvent& w) {
  const std::string message = w.data_dir.empty()
                                  ? "waiting for a PostgreSQL server to start on this machine…"
                                  : fmt::format("waiting for PostgreSQL at {}…", w.data_dir);
  const std::string note = fmt::format("{} ({})", message, w.reason);
  nlohmann::json j = {{"type", "waiting"},
                      {"data_dir", w.data_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.data_dir)},
                      {"reason", w.reason},
                      {"message", message}};
  return {std::move(j), "pgstall: " + note, note};
}

Out checkpoint_event(const model::CheckpointEvent& c, const Clock& clock) {
  const auto& t = c.times;
  const std::string flags = model::checkpoint_flags_text(c.flags);
  nlohmann::json j = {{"type", "checkpoint"},
                      {"event", c.started ? "start" : "done"},
                      {"pid", c.pid},
                      {"at", clock.rfc3339(c.started ? t.start_ns : t.done_ns)}};
  std::string line;
  if (c.started) {
    j["flags"] = flags;
    line = fmt::format("CHECKPOINT start pid {} ({})", c.pid, flags);
    return {std::move(j), line, line};
  }
  auto secs = [](uint64_t a, uint64_t b) {
    return a && b > a ? std::round(static_cast<double>(b - a) / 1e6) / 1e3 : 0.0;
  };
  if (t.start_ns) {
    j["flags"] = flags;
    j["duration_s"] = secs(t.start_ns, t.done_ns);
    if (t.write_ns) j["start_s"] = secs(t.start_ns, t.write_ns);
    if (t.write_ns && t.sync_ns) j["write_s"] = secs(t.write_ns, t.sync_ns);
    if (t.buffers_done_ns) j["sync_s"] = secs(t.sync_ns, t.buffers_done_ns);
    line = fmt::format("CHECKPOINT done  pid {} after {} ({})", c.pid, model::checkpoint_durations(t), flags);
  } else {
    j["flags"] = nullptr;  // began before pgstall
    line = fmt::format("CHECKPOINT done  pid {} (it began before pgstall started)", c.pid);
  }
  return {std::move(j), line, line};
}

Out deadlock_event(const model::DeadlockEvent& d, const Clock& clock) {
  auto lock = model::lock_json(model::lock_tag_of(d.wait, d.pg_major));
  std::string others;
  for (int o : d.others) others += fmt::format("{}{}", others.empty() ? "" : ", ", o);
  std::string line = fmt::format("DEADLOCK pid {} found a deadlock waiting for {}; other lock waiters: {}", d.pid,
                                 lock["text"].get<std::string>(), others.empty() ? "none seen" : others);
  nlohmann::json j = {
      {"type", "deadlock"}, {"pid", d.pid}, {"at", clock.rfc3339(d.ts_ns)}, {"lock", lock}, {"others", d.others}};
  return {std::move(j), line, line};
}

Out blocked_by_event(const model::BlockedBy& b) {
  std::string chain;
  for (int p : b.chain) chain += fmt::format("{}{}", chain.empty() ? "" : " → ", p);
  std::string line = fmt::format("BLOCKED pid {} by {}{} — chain {} (from SQL)", b.pid, fmt::join(b.blocked_by, ", "),
                                 b.relation.empty() ? "" : " on " + b.relation, chain);
  nlohmann::json j = {{"type", "blocked_by"},
                      {"pid", b.pid},
                      {"blocked_by", b.blocked_by},
                      {"relation", b.relation.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.relation)},
                      {"chain", b.chain},
                      {"source", "sql"}};
  return {std::move(j), line, line};
}

Out stall_event(const detect::Event& e, const model::ProcessTitle& title, const Clock& clock) {
  return {event_json(e, title, clock), event_line(e, title, clock), ""};
}

Out drops_event(const model::Counter& c, uint64_t new_since_last) {
  std::string line =
      fmt::format("pgstall: warning: {} {} lost so far ({} new)", c.value, c.name, new_since_last);
  return {{{"type", "drops"}, {"counter", c.name}, {"total", c.value}}, line, line};
}

Out summary_event(const SummaryFacts& f) {
  nlohmann::json counters;
  std::string ctext;
  for (const auto& c : f.counters) {
    counters[c.name] = c.value;
    if (c.loss || c.value) ctext += fmt::format(" {}={}", c.name, c.value);
  }
  counters["bad_records"] = f.bad_records;
  nlohmann::json active = nlohmann::json::array();
  for (const auto& [pid, kind] : f.in_flight) active.push_back({{"pid", pid}, {"kind", kind}});
  std::string line = fmt::format(
      "pgstall: {} stalls flagged, {} still in flight; syscall tracing on for {:.1f}s; counters:{} bad_records={}{}",
      f.stalls, f.in_flight.size(), f.syscall_tracing_s, ctext, f.bad_records,
      f.lock_graph_errors ? fmt::format(" lock_graph_errors={}", f.lock_graph_errors) : "");
  nlohmann::json j = {{"type", "summary"},
                      {"stalls", f.stalls},
                      {"in_flight", active},
                      {"syscall_tracing_s", std::round(f.syscall_tracing_s * 10) / 10},
                      {"lwlock_probes_s", std::round(f.lwlock_probes_s * 10) / 10},
                      {"wait_event_read_errors", f.wait_event_read_errors},
                      {"lock_graph_errors", f.lock_graph_errors},
                      {"pg_wait_records", f.pg_wait_records},
                      {"counters", counters}};
  return {std::move(j), std::move(line), ""};
}

}  // namespace pgstall::output
