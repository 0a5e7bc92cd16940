// pgstall: a kernel-level stall tracer for PostgreSQL.
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "pgstall — see why PostgreSQL is stuck, from the kernel's side.\n"
      "No SQL connection, no extension, no Postgres logging needed; nothing is written into the server.\n\n"
      "Examples:\n"
      "  sudo pgstall watch                      # every cluster on this machine, live view\n"
      "  sudo pgstall watch -D /var/lib/postgresql/15/main --plain\n"
      "  sudo pgstall watch --json --duration 30s > stalls.jsonl"};
  app.require_subcommand(1);
  int verbose = 0;
  app.add_flag("-v,--verbose", verbose, "More logging (-vv: libbpf's own)");

  pgstall::cli::WatchOptions watch;
  auto* w = app.add_subcommand("watch",
                               "Show every postgres process and flag stalls while they are in flight.\n\n"
                               "Stall kinds: lock-sleep, lwlock-wait, io-wait, hot-loop, cpu-bound, delay-loop; with the lock\n"
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

  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("pgstall");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("pgstall: %l: %v");
  spdlog::set_level(verbose >= 2 ? spdlog::level::trace : verbose == 1 ? spdlog::level::debug : spdlog::level::warn);

  try {
    if (*w) return pgstall::cli::run_watch(watch);
  } catch (const std::exception& e) {
    // A bug, not a verdict: say so and leave with the probes detached.
    std::cerr << "pgstall: internal error: " << e.what() << "\n";
    return 70;
  }
  return 0;
}
