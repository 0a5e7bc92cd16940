// pgstall report / pgstall flamegraph: a recording read back, on any
// machine, without root.
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "flame/flame.h"
#include "record/report.h"
#include "util/outfile.h"

namespace pgstall::cli {
namespace {

// Reads the file, record by record, and says what is wrong with it. Returns
// the exit code to use when nothing can be reported (0: go on). A damaged
// file still reports what could be read, and exits non-zero at the end.
int load(const std::string& file, const char* cmd, int pid, record::Recording& r) {
  r = record::load_file(file, pid);
  if (!r.error.empty() || !r.meta.contains("pgstall")) {
    std::cerr << cmd << ": " << file << ": " << (r.error.empty() ? "not a pgstall recording" : r.error) << "\n";
    return 2;
  }
  for (const auto& line : record::describe(r.read)) std::cerr << cmd << ": warning: " << file << ": " << line << "\n";
  return 0;
}

}  // namespace

void ReportOptions::add_to(CLI::App& app) {
  app.add_option("file", file, "A recording made by pgstall record (a regular file; read as a stream)")->required();
  app.add_flag("--json", json, "One JSON object: stalls, timelines, blockers, top waits and stacks");
  app.add_option("--top", top, "How many stacks to list")
      ->default_val("10")
      ->transform(decimal("a whole number"))
      ->check(CLI::Range(1, 1000));
  app.add_option("--pid", pid,
                 "Only this process: its stalls and timeline, its stacks, and the blocking events that name it")
      ->transform(decimal("a process id"))
      ->check(CLI::PositiveNumber);
  refuse_empty_values(app);
}

int run_report(const ReportOptions& o) {
  record::Recording r;
  if (int rc = load(o.file, "pgstall report", o.pid, r)) return rc;
  if (o.pid && r.processes.empty() && r.stalls.empty() && r.stacks.empty()) {
    std::cerr << "pgstall report: pid " << o.pid << " does not appear in " << o.file << "\n";
    return 1;
  }
  if (o.json)
    std::cout << record::report_json(r, o.top).dump(2) << "\n";
  else
    std::cout << record::report_text(r, o.top);
  return r.read.damaged ? 3 : 0;
}

void FlamegraphOptions::add_to(CLI::App& app) {
  app.add_option("file", file, "A recording made by pgstall record (a regular file; read as a stream)")->required();
  app.add_option("--kind", kind,
                 "offcpu (every sleep, by time), oncpu (samples), io (D state and file I/O), lock (heavyweight "
                 "and LWLock sleeps)")
      ->default_val("offcpu")
      ->check(CLI::IsMember({"offcpu", "oncpu", "io", "lock"}));
  app.add_option("--pid", pid, "Only this process (a backend, or any postgres process)")
      ->transform(decimal("a process id"))
      ->check(CLI::PositiveNumber);
  app.add_option("--format", format, "svg (interactive, self-contained), folded, or speedscope (JSON)")
      ->default_val("svg")
      ->check(CLI::IsMember({"svg", "folded", "speedscope"}));
  app.add_option("-o,--output", output,
                 "Where to write it (default: standard output); a new file (0600) renamed into place, replacing "
                 "an existing regular file (never a symbolic link's target)");
  refuse_empty_values(app);
}

int run_flamegraph(const FlamegraphOptions& o) {
  record::Recording r;
  if (int rc = load(o.file, "pgstall flamegraph", o.pid, r)) return rc;
  auto selected = record::select_stacks(r, o.kind);
  if (!selected) {
    std::cerr << "pgstall flamegraph: " << selected.error().message << "\n";
    return 2;
  }
  const std::vector<flame::Stack>& stacks = *selected;
  if (stacks.empty()) {
    std::cerr << "pgstall flamegraph: no " << o.kind << " stacks in " << o.file
              << (o.pid ? fmt::format(" for pid {}", o.pid) : "")
              << (r.meta.value("stacks", true) ? "" : " (recorded with --no-stacks)") << "\n";
    return 1;
  }
  const bool samples = o.kind == "oncpu";
  const std::string what = o.kind == "offcpu" ? "Off-CPU time"
                           : o.kind == "oncpu" ? "On-CPU samples"
                           : o.kind == "io"    ? "I/O waits (off-CPU)"
                                               : "Lock waits (off-CPU)";
  const std::string subtitle = fmt::format("{} on {}, from {}{}", what, r.meta.value("host", "?"),
                                           r.meta.value("started", "?"), o.pid ? fmt::format(", pid {}", o.pid) : "");
  std::string out;
  if (o.format == "folded") {
    out = flame::to_folded(stacks);
  } else if (o.format == "speedscope") {
    out = flame::to_speedscope(stacks, subtitle, samples ? "none" : "nanoseconds").dump() + "\n";
  } else {
    flame::SvgOptions so;
    so.title = "pgstall: " + what;
    so.subtitle = subtitle;
    so.unit = samples ? "samples" : "ns";
    out = flame::to_svg(stacks, so);
  }
  if (o.output.empty()) {
    std::cout << out;
  } else {
    // Made again from the recording at will: an existing regular file is
    // replaced, whole, by rename (never written through, never a symlink).
    auto f = OutFile::create(o.output, OutFile::Where::Temporary, OutFile::Existing::Replace);
    Result<void> written = f ? f->write(out) : Result<void>(f.error());
    if (written) written = f->commit();
    if (!written) {
      std::cerr << "pgstall flamegraph: " << written.error().message << "\n";
      return 1;
    }
  }
  return r.read.damaged ? 3 : 0;
}

}  // namespace pgstall::cli
