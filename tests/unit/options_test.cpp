// Option values refused before tracing starts (issue 12): every duration,
// threshold and --dsn an operator can type, checked by what its unit allows,
// each refusal naming the option in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "detect/kind.h"
#include "detect/registry.h"
#include "enrich/sql.h"
#include "model/datadir.h"
#include "model/duration.h"

using namespace pgstall;

namespace {

// Values no option takes, whatever its unit.
const std::vector<std::string> kNeverUsable = {"nan", "-nan", "inf", "-inf", "infinity", "1e400", "-1", "0",
                                               "",    "x",    "-0.5"};

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos; }

}  // namespace

TEST(DurationOption, RefusesWhatIsNotAPositiveSaneDuration) {
  for (const std::string bad : {"nan", "inf", "infinity", "1e400", "-1", "-1s", "0", "0s", "0ms", "",
                                "99999999999999999999s", "8d", "169h", "604801", "soon", "5 s"}) {
    auto r = model::parse_duration_option("--duration", bad);
    ASSERT_FALSE(r) << "'" << bad << "' accepted: " << *r;
    EXPECT_EQ(r.error().message.rfind("--duration: '" + bad + "' ", 0), 0u) << r.error().message;
    EXPECT_TRUE(one_line(r.error().message));
  }
  EXPECT_EQ(model::parse_duration_option("--duration", "0").error().message, "--duration: '0' is not above 0");
  EXPECT_EQ(model::parse_duration_option("--duration", "99999999999999999999s").error().message,
            "--duration: '99999999999999999999s' is longer than 168h, the most it takes");
  EXPECT_EQ(model::parse_duration_option("--duration", "nan").error().message,
            "--duration: 'nan' is not a duration (try 5s, 500ms, 2m)");
}

TEST(DurationOption, AcceptsUsualDurationsUpToAWeek) {
  EXPECT_DOUBLE_EQ(*model::parse_duration_option("--duration", "30s"), 30);
  EXPECT_DOUBLE_EQ(*model::parse_duration_option("--duration", "1us"), 1e-6);
  EXPECT_DOUBLE_EQ(*model::parse_duration_option("--duration", "168h"), 7 * 24 * 3600);
  EXPECT_DOUBLE_EQ(*model::parse_duration_option("--duration", "604800"), 604800);
}

TEST(DurationOption, HonoursItsOwnBounds) {
  // --interval: 10 ms to 10 s.
  EXPECT_EQ(model::parse_duration_option("--interval", "1ms", 0.01, 10).error().message,
            "--interval: '1ms' is shorter than 10ms, the least it takes");
  EXPECT_EQ(model::parse_duration_option("--interval", "11s", 0.01, 10).error().message,
            "--interval: '11s' is longer than 10s, the most it takes");
  EXPECT_DOUBLE_EQ(*model::parse_duration_option("--interval", "10ms", 0.01, 10), 0.01);
  EXPECT_DOUBLE_EQ(*model::parse_duration_option("--interval", "10s", 0.01, 10), 10);
}

// Every threshold flag generated from the registry, by its unit.
TEST(ThresholdOptions, EveryFlagRefusesUnusableValuesAndNamesItself) {
  int checked = 0;
  for (const detect::KindSpec* k : detect::kinds()) {
    for (const auto& t : k->thresholds) {
      const std::string flag = "--" + std::string(t.flag);
      std::vector<std::string> bad = kNeverUsable;
      if (t.unit == detect::Unit::Seconds) bad.insert(bad.end(), {"99999999999999999999s", "8d", "604801", "5x"});
      if (t.unit == detect::Unit::Share) bad.insert(bad.end(), {"1.01", "2", "99999999999999999999"});
      if (t.unit == detect::Unit::PerSecond) bad.insert(bad.end(), {"99999999999999999999", "1e10", "5/s", "5s"});
      for (const auto& text : bad) {
        auto s = detect::Settings::defaults();
        auto r = s.set_text(t.key, text);
        ASSERT_FALSE(r) << flag << " accepted '" << text << "'";
        EXPECT_EQ(r.error().message.rfind(flag + ": ", 0), 0u) << r.error().message;
        EXPECT_TRUE(one_line(r.error().message)) << r.error().message;
        EXPECT_DOUBLE_EQ(s.get(t), t.default_value) << flag << " changed by '" << text << "'";
        ++checked;
      }
      std::vector<std::pair<std::string, double>> good;
      if (t.unit == detect::Unit::Seconds) good = {{"500ms", 0.5}, {"2m", 120}, {"168h", 604800}, {"3", 3}};
      if (t.unit == detect::Unit::Share) good = {{"1", 1}, {"0.05", 0.05}, {"1e-3", 0.001}};
      if (t.unit == detect::Unit::PerSecond) good = {{"1", 1}, {"0.5", 0.5}, {"250000", 250000}, {"1e9", 1e9}};
      for (const auto& [text, value] : good) {
        auto s = detect::Settings::defaults();
        ASSERT_TRUE(s.set_text(t.key, text)) << flag << " " << text << ": " << s.set_text(t.key, text).error().message;
        EXPECT_DOUBLE_EQ(s.get(t), value) << flag << " " << text;
      }
    }
  }
  EXPECT_GT(checked, 200);  // every registered threshold went through
}

TEST(ThresholdOptions, MessagesSayWhatIsWrong) {
  auto s = detect::Settings::defaults();
  EXPECT_EQ(s.set_text("hot_loop_rate", "nan").error().message, "--hot-loop-rate: 'nan' is not a number");
  EXPECT_EQ(s.set_text("hot_loop_rate", "1e400").error().message, "--hot-loop-rate: '1e400' is not a number");
  EXPECT_EQ(s.set_text("hot_loop_rate", "-1").error().message, "--hot-loop-rate: -1 is not above 0");
  EXPECT_EQ(s.set_text("hot_loop_rate", "1e10").error().message,
            "--hot-loop-rate: 10000000000 a second is more than any rate it can see");
  EXPECT_EQ(s.set_text("hot_loop_cycle_share", "1.5").error().message,
            "--hot-loop-cycle-share: 1.5 is not a share (above 0, at most 1)");
  EXPECT_EQ(s.set_text("lock_sleep_s", "0").error().message, "--lock-sleep: '0' is not above 0");
  EXPECT_EQ(s.set_text("lock_sleep_s", "inf").error().message,
            "--lock-sleep: 'inf' is not a duration (try 5s, 500ms, 2m)");
  EXPECT_EQ(s.set_text("lock_sleep_s", "8d").error().message,
            "--lock-sleep: '8d' is not a duration (try 5s, 500ms, 2m)");
  EXPECT_EQ(s.set_text("lock_sleep_s", "200h").error().message,
            "--lock-sleep: '200h' is longer than 168h, the most it takes");
  // set() by value (configuration, not typed) holds to the same rules.
  EXPECT_EQ(s.set("io_wait_s", 0).error().message, "--io-wait: 0 is not above 0");
  EXPECT_EQ(s.set("io_wait_s", 1e9).error().message, "--io-wait: 1000000000s is longer than a week, the most it takes");
}

TEST(DsnOption, LibpqReadsItOrSaysWhyNot) {
  for (const std::string good : {"host=/tmp port=5432 user=postgres", "dbname=postgres", "postgres",
                                 "postgresql://postgres@localhost:5432/postgres?connect_timeout=2",
                                 "postgres:///postgres?host=/var/run/postgresql", "host='/tmp' user = x"})
    EXPECT_TRUE(enrich::check_dsn(good)) << good << ": " << enrich::check_dsn(good).error().message;
  for (const std::string bad : {"host=/tmp port", "hots=/tmp", "host='/tmp", "postgresql://[::1",
                                "postgresql://localhost/db?nosuch=1", "user=x nonsense"}) {
    auto r = enrich::check_dsn(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_TRUE(one_line(r.error().message)) << r.error().message;
  }
  EXPECT_NE(enrich::check_dsn("hots=/tmp").error().message.find("hots"), std::string::npos);
}

// -p/--pid of doctor: a process id or one line saying why not.
TEST(PidOption, RefusesWhatIsNotAProcessId) {
  for (const std::string bad : {"", "0", "000", "-1", "x", "12a", "1e3", "4294967296", "9999999999", " 1"})
    EXPECT_EQ(model::pid_option_error(bad), "'" + bad + "' is not a process id") << bad;
  for (const std::string good : {"1", "4100", "4194304", "007"}) EXPECT_EQ(model::pid_option_error(good), "") << good;
}

// Flagged by tests/fuzz/options_fuzz.cpp's properties: 1e306h is finite as typed but not in
// seconds; parse_duration_s said +inf (callers with no upper bound took it).
TEST(DurationOption, RefusesWhatOverflowsOnceInSeconds) {
  EXPECT_FALSE(model::parse_duration_s("1e306h"));
  EXPECT_FALSE(model::parse_duration_s("1.7e308min"));
  EXPECT_DOUBLE_EQ(*model::parse_duration_s("1e300h"), 3.6e303);
  EXPECT_EQ(model::parse_duration_option("--duration", "1e306h").error().message,
            "--duration: '1e306h' is not a duration (try 5s, 500ms, 2m)");
}

namespace {

// The real option definitions of one command, parsed as main.cpp does.
struct Parsed {
  CLI::App app{"pgstall"};
  cli::WatchOptions watch, record;
  cli::ReportOptions report;
  cli::FlamegraphOptions fg;
  std::string error;  // what CLI11 refused, "" when parsed

  explicit Parsed(std::vector<std::string> args) {
    record.record = true;
    watch.add_to(*app.add_subcommand("watch"));
    record.add_record_to(*app.add_subcommand("record"));
    report.add_to(*app.add_subcommand("report"));
    fg.add_to(*app.add_subcommand("flamegraph"));
    std::reverse(args.begin(), args.end());
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      error = e.what();
    }
  }
};

}  // namespace

// Flagged by tests/fuzz/options_fuzz.cpp's properties: CLI11 reads integers as strtoll with
// base 0 does, so `--pid 010` watched pid 8 and `--top 0x10` listed 16.
TEST(IntegerOptions, AreReadInDecimalOrRefused) {
  EXPECT_EQ(Parsed({"watch", "--pid", "010"}).watch.pids, std::vector<int>{10});
  EXPECT_EQ(Parsed({"watch", "-p", "4100", "-p", "0004200"}).watch.pids, (std::vector<int>{4100, 4200}));
  EXPECT_EQ(Parsed({"report", "f", "--top", "010"}).report.top, 10);
  EXPECT_EQ(Parsed({"report", "f", "--pid", "0042"}).report.pid, 42);
  EXPECT_EQ(Parsed({"flamegraph", "f", "--pid", "010"}).fg.pid, 10);
  EXPECT_EQ(Parsed({"record", "-o", "x", "--oncpu-hz", "099"}).record.oncpu_hz, 99);
  EXPECT_EQ(Parsed({"watch", "--pid", "0x10"}).error, "--pid: '0x10' is not a process id");
  EXPECT_EQ(Parsed({"watch", "--pid", "000"}).error, "--pid: '0' is not a process id");
  EXPECT_EQ(Parsed({"report", "f", "--top", "0x10"}).error, "--top: '0x10' is not a whole number");
  EXPECT_EQ(Parsed({"report", "f", "--top", " 5"}).error, "--top: ' 5' is not a whole number");
  EXPECT_EQ(Parsed({"record", "-o", "x", "--oncpu-hz", "+5"}).error, "--oncpu-hz: '+5' is not a whole number");
  // flamegraph --pid took any integer (-5 too); now a process id like report's.
  EXPECT_EQ(Parsed({"flamegraph", "f", "--pid", "-5"}).error, "--pid: '-5' is not a process id");
  EXPECT_FALSE(Parsed({"flamegraph", "f", "--pid", "0"}).error.empty());
  EXPECT_TRUE(Parsed({"report", "f", "--top", "30", "--pid", "4242"}).error.empty());
}

// Found by tests/fuzz/options_fuzz.cpp: a value given empty was read as the
// option left out: `--duration ''` ran until Ctrl-C, `--lock-sleep ''` kept
// the default, `--folded ''` wrote nothing.
TEST(EmptyValues, AreRefusedNotReadAsLeftOut) {
  const std::string why = "an empty value (leave the option out instead)";
  EXPECT_EQ(Parsed({"watch", "--duration", ""}).error, "--duration: " + why);
  EXPECT_EQ(Parsed({"watch", "--lock-sleep", ""}).error, "--lock-sleep: " + why);
  EXPECT_EQ(Parsed({"watch", "--lock-sleep="}).error, "--lock-sleep: 1 required TEXT missing");  // CLI11's own
  EXPECT_EQ(Parsed({"watch", "--hot-loop-rate", ""}).error, "--hot-loop-rate: " + why);
  EXPECT_EQ(Parsed({"watch", "--folded", ""}).error, "--folded: " + why);
  EXPECT_EQ(Parsed({"watch", "--dsn", ""}).error, "--dsn: " + why);
  EXPECT_EQ(Parsed({"watch", "-D", ""}).error, "--data-dir: " + why);
  EXPECT_EQ(Parsed({"record", "-o", ""}).error, "--output: an empty value");  // required: no "leave it out"
  EXPECT_EQ(Parsed({"report", ""}).error, "file: an empty value");
  EXPECT_EQ(Parsed({"flamegraph", "f", "-o", ""}).error, "--output: " + why);
  // Left out, they keep their meaning.
  Parsed ok({"watch", "--lock-sleep", "2s"});
  EXPECT_TRUE(ok.error.empty()) << ok.error;
  EXPECT_TRUE(ok.watch.duration.empty());
  EXPECT_EQ(ok.watch.thresholds.at("lock_sleep_s"), "2s");
}
