#include "output/events.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "detect/kind.h"
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
  if (e.what == "backend_start" || e.what == "backend_exit") {
    nlohmann::json j = {{"type", "process"}, {"event", e.what}, {"pid", e.pid}, {"backend_type", e.backend_type}};
    if (e.unread) j["unread"] = true;
    return {std::move(j), "", ""};
  }
  nlohmann::json j = {{"type", "process"}, {"event", e.what}, {"pid", e.pid}, {"detail", e.detail}};
  // A postmaster that ran before pgstall started did not start now: no
  // notice, and the JSON says so.
  if (e.what == "postmaster_start") j["already_running"] = e.already_running;
  if (e.already_running) return {std::move(j), "", ""};
  std::string line = fmt::format("pgstall: {} pid {} {}", e.what, e.pid, e.detail);
  return {std::move(j), line, line};
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

std::string counter_phrase(const std::string& name, uint64_t n) {
  struct Words {
    const char *name, *one, *many;
  };
  static constexpr Words kWords[] = {
      {"syscalls", "syscall", "syscalls"},
      {"switches", "context switch", "context switches"},
      {"wakeups", "wakeup", "wakeups"},
      {"forks", "fork", "forks"},
      {"exits", "exit", "exits"},
      {"execs", "exec", "execs"},
      {"block_issued", "block request issued", "block requests issued"},
      {"block_completed", "block request completed", "block requests completed"},
      {"ring_records", "ring record", "ring records"},
      {"ring_drops", "ring record dropped", "ring records dropped"},
      {"untracked_children", "forked process not tracked", "forked processes not tracked"},
      {"block_requests_unrecorded", "block request unrecorded", "block requests unrecorded"},
      {"lock_waits", "lock wait", "lock waits"},
      {"lwlock_waits", "LWLock wait", "LWLock waits"},
      {"deadlocks", "deadlock", "deadlocks"},
      {"user_stacks_lost", "user stack lost", "user stacks lost"},
      {"stacks_lost", "stack lost", "stacks lost"},
      {"stack_weights_lost", "stack weight lost", "stack weights lost"},
      {"oncpu_samples", "on-CPU sample", "on-CPU samples"},
      {"bad_records", "malformed ring record skipped", "malformed ring records skipped"},
      {"lock_graph_errors", "lock table read failed", "lock table reads failed"},
      {"processes_untracked", "postgres process not tracked", "postgres processes not tracked"},
      {"processes_gone_unread", "postgres process gone before it could be read",
       "postgres processes gone before they could be read"},
  };
  for (const auto& w : kWords)
    if (name == w.name) return fmt::format("{} {}", n, n == 1 ? w.one : w.many);
  return fmt::format("{}={}", name, n);
}

std::vector<std::string> loss_phrases(const std::vector<model::Counter>& counters, uint64_t bad_records,
                                      uint64_t lock_graph_errors) {
  std::vector<std::string> out;
  for (const auto& c : counters)
    if (c.loss && c.value) out.push_back(counter_phrase(c.name, c.value));
  if (bad_records) out.push_back(counter_phrase("bad_records", bad_records));
  if (lock_graph_errors) out.push_back(counter_phrase("lock_graph_errors", lock_graph_errors));
  return out;
}

namespace {

// {"sched_process_fork": 1000, ...}: the probes that lost records.
nlohmann::json lost_by_probe(const model::RingDrops& ring) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [probe, n] : ring.by_probe)
    if (n) j[probe] = n;
  return j;
}

// "sched_process_fork 1,000, sched_process_exit 234", most first.
std::string probes_text(const model::RingDrops& ring) {
  auto v = ring.by_probe;
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [probe, n] : v)
    if (n) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", probe, detect::thousands(static_cast<double>(n)));
  return out;
}

// What losing a probe's records costs, in the operator's words.
std::string_view consequence(std::string_view probe) {
  namespace rp = model::ring_probe;
  if (probe == rp::kFork || probe == rp::kExit || probe == rp::kExec)
    return "processes seen late (at the next /proc scan), their stalls flagged late";
  if (probe == rp::kSchedSwitch) return "stall ends without the pid that woke them";
  if (probe == rp::kSysExit) return "slow syscalls not recorded";
  if (probe == rp::kLockWaitDone || probe == rp::kLwlockWaitDone) return "lock waits missing from the history";
  if (probe == rp::kDeadlock) return "deadlocks not reported";
  if (probe == rp::kCheckpoint) return "checkpoint phases unknown";
  return "records lost";
}

}  // namespace

Out drops_event(const model::Counter& c, uint64_t new_since_last, const model::RingDrops* ring) {
  std::string line = fmt::format("pgstall: warning: {} so far ({} new)", counter_phrase(c.name, c.value),
                                 new_since_last);
  nlohmann::json j = {{"type", "drops"}, {"counter", c.name}, {"total", c.value}, {"new", new_since_last}};
  if (!ring) return {std::move(j), line, line};
  j["by_probe"] = lost_by_probe(*ring);
  line += ": " + probes_text(*ring);
  return {std::move(j), std::move(line), ""};
}

std::string ring_drops_notice(const model::RingDrops& ring) {
  const uint64_t total = ring.total();
  if (!total) return "";
  std::vector<std::string_view> what;
  for (const auto& [probe, n] : ring.by_probe)
    if (n && std::find(what.begin(), what.end(), consequence(probe)) == what.end())
      what.push_back(consequence(probe));
  return fmt::format("ring full: {} record{} lost ({}) — {}; a larger --ring-size or a shorter --interval keeps them",
                     detect::thousands(static_cast<double>(total)), total == 1 ? "" : "s", probes_text(ring),
                     fmt::join(what, "; "));
}

Out summary_event(const SummaryFacts& f) {
  nlohmann::json counters;
  std::string seen;
  for (const auto& c : f.counters) {
    counters[c.name] = c.value;
    if (!c.loss && c.value) seen += (seen.empty() ? "; seen: " : ", ") + counter_phrase(c.name, c.value);
  }
  counters["bad_records"] = f.bad_records;
  nlohmann::json active = nlohmann::json::array();
  for (const auto& [pid, kind] : f.in_flight) active.push_back({{"pid", pid}, {"kind", kind}});
  std::string lost;
  for (const auto& l : loss_phrases(f.counters, f.bad_records, f.lock_graph_errors))
    lost += (lost.empty() ? "" : ", ") + l;
  // Sentences: "1 stall flagged, none still in flight; …; no events lost".
  std::string line = fmt::format(
      "pgstall: {} flagged, {} still in flight; syscall tracing on for {:.1f}s; {}{}",
      f.stalls ? fmt::format("{} stall{}", f.stalls, f.stalls == 1 ? "" : "s") : "no stalls",
      f.in_flight.empty() ? "none" : std::to_string(f.in_flight.size()), f.syscall_tracing_s,
      lost.empty() ? "no events lost" : lost, seen);
  nlohmann::json j = {{"type", "summary"},
                      {"stalls", f.stalls},
                      {"in_flight", active},
                      {"syscall_tracing_s", std::round(f.syscall_tracing_s * 10) / 10},
                      {"lwlock_probes_s", std::round(f.lwlock_probes_s * 10) / 10},
                      {"wait_event_read_errors", f.wait_event_read_errors},
                      {"lock_graph_errors", f.lock_graph_errors},
                      {"pg_wait_records", f.pg_wait_records},
                      {"inspections_skipped", f.inspections_skipped},
                      {"counters", counters},
                      {"ring_drops_by_probe", lost_by_probe(f.ring_drops)}};
  if (f.ring_drops.total()) line += "; ring records lost by probe: " + probes_text(f.ring_drops);
  if (f.inspections_skipped)
    line += fmt::format("; {} stall{} flagged without {} stack (too many began at once)", f.inspections_skipped,
                        f.inspections_skipped == 1 ? "" : "s", f.inspections_skipped == 1 ? "its" : "their");
  return {std::move(j), std::move(line), ""};
}

}  // namespace pgstall::output
