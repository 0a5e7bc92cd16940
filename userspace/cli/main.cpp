// pgstall: a kernel-level stall tracer for PostgreSQL.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "detect/registry.h"

namespace {

// Usage errors exit 2 with one line, whatever CLI11's own code for the
// mistake (unknown option, missing value, bad number, no subcommand...).
// --help and --version print and exit 0.
int parse_failed(const CLI::App& app, const CLI::ParseError& e, const std::vector<std::string>& args) {
  if (e.get_exit_code() == 0) return app.exit(e);
  std::string cmd = "pgstall";
  for (const CLI::App* sub : app.get_subcommands()) cmd += " " + sub->get_name();
  std::string what = e.what();
  if (app.get_subcommands().empty() && e.get_name() == "RequiredError") {
    // CLI11 says "A subcommand is required" even for a mistyped one.
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) names += (names.empty() ? "" : ", ") + sub->get_name();
    auto word = std::find_if(args.begin(), args.end(), [](const std::string& a) { return !a.starts_with("-"); });
    what = (word != args.end() ? "'" + *word + "' is not a command" : "a command is needed") + " (" + names + ")";
  }
  std::replace(what.begin(), what.end(), '\n', ' ');
  std::cerr << cmd << ": " << what << " (see '" << cmd << " --help')\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "pgstall — see why PostgreSQL is stuck, from the kernel's side.\n"
      "No SQL connection, no extension, no Postgres logging needed; nothing is written into the server.\n\n"
      "Examples:\n"
      "  sudo pgstall watch                      # every cluster on this machine, live view\n"
      "  sudo pgstall watch -D /var/lib/postgresql/15/main --plain\n"
      "  sudo pgstall watch --json --duration 30s > stalls.jsonl\n"
      "  sudo pgstall record -d 60s -o stall.pgstall && pgstall report stall.pgstall\n"
      "  pgstall flamegraph stall.pgstall --kind offcpu -o offcpu.svg\n"
      "  sudo pgstall doctor                     # what works here, the mode, the fix for what does not"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("pgstall ") + PGSTALL_VERSION);
  // -v and --version are taken after the subcommand too (pgstall watch -v).
  app.fallthrough();
  int verbose = 0;
  app.add_flag("-v,--verbose", verbose, "More logging (-vv: libbpf's own); also after the command (pgstall watch -v)");

  pgstall::cli::WatchOptions watch;
  auto* w = app.add_subcommand("watch",
                               "Show every postgres process and flag stalls while they are in flight.\n\n"
                               "Stall kinds: " + pgstall::detect::kind_names() + "; with the lock\n"
                               "(USDT or wait event), the LWLock tranche and each backend's wait event.\n"
                               "On a terminal: a refreshing view, stalls on top. Otherwise (or --plain): one\n"
                               "line per stall start/end. --json: one object per line.\n\n"
                               "Examples:\n"
                               "  sudo pgstall watch\n"
                               "  sudo pgstall watch --pid 4100 --plain\n"
                               "  sudo pgstall watch --json --duration 60s --lock-sleep 2s\n"
                               "  sudo pgstall watch --io-wait 500ms --cpu-bound 30s\n"
                               "  sudo pgstall watch --syscalls always   # trace every syscall from the start\n"
                               "  sudo pgstall watch --no-usdt           # without PostgreSQL's USDT probes\n"
                               "  sudo pgstall watch --dsn 'host=/tmp port=5432 user=postgres'  # + pg_blocking_pids()");
  watch.add_to(*w);

  pgstall::cli::WatchOptions record;
  record.record = true;
  auto* r = app.add_subcommand("record",
                               "Record what watch sees, with off-CPU and on-CPU stacks, to a file for a postmortem.\n\n"
                               "The file holds stalls, once-a-second snapshots of every process, stacks with their\n"
                               "weights (already symbolised: it reports on another machine, after the processes\n"
                               "are gone) and the counters. Written record by record: a recorder that is killed\n"
                               "leaves a file readable up to its last whole record.\n\n"
                               "Examples:\n"
                               "  sudo pgstall record -d 60s -o /var/tmp/stall.pgstall\n"
                               "  sudo pgstall record -D /var/lib/postgresql/15/main --until-stall-ends -d 30m -o s.pgstall\n"
                               "  sudo pgstall record -d 5m --oncpu-hz 99 -o cpu.pgstall --folded cpu.folded\n"
                               "  pgstall report s.pgstall");
  record.add_record_to(*r);

  pgstall::cli::ReportOptions report;
  auto* rp = app.add_subcommand("report",
                                "Read a recording: stalls by kind, per-backend timelines, who blocked whom, off-CPU\n"
                                "time by wait class, top off-CPU and on-CPU stacks. No root needed.\n\n"
                                "Examples:\n"
                                "  pgstall report stall.pgstall\n"
                                "  pgstall report stall.pgstall --json | jq '.stalls[] | {pid, kind, duration_s}'\n"
                                "  pgstall report stall.pgstall --top 30\n"
                                "  pgstall report stall.pgstall --pid 4242");
  report.add_to(*rp);

  pgstall::cli::FlamegraphOptions fg;
  auto* f = app.add_subcommand("flamegraph",
                               "Draw a flame graph from a recording: off-CPU (coloured by wait class), on-CPU, I/O\n"
                               "or lock waits; as an interactive SVG (hover, click to zoom, Search), folded text or\n"
                               "speedscope JSON.\n\n"
                               "Examples:\n"
                               "  pgstall flamegraph stall.pgstall -o offcpu.svg\n"
                               "  pgstall flamegraph stall.pgstall --kind lock --pid 4242 -o lock-4242.svg\n"
                               "  pgstall flamegraph stall.pgstall --kind oncpu --format folded > oncpu.folded\n"
                               "  pgstall flamegraph stall.pgstall --format speedscope -o offcpu.speedscope.json");
  fg.add_to(*f);

  pgstall::cli::DoctorOptions doctor;
  auto* d = app.add_subcommand("doctor",
                               "What this kernel and each running cluster give pgstall: BTF, each tracepoint (loaded,\n"
                               "attached and seen to fire, as watch does it), task storage, USDT probes in the postgres\n"
                               "binary, symbols, wait events and lock holders for its version, permissions; the mode\n"
                               "watch will run in, and the fix for each missing piece. No SQL; a few seconds.\n"
                               "Exit 0: watch works fully (notes are optional extras); 1: something is missing,\n"
                               "degraded or could not be checked (as another user than root); 2: usage.\n\n"
                               "Examples:\n"
                               "  sudo pgstall doctor\n"
                               "  sudo pgstall doctor -D /var/lib/postgresql/15/main\n"
                               "  sudo pgstall doctor --json | jq '.clusters[] | {pid, mode}'");
  doctor.add_to(*d);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_failed(app, e, {argv + 1, argv + argc});
  }

  auto logger = spdlog::stderr_color_mt("pgstall");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("pgstall: %l: %v");
  spdlog::set_level(verbose >= 2 ? spdlog::level::trace : verbose == 1 ? spdlog::level::debug : spdlog::level::warn);

  try {
    if (*w) return pgstall::cli::run_watch(watch);
    if (*r) return pgstall::cli::run_watch(record);
    if (*rp) return pgstall::cli::run_report(report);
    if (*f) return pgstall::cli::run_flamegraph(fg);
    if (*d) return pgstall::cli::run_doctor(doctor);
  } catch (const std::exception& e) {
    // A bug, not a verdict: say so and leave with the probes detached.
    std::cerr << "pgstall: internal error: " << e.what() << "\n";
    return 70;
  }
  return 0;
}
