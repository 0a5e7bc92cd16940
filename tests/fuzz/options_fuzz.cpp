// libFuzzer target: what an operator types. The first byte picks what the
// rest of the input is:
//   0  a command line (arguments split at NUL) for the real option
//      definitions of watch, record, report and flamegraph (CLI11);
//   1  a duration for parse_duration_s / parse_duration_option;
//   2  a value for one detector threshold (Settings::set_text, set);
//   3  a --dsn for check_dsn (libpq's PQconninfoParse).
// Properties: parsing throws nothing but CLI11's usage errors; whatever is
// accepted is finite, in its range, and reads back as typed (integers in
// decimal, durations as the seconds they say); a refusal is one non-empty line
// naming the option, and changes nothing.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "detect/kind.h"
#include "detect/registry.h"
#include "enrich/sql.h"
#include "model/duration.h"

using namespace pgstall;

namespace {

std::string_view g_input;

[[noreturn]] void broken(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: options property broken: %s\ninput (%zu bytes): ", file, line, what, g_input.size());
  for (unsigned char c : g_input) std::fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

#define EXPECT(cond)                                \
  do {                                              \
    if (!(cond)) broken(#cond, __FILE__, __LINE__); \
  } while (0)

bool one_line(std::string_view s) { return !s.empty() && s.find('\n') == std::string_view::npos; }
bool has_newline(std::string_view s) { return s.find('\n') != std::string_view::npos; }

// A refusal: one non-empty line (if what was typed was one), naming the flag.
void check_refusal(const std::string& message, std::string_view flag, std::string_view typed) {
  EXPECT(!message.empty());
  EXPECT(message.starts_with(std::string(flag) + ": "));
  if (!has_newline(typed)) EXPECT(one_line(message));
}

// Seconds as typed: the value reads back the same from its shortest text.
void check_round_trip_s(double v) {
  const auto again = model::parse_duration_s(fmt::format("{}s", v));
  EXPECT(again && *again == v);
}

// --- 1: durations ---
void fuzz_duration(std::string_view text, uint8_t bounds) {
  const auto v = model::parse_duration_s(text);
  if (v) {
    EXPECT(std::isfinite(*v) && *v >= 0);
    check_round_trip_s(*v);
  }
  constexpr double kMins[] = {0, 0.01, 1, 5};
  constexpr double kMaxs[] = {model::kLongestDurationS, 10, 3600, 60};
  const double min_s = kMins[bounds & 3], max_s = kMaxs[(bounds >> 2) & 3];
  const auto r = model::parse_duration_option("--fuzz", text, min_s, max_s);
  if (r) {
    EXPECT(v && *r == *v);
    EXPECT(*r > 0 && *r >= min_s && *r <= max_s);
  } else {
    check_refusal(r.error().message, "--fuzz", text);
    EXPECT(r.error().message.starts_with(fmt::format("--fuzz: '{}' ", text)));
  }
}

// --- 2: thresholds ---
std::vector<const detect::ThresholdSpec*> thresholds() {
  std::vector<const detect::ThresholdSpec*> out;
  for (const detect::KindSpec* k : detect::kinds())
    for (const auto& t : k->thresholds) out.push_back(&t);
  return out;
}

void check_threshold_value(const detect::ThresholdSpec& t, double v) {
  EXPECT(std::isfinite(v) && v > 0);
  switch (t.unit) {
    case detect::Unit::Seconds: EXPECT(v <= model::kLongestDurationS); break;
    case detect::Unit::Share: EXPECT(v <= 1); break;
    case detect::Unit::PerSecond: EXPECT(v <= 1e9); break;
  }
}

void fuzz_threshold(std::string_view rest) {
  static const auto all = thresholds();
  if (rest.empty() || all.empty()) return;
  const detect::ThresholdSpec& t = *all[static_cast<uint8_t>(rest[0]) % all.size()];
  const std::string_view text = rest.substr(1);
  const std::string flag = "--" + std::string(t.flag);

  auto s = detect::Settings::defaults();
  const auto r = s.set_text(t.key, text);
  if (r) {
    const double v = s.get(t);
    check_threshold_value(t, v);
    if (t.unit == detect::Unit::Seconds) {
      const auto typed = model::parse_duration_s(text);
      EXPECT(typed && *typed == v);
      check_round_trip_s(v);
    } else {
      // A plain number, all of it.
      const std::string typed(text);
      size_t used = 0;
      EXPECT(std::stod(typed, &used) == v && used == typed.size());
    }
  } else {
    check_refusal(r.error().message, flag, text);
    EXPECT(s.get(t) == t.default_value);
  }

  // The same threshold by value (configuration): any double, NaN and
  // infinities included.
  if (text.size() >= sizeof(double)) {
    double v = 0;
    std::memcpy(&v, text.data(), sizeof v);
    auto s2 = detect::Settings::defaults();
    if (const auto r2 = s2.set(t.key, v)) {
      EXPECT(s2.get(t) == v);
      check_threshold_value(t, v);
    } else {
      check_refusal(r2.error().message, flag, "");
      EXPECT(s2.get(t) == t.default_value);
    }
  }
}

// --- 3: --dsn ---
void fuzz_dsn(std::string_view text) {
  // A command-line argument holds no NUL.
  const std::string dsn(text.substr(0, text.find('\0')));
  const auto r = enrich::check_dsn(dsn);
  const auto again = enrich::check_dsn(dsn);
  EXPECT(bool(r) == bool(again));
  if (!r) {
    EXPECT(r.error().message == again.error().message);
    EXPECT(one_line(r.error().message));
  }
}

// --- 0: command lines ---

// CLI11 keeps each option's values as typed (after transforms): an integer
// option holds what its text says in decimal (not "010" read as octal 8).
void check_decimal(const CLI::App& app, const char* name, long long value, size_t index = 0) {
  const CLI::Option* opt = app.get_option_no_throw(name);
  EXPECT(opt != nullptr);
  if (opt->count() == 0) return;
  const auto& results = opt->results();
  EXPECT(index < results.size());
  const std::string& typed = results[index];
  EXPECT(!typed.empty() && typed.find_first_not_of("0123456789") == std::string::npos);
  long long parsed = -1;
  const auto [end, ec] = std::from_chars(typed.data(), typed.data() + typed.size(), parsed);
  EXPECT(ec == std::errc{} && end == typed.data() + typed.size() && parsed == value);
}

void check_watch(const CLI::App& app, const cli::WatchOptions& o) {
  // Every threshold typed reads as the Settings it gives, in range.
  for (const auto& [key, text] : o.thresholds) {
    if (text.empty()) continue;
    auto s = detect::Settings::defaults();
    EXPECT(s.set_text(key, text));
  }
  const auto interval = model::parse_duration_option("--interval", o.interval, 0.01, 10);
  EXPECT(interval && *interval >= 0.01 && *interval <= 10);
  if (!o.duration.empty()) {
    const auto d = model::parse_duration_option("--duration", o.duration);
    EXPECT(d && *d > 0 && *d <= model::kLongestDurationS);
  }
  for (size_t i = 0; i < o.pids.size(); ++i) {
    EXPECT(o.pids[i] > 0);
    check_decimal(app, "--pid", o.pids[i], i);
  }
  for (const std::string* mode : {&o.syscalls, &o.lwlock_probes})
    EXPECT(*mode == "auto" || *mode == "always" || *mode == "never");
  if (!o.dsn.empty()) EXPECT(enrich::check_dsn(o.dsn));
  if (o.record) {
    EXPECT(o.oncpu_hz >= 0 && o.oncpu_hz <= 999);
    check_decimal(app, "--oncpu-hz", o.oncpu_hz);
  }
}

void fuzz_command_line(std::string_view rest) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i <= rest.size() && args.size() < 64) {
    size_t j = rest.find('\0', i);
    if (j == std::string_view::npos) j = rest.size();
    args.emplace_back(rest.substr(i, j - i));
    i = j + 1;
  }
  if (!rest.empty() && rest.back() == '\0') args.pop_back();

  // As main.cpp builds it: one subcommand, -v before or after it. Built
  // once (hundreds of options: building it per input would be most of the
  // time); every value it fills is reset before each parse.
  struct Cli {
    CLI::App app{"pgstall"};
    int verbose = 0;
    cli::WatchOptions watch, record;
    cli::ReportOptions report;
    cli::FlamegraphOptions fg;
    CLI::App *w, *r, *rp, *f;
    cli::WatchOptions watch0, record0;
    cli::ReportOptions report0;
    cli::FlamegraphOptions fg0;
    Cli() {
      app.require_subcommand(1);
      app.fallthrough();
      app.add_flag("-v,--verbose", verbose, "");
      record.record = true;
      w = app.add_subcommand("watch", "");
      watch.add_to(*w);
      r = app.add_subcommand("record", "");
      record.add_record_to(*r);
      rp = app.add_subcommand("report", "");
      report.add_to(*rp);
      f = app.add_subcommand("flamegraph", "");
      fg.add_to(*f);
      watch0 = watch, record0 = record, report0 = report, fg0 = fg;  // as defined, defaults applied
    }
    // CLI11 holds references to these very objects (and to each threshold's
    // string in the map): assign values, keep the objects.
    static void reset(cli::WatchOptions& o, const cli::WatchOptions& defaults) {
      auto thresholds = std::move(o.thresholds);  // the nodes CLI11 points into
      for (auto& [key, text] : thresholds) text = defaults.thresholds.at(key);
      cli::WatchOptions fresh = defaults;
      fresh.thresholds = std::move(thresholds);
      o = std::move(fresh);
    }
    void reset() {
      verbose = 0;
      reset(watch, watch0);
      reset(record, record0);
      report = report0;
      fg = fg0;
    }
  };
  static Cli* cli = new Cli;
  cli->reset();
  EXPECT(cli->watch.pids.empty() && cli->record.duration.empty() && cli->report.top == 10 && cli->fg.pid == 0);
  CLI::App& app = cli->app;
  CLI::App *w = cli->w, *r = cli->r, *rp = cli->rp, *f = cli->f;
  const cli::WatchOptions& watch = cli->watch;
  const cli::WatchOptions& record = cli->record;
  const cli::ReportOptions& report = cli->report;
  const cli::FlamegraphOptions& fg = cli->fg;

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return;
  } catch (const CLI::CallForAllHelp&) {
    return;
  } catch (const CLI::ParseError& e) {
    // A usage error: main.cpp prints it on one line and exits 2.
    EXPECT(e.get_exit_code() != 0);
    EXPECT(std::strlen(e.what()) > 0);
    // Values refused by pgstall's own checks say so in one line.
    const bool typed_newline = std::any_of(args.begin(), args.end(), [](const auto& a) { return has_newline(a); });
    if (dynamic_cast<const CLI::ValidationError*>(&e) && !typed_newline) EXPECT(one_line(e.what()));
    return;
  }
  // Anything else thrown escapes to libFuzzer: main.cpp would die on it.

  // A value given empty ("--duration ''") is a mistake, never "not given".
  for (const CLI::App* sub : {&app, w, r, rp, f})
    for (const CLI::Option* opt : sub->get_options())
      if (opt->get_type_size() > 0)
        for (const std::string& value : opt->results()) EXPECT(!value.empty());

  if (*w) check_watch(*w, watch);
  if (*r) check_watch(*r, record);
  if (*rp) {
    EXPECT(report.top >= 1 && report.top <= 1000);
    check_decimal(*rp, "--top", report.top);
    EXPECT(report.pid >= 0);
    check_decimal(*rp, "--pid", report.pid);
  }
  if (*f) {
    EXPECT(fg.kind == "offcpu" || fg.kind == "oncpu" || fg.kind == "io" || fg.kind == "lock");
    EXPECT(fg.format == "svg" || fg.format == "folded" || fg.format == "speedscope");
    EXPECT(fg.pid >= 0);
    check_decimal(*f, "--pid", fg.pid);
  }
}

// Once: every threshold's default, as --help shows it, is a value it takes.
void check_defaults() {
  for (const detect::ThresholdSpec* t : thresholds()) {
    auto s = detect::Settings::defaults();
    const std::string text = detect::default_text(*t);
    if (!s.set_text(t->key, text) || s.get(*t) != t->default_value) {
      std::fprintf(stderr, "default of --%s, '%s', does not read back\n", std::string(t->flag).c_str(), text.c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  check_defaults();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  g_input = std::string_view(reinterpret_cast<const char*>(data), size);
  const std::string_view rest = g_input.substr(1);
  switch (data[0] % 4) {
    case 0: fuzz_command_line(rest); break;
    case 1:
      if (!rest.empty()) fuzz_duration(rest.substr(1), static_cast<uint8_t>(rest[0]));
      break;
    case 2: fuzz_threshold(rest); break;
    case 3: fuzz_dsn(rest); break;
  }
  return 0;
}
