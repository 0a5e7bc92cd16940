// pgstall watch: every postgres process, what it does at kernel level, and
// the stalls in flight, live.
#include "cli/commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "capture/session.h"
#include "capture/tracer.h"
#include "cli/options.h"
#include "cli/recorder.h"
#include "cli/watch_loop.h"
#include "detect/registry.h"
#include "enrich/sql.h"
#include "model/bytesize.h"
#include "model/duration.h"
#include "output/events.h"
#include "output/recording.h"
#include "output/sink.h"
#include "output/terminal.h"
#include "util/outfile.h"
#include "util/result.h"

namespace pgstall::cli {
namespace {

// What is wrong with the values given, for the operator ("" when nothing).
std::string value_error(const WatchOptions& o);

}  // namespace

void WatchOptions::add_to(CLI::App& app) {
  app.add_option("-p,--pid", pids,
                 "Watch only the cluster of this running postmaster (or of this backend); when it exits, wait for "
                 "the next postmaster on its data directory; repeatable")
      ->transform(decimal("a process id"))
      ->check([](const std::string& pid) {
        const bool digits = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
        return digits && pid.find_first_not_of('0') != std::string::npos ? "" : "'" + pid + "' is not a process id";
      });
  app.add_option("-D,--data-dir", data_dirs,
                 "Watch only the cluster of this data directory; if no postmaster runs from it yet (or any more), "
                 "wait for one; repeatable");
  app.add_option("-d,--duration", duration,
                 "Stop by itself after this long (30s, 5m; above 0, at most a week); default: until Ctrl-C");
  app.add_flag("--json", json, "One JSON object per line: stall, stall_end, process, drops, start, summary");
  app.add_flag("--plain", plain, "One text line per event, even on a terminal");
  app.add_option("--interval", interval, "How often in-flight state is read (10ms to 10s)")->default_val("100ms");
  app.add_option("--ring-size", ring_size,
                 "For testing and overload studies: the BPF ring buffer that carries forks, exits, long sleeps' "
                 "ends and Postgres' wait and checkpoint events to pgstall, drained every --interval (a power of "
                 "two, 4KiB to 256MiB; at least the page size). Records a full ring cannot take are lost, counted "
                 "per probe and shown (docs/RUNBOOK.md)")
      ->default_val("4MiB")
      ->group("Testing");
  for (const detect::KindSpec* k : detect::kinds())
    for (const auto& t : k->thresholds)
      app.add_option("--" + std::string(t.flag), thresholds[std::string(t.key)], std::string(t.help))
          ->default_str(detect::default_text(t))
          ->group("Detector thresholds");
  app.add_flag("--no-block", no_block, "Do not attach the block-layer tracepoints");
  app.add_option("--syscalls", syscalls,
                 "Syscall tracepoints: auto (attached while a postgres process is busy on CPU: "
                 "hot-loop and cpu-bound need them), always, or never (no hot-loop, no cpu-bound)")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_val("auto");
  app.add_option("--dsn", dsn,
                 "Optional: when the server still answers, ask it (libpq, 1 s caps, one worker thread) who "
                 "blocks each lock waiter: pg_blocking_pids() and the relation. Never required; off by default")
      ->check([](const std::string& dsn) {
        auto readable = enrich::check_dsn(dsn);  // a typo said now, not at the first lock wait
        return readable ? std::string() : readable.error().message;
      });
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
                 "every sleep while running. With record, on-CPU samples go to FILE.oncpu. Created new (0600, "
                 "checked before tracing starts) and put in place at the end; an existing FILE is not overwritten");
  // Durations and thresholds are checked once the line is read: a bad value
  // is a usage error like an unknown option (main.cpp says it, exit 2).
  app.callback([this] {
    if (auto why = value_error(*this); !why.empty()) throw CLI::ValidationError(why);
  });
  refuse_empty_values(app);
}

void WatchOptions::add_record_to(CLI::App& app) {
  add_to(app);
  app.add_option("-o,--output", output,
                 "The recording file to write: created new (0600) before tracing starts, written as it goes; an "
                 "existing file, a symbolic link or a non-regular file is refused, never overwritten")
      ->required()
      ->check(not_empty_required);
  app.add_flag("--until-stall-ends", until_stall_ends,
               "Stop once a stall has been seen and every stall has ended (or at --duration, or Ctrl-C)");
  app.add_option("--oncpu-hz", oncpu_hz, "On-CPU sampling rate (cpu-clock perf events); 0: no on-CPU stacks")
      ->default_val("49")
      ->transform(decimal("a whole number"))
      ->check(CLI::Range(0, 999));
  app.add_flag("--no-stacks", no_stacks, "Record stalls and snapshots only: no off-CPU or on-CPU stacks");
}

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_signal = 0;  // the one that stopped it
void on_signal(int sig) {
  g_stop = 1;
  g_signal = sig;
}

struct Timing {
  double interval_s = 0.1;
  double duration_s = 0;  // 0: until stopped
};

Result<detect::Settings> settings_from(const WatchOptions& o) {
  auto settings = detect::Settings::defaults();
  for (const auto& [key, text] : o.thresholds) {
    if (text.empty()) continue;  // not given
    if (auto r = settings.set_text(key, text); !r) return r.error();
  }
  return settings;
}

Result<Timing> timing_from(const WatchOptions& o) {
  Timing t;
  // Below 10 ms the reads cost more than they tell; above 10 s stalls are
  // seen late.
  const auto interval = model::parse_duration_option("--interval", o.interval, 0.01, 10);
  if (!interval) return interval.error();
  t.interval_s = *interval;
  if (!o.duration.empty()) {
    const auto duration = model::parse_duration_option("--duration", o.duration);
    if (!duration) return duration.error();
    t.duration_s = *duration;
  }
  return t;
}

Result<uint64_t> ring_bytes_from(const WatchOptions& o) {
  return model::parse_ring_size("--ring-size", o.ring_size, static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
}

std::string value_error(const WatchOptions& o) {
  auto settings = settings_from(o);
  auto timing = timing_from(o);
  auto ring = ring_bytes_from(o);
  return !settings ? settings.error().message
         : !timing ? timing.error().message
         : !ring   ? ring.error().message
                   : "";
}

capture::SyscallMode mode_of(const std::string& text) {
  return text == "always" ? capture::SyscallMode::Always
         : text == "never" ? capture::SyscallMode::Never
                           : capture::SyscallMode::Auto;
}

bool wants_stacks(const WatchOptions& o) { return (o.record && !o.no_stacks) || !o.folded.empty(); }

capture::Config config_from(const WatchOptions& o, const detect::Settings& settings) {
  capture::Config cfg;
  cfg.block = !o.no_block;
  cfg.usdt = !o.no_usdt;
  cfg.queries = o.queries;
  cfg.lwlock_probes = mode_of(o.lwlock_probes);
  cfg.stacks = wants_stacks(o);
  cfg.syscalls = mode_of(o.syscalls);
  if (auto ring = ring_bytes_from(o)) cfg.ring_bytes = static_cast<uint32_t>(*ring);  // checked at parse time
  // Off-CPU periods as long as the shortest sleeping stall reach the ring, so
  // the wake-up that ended each stall is known.
  cfg.slow_offcpu_ns = static_cast<uint64_t>(settings.shortest_sleep_s() * 1e9);
  return cfg;
}

output::StartFacts start_facts(const WatchOptions& o, const capture::Tracer& tracer, const capture::Session& session,
                               const detect::Settings& settings, std::vector<std::string> warnings) {
  output::StartFacts f;
  f.processes = session.procs().size();
  f.probes = tracer.probes();
  f.usdt = tracer.usdt_probes();
  f.syscalls = o.syscalls;
  f.usdt_enabled = !o.no_usdt;
  f.wait_events = !o.no_wait_events;
  f.queries = tracer.queries_enabled();
  f.lwlock_probes = o.lwlock_probes;
  f.thresholds = settings.to_json();
  f.warnings = std::move(warnings);
  return f;
}

output::Mode mode_for(const WatchOptions& o) {
  if (o.json) return output::Mode::Json;
  if (!o.record && !o.plain && isatty(STDOUT_FILENO)) return output::Mode::Live;
  return output::Mode::Plain;
}

void on_signals(bool recording) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // An SSH session that drops mid-incident: stop and finish the files too.
  sigaction(SIGHUP, &sa, nullptr);
  // The recording is the output that matters: a reader of standard output
  // that went away (`record | tee log`, the tee gone) must not kill it.
  if (recording) signal(SIGPIPE, SIG_IGN);
}

// Every file the run writes, created before tracing starts: a bad path, a
// symbolic link or an existing file then costs nothing and loses nothing.
struct Outputs {
  OutFile recording;  // in place: a killed recorder leaves it readable under its name
  std::optional<output::FoldedFiles> folded;
};

Result<Outputs> create_outputs(const WatchOptions& o) {
  Outputs out;
  if (o.record) {
    auto f = OutFile::create(o.output, OutFile::Where::InPlace);
    if (!f) return fail("--output: " + f.error().message);
    out.recording = std::move(*f);
  }
  if (!o.folded.empty()) {
    auto f = output::FoldedFiles::create(o.folded, o.record && wants_stacks(o) && o.oncpu_hz > 0);
    if (!f) return fail("--folded: " + f.error().message);
    out.folded = std::move(*f);
  }
  return out;
}

}  // namespace

int run_watch(const WatchOptions& o) {
  const std::string cmd = o.record ? "pgstall record" : "pgstall watch";
  auto settings = settings_from(o);
  auto timing = timing_from(o);
  if (!settings || !timing) {
    std::cerr << cmd << ": " << (settings ? timing.error() : settings.error()).message << "\n";
    return 2;
  }
  if (geteuid() != 0) {
    std::cerr << cmd << ": needs root (BPF programs, and /proc of other users' processes); run it with sudo\n";
    return 1;
  }
  // From here on a signal (SIGHUP included) stops the run cleanly: the files
  // created next are finished and closed, never left empty by a kill mid-load.
  on_signals(o.record);
  auto outputs = create_outputs(o);
  if (!outputs) {
    std::cerr << cmd << ": " << outputs.error().message << "\n";
    return 2;
  }
  auto opened = capture::Tracer::open(config_from(o, *settings));
  if (!opened) {
    std::cerr << cmd << ": " << opened.error().message << "\n";
    return 1;
  }
  std::unique_ptr<capture::Tracer> tracer = std::move(*opened);
  tracer->self_test();
  std::vector<std::string> warnings;
  if (o.record && wants_stacks(o) && o.oncpu_hz > 0)
    if (auto sampling = tracer->start_sampling(o.oncpu_hz); !sampling)
      warnings.push_back("no on-CPU stacks: " + sampling.error().message);
  capture::Session session(*tracer, {o.pids, o.data_dirs, !o.no_wait_events});
  if (auto started = session.start(); !started) {
    std::cerr << cmd << ": " << started.error().message << "\n";
    return 2;
  }

  output::Clock clock;
  output::Sink sink(mode_for(o), std::cout);
  Recorder rec(*tracer, session, clock);
  if (o.record) {
    const bool sampling = wants_stacks(o) && warnings.empty();
    const output::RecordingFacts meta{PGSTALL_VERSION, settings->to_json(), wants_stacks(o),
                                      sampling ? o.oncpu_hz : 0, !o.no_usdt};
    if (auto opened_file = rec.open(std::move(outputs->recording), output::recording_meta(meta, clock));
        !opened_file) {
      std::cerr << cmd << ": " << opened_file.error().message << "\n";
      return 2;
    }
    sink.record_to([&rec](const nlohmann::json& j) { rec.event(j); });
  }
  if (outputs->folded) rec.fold_to(std::move(*outputs->folded));
  for (const auto& d : tracer->degradations()) warnings.push_back(d);
  for (auto& w : output::probe_warnings(tracer->probes())) warnings.push_back(std::move(w));
  for (auto& n : session.take_notices()) warnings.push_back(std::move(n));
  sink.emit(output::start_event(start_facts(o, *tracer, session, *settings, warnings)));
  for (const auto& w : warnings) {
    sink.add_note(w);
    if (!o.json) spdlog::debug("{}", w);
  }

  WatchLoop loop(o, {*tracer, session, rec, sink, clock}, *settings);
  std::string stop_reason;
  {
    // The live view's screen, for the loop only: the summary and any error
    // after it go to the shell's screen, where they stay.
    std::optional<output::Terminal> screen;
    if (sink.mode() == output::Mode::Live) screen.emplace();
    stop_reason = loop.run(timing->interval_s, timing->duration_s, g_stop);
  }
  if (g_signal == SIGHUP) stop_reason = "hangup (SIGHUP: the session that ran it went away)";
  if (loop.write_failed()) {
    std::cerr << cmd << ": writing " << o.output << " failed: " << rec.write_error() << "\n";
    return 1;
  }
  int rc = loop.finish(cmd);
  if (!o.record) return rc;
  if (auto closed = rec.close(stop_reason); !closed) {
    std::cerr << cmd << ": writing " << o.output << " failed: " << closed.error().message << "\n";
    return 1;
  }
  std::cerr << fmt::format("{}: wrote {} ({}); read it with: pgstall report {}\n", cmd, o.output, rec.summary(),
                           o.output);
  return rc;
}

}  // namespace pgstall::cli
