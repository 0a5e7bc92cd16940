// pgstall watch: every postgres process, what it does at kernel level, and
// the stalls in flight, live.
#include "cli/commands.h"

#include <signal.h>
#include <sys/utsname.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "capture/session.h"
#include "capture/sqlenrich.h"
#include "capture/tracer.h"
#include "cli/recorder.h"
#include "model/checkpoint.h"
#include "model/duration.h"
#include "model/syscalls.h"
#include "output/format.h"
#include "output/view.h"

namespace pgstall::cli {
namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

using capture::counter_name;
bool is_loss(int c) { return capture::counter_is_loss(c); }

std::pair<int, int> terminal_size() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return {ws.ws_col, ws.ws_row};
  return {120, 40};
}

bool parse_into(const std::string& text, double& out, const char* what, std::string& err) {
  auto v = model::parse_duration_s(text);
  if (!v) {
    err = fmt::format("{}: '{}' is not a duration (try 5s, 500ms, 2m)", what, text);
    return false;
  }
  out = *v;
  return true;
}

}  // namespace

void WatchOptions::add_to(CLI::App& app) {
  app.add_option("-p,--pid", pids, "Watch only the cluster of this postmaster (or of this backend); repeatable");
  app.add_option("-D,--data-dir", data_dirs, "Watch only the cluster running from this data directory; repeatable");
  app.add_option("-d,--duration", duration, "Stop by itself after this long (30s, 5m); default: until Ctrl-C");
  app.add_flag("--json", json, "One JSON object per line: stall, stall_end, process, drops, start, summary");
  app.add_flag("--plain", plain, "One text line per event, even on a terminal");
  app.add_option("--interval", interval, "How often in-flight state is read")->default_val("100ms");
  app.add_option("--lock-sleep", lock_sleep, "lock-sleep threshold")->default_val("5s");
  app.add_option("--lwlock-wait", lwlock_wait, "lwlock-wait threshold")->default_val("1s");
  app.add_option("--io-wait", io_wait, "io-wait threshold")->default_val("1s");
  app.add_option("--hot-loop", hot_loop, "hot-loop: how long the loop must last")->default_val("3s");
  app.add_option("--hot-loop-rate", hot_loop_rate, "hot-loop: syscalls per second")->default_val("5000");
  app.add_option("--cpu-bound", cpu_bound, "cpu-bound threshold")->default_val("10s");
  app.add_option("--delay-loop", delay_loop, "delay-loop threshold (polling in pg_usleep this long)")
      ->default_val("5s");
  app.add_flag("--no-block", no_block, "Do not attach the block-layer tracepoints");
  app.add_option("--syscalls", syscalls,
                 "Syscall tracepoints: auto (attached while a postgres process is busy on CPU: "
                 "hot-loop and cpu-bound need them), always, or never (no hot-loop, no cpu-bound)")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_val("auto");
  app.add_option("--dsn", dsn,
                 "Optional: when the server still answers, ask it (libpq, 1 s caps, one worker thread) who "
                 "blocks each lock waiter: pg_blocking_pids() and the relation. Never required; off by default");
  app.add_flag("--no-wait-events", no_wait_events,
               "Do not read each backend's wait event from its memory (process_vm_readv)");
  app.add_flag("--no-usdt", no_usdt,
               "Do not attach PostgreSQL's USDT probes: lock tags and LWLock tranches then come from the "
               "wait event only, and deadlocks are not reported");
  app.add_option("--lwlock-probes", lwlock_probes,
                 "lwlock__wait__start/done (LWLock mode, and the caller's stack): auto (attached while a backend "
                 "sits in an LWLock wait, 200 ms or more; each probe hit is a trap, costly on a busy writer), "
                 "always, or never (the tranche still comes from the wait event)")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_val("auto");
  app.add_flag("--queries", queries,
               "Also attach query__start/done: each stall shows the statement running (first 255 bytes). "
               "Opt-in: a probe hit per statement (costly on short queries) and the text can hold personal data")
      ->excludes("--no-usdt");
  app.add_option("--folded", folded,
                 "At the end, write the off-CPU stacks seen, folded (one 'frame;frame;... weight' line per "
                 "stack, weight in microseconds, for flamegraph.pl or speedscope); takes a kernel and a user stack at "
                 "every sleep while running. With record, on-CPU samples go to FILE.oncpu");
}

void WatchOptions::add_record_to(CLI::App& app) {
  add_to(app);
  app.add_option("-o,--output", output, "The recording file to write (created or truncated)")->required();
  app.add_flag("--until-stall-ends", until_stall_ends,
               "Stop once a stall has been seen and every stall has ended (or at --duration, or Ctrl-C)");
  app.add_option("--oncpu-hz", oncpu_hz, "On-CPU sampling rate (cpu-clock perf events); 0: no on-CPU stacks")
      ->default_val("49")
      ->check(CLI::Range(0, 999));
  app.add_flag("--no-stacks", no_stacks, "Record stalls and snapshots only: no off-CPU or on-CPU stacks");
}

int run_watch(const WatchOptions& o) {
  const char* const cmd = o.record ? "pgstall record" : "pgstall watch";
  std::string err;
  detect::Thresholds th;
  double interval_s = 0.1, duration_s = 0;
  if (!parse_into(o.interval, interval_s, "--interval", err) ||
      !parse_into(o.lock_sleep, th.lock_sleep_s, "--lock-sleep", err) ||
      !parse_into(o.lwlock_wait, th.lwlock_wait_s, "--lwlock-wait", err) ||
      !parse_into(o.io_wait, th.io_wait_s, "--io-wait", err) ||
      !parse_into(o.hot_loop, th.hot_loop_s, "--hot-loop", err) ||
      !parse_into(o.cpu_bound, th.cpu_bound_s, "--cpu-bound", err) ||
      !parse_into(o.delay_loop, th.delay_loop_s, "--delay-loop", err) ||
      (!o.duration.empty() && !parse_into(o.duration, duration_s, "--duration", err))) {
    std::cerr << cmd << ": " << err << "\n";
    return 2;
  }
  th.hot_loop_rate = o.hot_loop_rate;
  if (interval_s < 0.01) interval_s = 0.01;

  if (geteuid() != 0) {
    std::cerr << cmd << ": needs root (BPF programs, and /proc of other users' processes); "
                 "run it with sudo\n";
    return 1;
  }

  capture::Config cfg;
  cfg.block = !o.no_block;
  cfg.usdt = !o.no_usdt;
  cfg.queries = o.queries;
  cfg.lwlock_probes = o.lwlock_probes == "always"  ? capture::SyscallMode::Always
                      : o.lwlock_probes == "never" ? capture::SyscallMode::Never
                                                   : capture::SyscallMode::Auto;
  const bool stacks = (o.record && !o.no_stacks) || !o.folded.empty();
  cfg.stacks = stacks;
  cfg.syscalls = o.syscalls == "always"  ? capture::SyscallMode::Always
                 : o.syscalls == "never" ? capture::SyscallMode::Never
                                         : capture::SyscallMode::Auto;
  // Off-CPU periods as long as the shortest sleeping stall reach the ring, so
  // the wake-up that ended each stall is known.
  cfg.slow_offcpu_ns = static_cast<uint64_t>(std::min({th.lock_sleep_s, th.lwlock_wait_s, th.io_wait_s}) * 1e9);
  auto opened = capture::Tracer::open(cfg);
  auto tracer = opened ? std::move(*opened) : nullptr;
  if (!tracer) {
    std::cerr << cmd << ": " << opened.error().message << "\n";
    return 1;
  }
  tracer->self_test();
  std::string sampling_error;
  if (o.record && stacks && o.oncpu_hz > 0)
    if (auto sampling = tracer->start_sampling(o.oncpu_hz); !sampling) sampling_error = "no on-CPU stacks: " + sampling.error().message;

  capture::Session session(*tracer, {o.pids, o.data_dirs, !o.no_wait_events});
  if (!session.start(err)) {
    std::cerr << cmd << ": " << err << "\n";
    return 2;
  }

  const bool tty = !o.record && !o.json && !o.plain && isatty(STDOUT_FILENO);
  output::Clock clock;
  detect::Engine engine(th);
  std::vector<std::string> notices;
  if (!sampling_error.empty()) notices.push_back(sampling_error);
  Recorder rec(*tracer, session, clock);
  if (o.record) {
    utsname u{};
    uname(&u);
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    nlohmann::json meta = {{"pgstall", PGSTALL_VERSION},
                           {"host", host},
                           {"kernel", u.release},
                           {"machine", u.machine},
                           {"started", clock.rfc3339(capture::monotonic_ns())},
                           {"realtime_minus_monotonic_ns", clock.offset_ns()},
                           {"oncpu_hz", stacks && sampling_error.empty() ? o.oncpu_hz : 0},
                           {"stacks", stacks},
                           {"usdt", !o.no_usdt},
                           {"thresholds", {{"lock_sleep_s", th.lock_sleep_s}, {"lwlock_wait_s", th.lwlock_wait_s},
                                           {"io_wait_s", th.io_wait_s}, {"hot_loop_s", th.hot_loop_s},
                                           {"cpu_bound_s", th.cpu_bound_s}, {"delay_loop_s", th.delay_loop_s}}}};
    if (!rec.open(o.output, meta, err)) {
      std::cerr << cmd << ": " << err << "\n";
      return 2;
    }
  }
  notices.insert(notices.end(), tracer->degradations().begin(), tracer->degradations().end());
  for (const auto& p : tracer->probes()) {
    if (p.on_demand && p.fired) continue;  // attached when needed
    if (!p.attached && !p.on_demand)
      notices.push_back(fmt::format("probe {} not attached ({}): no {}", p.name, p.error, p.purpose));
    else if (!p.fired && p.name.find("block_") == std::string::npos && p.loaded)
      notices.push_back(fmt::format("probe {} attached but did not fire in the self-test: {} may be missing",
                                    p.name, p.purpose));
  }

  auto emit = [&](const nlohmann::json& j, const std::string& line) {
    rec.event(j);
    if (o.json)
      std::cout << j.dump() << "\n";
    else if (!tty && !line.empty())
      std::cout << line << "\n";
    std::cout.flush();
  };

  {
    nlohmann::json j = {{"type", "start"}, {"processes", session.procs().size()}};
    nlohmann::json probes = nlohmann::json::array();
    for (const auto& p : tracer->probes())
      probes.push_back({{"name", p.name},
                        {"attached", p.attached},
                        {"on_demand", p.on_demand},
                        {"fired", p.fired},
                        {"error", p.error}});
    j["probes"] = probes;
    j["syscalls"] = o.syscalls;
    nlohmann::json usdt = nlohmann::json::array();
    for (const auto& u : tracer->usdt_probes())
      usdt.push_back({{"name", u.name}, {"binary", u.binary}, {"sites", u.sites}, {"attached", u.attached},
                      {"on_demand", u.on_demand}, {"error", u.error}});
    j["usdt"] = usdt;
    j["usdt_enabled"] = !o.no_usdt;
    j["wait_events"] = !o.no_wait_events;
    j["queries"] = tracer->queries_enabled();
    j["lwlock_probes"] = o.lwlock_probes;
    j["thresholds"] = {{"lock_sleep_s", th.lock_sleep_s}, {"lwlock_wait_s", th.lwlock_wait_s},
                       {"io_wait_s", th.io_wait_s},       {"hot_loop_s", th.hot_loop_s},
                       {"hot_loop_rate", th.hot_loop_rate}, {"cpu_bound_s", th.cpu_bound_s},
                       {"delay_loop_s", th.delay_loop_s}};
    for (auto& n : session.take_notices()) notices.push_back(n);
    int usdt_attached = 0;
    for (const auto& u : tracer->usdt_probes()) usdt_attached += u.attached;
    std::string line = fmt::format("pgstall: watching {} postgres processes (syscall tracing: {}; USDT: {})",
                                   session.procs().size(), o.syscalls,
                                   o.no_usdt ? "off"
                                             : fmt::format("{} probes attached{}{}", usdt_attached,
                                                           o.lwlock_probes == "auto" ? ", LWLock probes on demand" : "",
                                                           tracer->queries_enabled() ? ", with query text" : ""));
    for (const auto& n : notices) line += "\npgstall: warning: " + n;
    emit(j, line);
  }
  if (!o.json)
    for (const auto& n : notices) spdlog::debug("{}", n);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const uint64_t start = capture::monotonic_ns();
  const uint64_t tick_ns = static_cast<uint64_t>(interval_s * 1e9);
  uint64_t last_rescan = start, last_render = 0;
  uint64_t stalls_flagged = 0;
  std::unique_ptr<capture::SqlEnricher> sql;
  if (!o.dsn.empty()) sql = std::make_unique<capture::SqlEnricher>(o.dsn);
  std::map<int, std::vector<int>> reported_blockers;  // pid -> blocked_by last shown
  std::string last_sql_error;
  bool warned_usdt_silent = false;
  bool usdt_lock_attached = false;
  for (const auto& u : tracer->usdt_probes()) usdt_lock_attached |= u.attached && u.name == "lock__wait__start";
  std::array<uint64_t, PGSTALL_CNT__MAX> reported_loss{};
  // What enrich() added to each stall's summary (kernel stack, block layer),
  // kept for the live view, which otherwise shows the detector's latest words.
  std::map<std::pair<int, detect::Kind>, std::string> enriched;
  std::map<int, std::pair<uint64_t, uint64_t>> prev_counts;      // pid -> (syscalls, cpu_ns)
  std::map<int, std::pair<double, double>> rates;                // pid -> (syscalls/s, cpu%)
  uint64_t prev_rate_ns = start;

  std::string stop_reason = "interrupted";
  std::vector<detect::Snapshot> last_snaps;
  while (!g_stop) {
    uint64_t now = capture::monotonic_ns();
    if (duration_s > 0 && now - start >= static_cast<uint64_t>(duration_s * 1e9)) {
      stop_reason = "duration";
      break;
    }
    session.poll_ring();
    session.maybe_next_window(now);
    if (now - last_rescan >= 1'000'000'000ull) {
      session.rescan();
      last_rescan = now;
    } else {
      session.refresh_titles();
    }
    for (const auto& pe : session.take_process_events()) {
      if (pe.what == "backend_start") rec.note_process(pe.pid, pe.backend_type);
      if (pe.what == "backend_start" || pe.what == "backend_exit") {
        nlohmann::json j = {{"type", "process"}, {"event", pe.what}, {"pid", pe.pid}, {"backend_type", pe.backend_type}};
        if (o.json) emit(j, "");
        else rec.event(j);
        continue;
      }
      std::string line = fmt::format("pgstall: {} pid {} {}", pe.what, pe.pid, pe.detail);
      emit({{"type", "process"}, {"event", pe.what}, {"pid", pe.pid}, {"detail", pe.detail}}, line);
      if (tty) notices.push_back(line);
    }

    for (auto& n : session.take_notices()) {
      emit({{"type", "notice"}, {"message", n}}, "pgstall: " + n);
      if (tty) notices.push_back(n);
    }
    for (const auto& c : session.take_checkpoints()) {
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
      } else {
        auto secs = [](uint64_t a, uint64_t b) {
          return a && b > a ? std::round(static_cast<double>(b - a) / 1e6) / 1e3 : 0.0;
        };
        if (t.start_ns) {
          j["flags"] = flags;
          j["duration_s"] = secs(t.start_ns, t.done_ns);
          if (t.write_ns) j["start_s"] = secs(t.start_ns, t.write_ns);
          if (t.write_ns && t.sync_ns) j["write_s"] = secs(t.write_ns, t.sync_ns);
          if (t.buffers_done_ns) j["sync_s"] = secs(t.sync_ns, t.buffers_done_ns);
        } else {
          j["flags"] = nullptr;  // began before pgstall
        }
        line = t.start_ns ? fmt::format("CHECKPOINT done  pid {} after {} ({})", c.pid,
                                        model::checkpoint_durations(t), flags)
                          : fmt::format("CHECKPOINT done  pid {} (it began before pgstall started)", c.pid);
      }
      emit(j, line);
      if (tty) notices.push_back(line);
    }
    for (const auto& d : session.take_deadlocks()) {
      detect::Snapshot s;
      s.pg = d.wait;
      s.pg_major = d.pg_major;
      auto lock = model::lock_json(detect::lock_tag_of(s));
      std::string others;
      for (int o : d.others) others += fmt::format("{}{}", others.empty() ? "" : ", ", o);
      std::string line = fmt::format("DEADLOCK pid {} found a deadlock waiting for {}; other lock waiters: {}", d.pid,
                                     lock["text"].get<std::string>(), others.empty() ? "none seen" : others);
      emit({{"type", "deadlock"},
            {"pid", d.pid},
            {"at", clock.rfc3339(d.ts_ns)},
            {"lock", lock},
            {"others", d.others}},
           line);
      if (tty) notices.push_back(line);
    }

    if (sql) {
      for (const auto& r : sql->take()) {
        if (!r.ok) {
          if (r.error != last_sql_error) {
            emit({{"type", "notice"}, {"message", r.error}}, "pgstall: warning: " + r.error);
            if (tty) notices.push_back(r.error);
            last_sql_error = r.error;
          }
          continue;
        }
        last_sql_error.clear();
        for (const auto& b : r.waits) {
          if (!session.procs().count(b.pid)) continue;  // another cluster's backend
          auto& last = reported_blockers[b.pid];
          if (last == b.blocked_by) continue;
          last = b.blocked_by;
          std::string chain;
          for (int p : b.chain) chain += fmt::format("{}{}", chain.empty() ? "" : " → ", p);
          std::string line = fmt::format("BLOCKED pid {} by {}{} — chain {} (from SQL)", b.pid,
                                         fmt::join(b.blocked_by, ", "),
                                         b.relation.empty() ? "" : " on " + b.relation, chain);
          emit({{"type", "blocked_by"},
                {"pid", b.pid},
                {"blocked_by", b.blocked_by},
                {"relation", b.relation.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.relation)},
                {"chain", b.chain},
                {"source", "sql"}},
               line);
          if (tty) notices.push_back(line);
        }
      }
    }

    now = capture::monotonic_ns();
    auto snaps = session.snapshot(now);
    session.steer_syscall_tracing(now, snaps);
    session.steer_lwlock_probes(now, snaps);
    last_snaps = snaps;
    for (auto& e : engine.update(now, snaps)) {
      model::ProcessTitle title;
      if (auto it = session.procs().find(e.stall.pid); it != session.procs().end()) title = it->second.title;
      auto key = std::make_pair(e.stall.pid, e.stall.kind);
      if (e.type == detect::Event::Type::Start) {
        // A probe that should have fired and did not: say so, once.
        if (e.stall.kind == detect::Kind::LockSleep && !e.stall.lower_bound && usdt_lock_attached &&
            !warned_usdt_silent && e.stall.detail.value(nlohmann::json::json_pointer("/lock/source"), std::string()) != "usdt") {
          warned_usdt_silent = true;
          std::string n = fmt::format(
              "USDT lock__wait__start is attached but did not fire for the lock wait of pid {}: lock tags come from "
              "the wait event only",
              e.stall.pid);
          emit({{"type", "notice"}, {"message", n}}, "pgstall: warning: " + n);
          if (tty) notices.push_back(n);
        }
        if (sql && e.stall.kind == detect::Kind::LockSleep) sql->request();
        size_t plain = e.stall.summary.size();
        session.enrich(e.stall);
        enriched[key] = e.stall.summary.substr(plain);
        rec.add_stall_stack(e.stall);
        ++stalls_flagged;
      } else {
        enriched.erase(key);
      }
      emit(output::event_json(e, title, clock), output::event_line(e, title, clock));
    }

    auto counters = tracer->counters();
    for (int c = 0; c < PGSTALL_CNT__MAX; ++c) {
      if (!is_loss(c) || counters[c] == reported_loss[c]) continue;
      std::string line = fmt::format("pgstall: warning: {} {} lost so far ({} new)", counters[c], counter_name(c),
                                     counters[c] - reported_loss[c]);
      emit({{"type", "drops"}, {"counter", counter_name(c)}, {"total", counters[c]}}, line);
      if (tty) notices.push_back(line);
      reported_loss[c] = counters[c];
    }

    if (now - prev_rate_ns >= 1'000'000'000ull) {
      if (o.record || stacks) rec.tick(now, snaps);
      if (rec.write_failed()) {
        std::cerr << cmd << ": writing " << o.output << " failed: " << rec.write_error() << "\n";
        return 1;
      }
      double span = (now - prev_rate_ns) / 1e9;
      std::set<int> live;
      for (const auto& s : snaps) {
        if (s.exited) continue;
        live.insert(s.pid);
        auto& pc = prev_counts[s.pid];
        // Syscalls/s only where the whole second was counted.
        bool counted = s.syscalls_counted_since_ns && s.syscalls_counted_since_ns <= prev_rate_ns;
        if (pc.first || pc.second)
          rates[s.pid] = {counted ? (s.nr_syscalls - pc.first) / span : -1.0, (s.cpu_ns - pc.second) / 1e7 / span};
        pc = {s.nr_syscalls, s.cpu_ns};
      }
      // Forget the exited.
      std::erase_if(prev_counts, [&](const auto& kv) { return !live.count(kv.first); });
      std::erase_if(rates, [&](const auto& kv) { return !live.count(kv.first); });
      prev_rate_ns = now;
    }

    if (tty && now - last_render >= 500'000'000ull) {
      last_render = now;
      std::vector<std::string> lines;
      std::set<int> stalled;
      for (const auto& [key, st] : engine.active()) {
        stalled.insert(key.first);
        model::ProcessTitle title;
        if (auto it = session.procs().find(key.first); it != session.procs().end()) title = it->second.title;
        detect::Event e{detect::Event::Type::Start, st, (now - st.since_ns) / 1e9, 0};
        if (auto it = enriched.find(key); it != enriched.end()) e.stall.summary += it->second;
        lines.push_back(output::event_line(e, title, clock));
      }
      std::vector<output::ViewRow> rows;
      for (const auto& s : snaps) {
        if (s.exited) continue;
        output::ViewRow r;
        r.pid = s.pid;
        auto it = session.procs().find(s.pid);
        if (it != session.procs().end()) {
          r.type = std::string(model::backend_type_name(it->second.title.type));
          r.title = it->second.title.raw;
        }
        r.state = s.on_cpu ? 'R' : s.offcpu_state;
        if (auto we = detect::wait_event_of(s)) r.wait = we->text();
        if (s.in_syscall) {
          r.in = model::syscall_name(s.sc_nr);
          r.for_s = (now - std::min(now, s.sc_start_ns)) / 1e9;
        } else if (s.on_cpu) {
          r.in = "on CPU";
        } else {
          r.in = "off CPU";
          r.for_s = s.offcpu_since_ns ? (now - std::min(now, s.offcpu_since_ns)) / 1e9 : 0;
        }
        if (auto rt = rates.find(s.pid); rt != rates.end()) std::tie(r.sys_rate, r.cpu_pct) = rt->second;
        r.stalled = stalled.count(s.pid) > 0;
        rows.push_back(std::move(r));
      }
      std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.stalled > b.stalled; });
      output::ViewHeader h;
      h.clock = clock.hms(now);
      h.elapsed_s = (now - start) / 1e9;
      h.processes = rows.size();
      h.syscall_tracing = tracer->syscall_tracing();
      h.notices.assign(notices.end() - std::min<size_t>(notices.size(), 5), notices.end());
      auto [w, hgt] = terminal_size();
      std::cout << output::render_view(h, lines, rows, w, hgt) << std::flush;
    }

    if (o.until_stall_ends && stalls_flagged && engine.active().empty()) {
      stop_reason = "every stall ended";
      break;
    }
    uint64_t spent = capture::monotonic_ns() - now;
    if (spent < tick_ns) std::this_thread::sleep_for(std::chrono::nanoseconds(tick_ns - spent));
  }

  if (o.record || stacks) rec.tick(capture::monotonic_ns(), last_snaps, true);
  auto counters = tracer->counters();
  nlohmann::json cj;
  std::string ctext;
  for (int c = 0; c < PGSTALL_CNT__MAX; ++c) {
    cj[counter_name(c)] = counters[c];
    if (is_loss(c) || counters[c]) ctext += fmt::format(" {}={}", counter_name(c), counters[c]);
  }
  cj["bad_records"] = session.bad_records();
  nlohmann::json active = nlohmann::json::array();
  for (const auto& [key, st] : engine.active())
    active.push_back({{"pid", key.first}, {"kind", detect::kind_name(key.second)}});
  const double tracing_s = session.syscall_tracing_s(capture::monotonic_ns());
  std::string line = fmt::format(
      "pgstall: {} stalls flagged, {} still in flight; syscall tracing on for {:.1f}s; counters:{} bad_records={}{}",
      stalls_flagged, active.size(), tracing_s, ctext, session.bad_records(),
      session.lock_graph_errors() ? fmt::format(" lock_graph_errors={}", session.lock_graph_errors()) : "");
  if (tty) std::cout << "\n";
  if (o.json)
    emit({{"type", "summary"},
          {"stalls", stalls_flagged},
          {"in_flight", active},
          {"syscall_tracing_s", std::round(tracing_s * 10) / 10},
          {"lwlock_probes_s", std::round(session.lwlock_probes_s(capture::monotonic_ns()) * 10) / 10},
          {"wait_event_read_errors", session.wait_event_read_errors()},
          {"lock_graph_errors", session.lock_graph_errors()},
          {"pg_wait_records", session.pg_wait_records()},
          {"counters", cj}},
         line);
  else
    std::cout << line << "\n";
  int rc = 0;
  if (!o.folded.empty()) {
    if (!rec.write_folded(o.folded, err)) {
      std::cerr << cmd << ": " << err << "\n";
      rc = 1;
    }
  }
  if (o.record) {
    if (!rec.close(stop_reason, err)) {
      std::cerr << cmd << ": writing " << o.output << " failed: " << err << "\n";
      return 1;
    }
    std::cerr << fmt::format("{}: wrote {} ({}); read it with: pgstall report {}\n", cmd, o.output, rec.summary(),
                             o.output);
  }
  return rc;
}

}  // namespace pgstall::cli
