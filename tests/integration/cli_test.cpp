// Usage errors of the real binary (issue 12): whatever the mistake, one line
// on stderr naming the option, exit 2, before anything is traced. Run as
// nobody: a check that came after the root check (or not at all) shows as
// exit 1 "needs root", not as a hang. --help and --version exit 0.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"

using namespace pgstall::itest;

namespace {

CmdResult pgstall_as_nobody(const std::string& args) {
  return run("timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups " + pgstall_binary() + " " + args +
             " </dev/null");
}

size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

}  // namespace

TEST(Cli, BadValuesExit2WithOneLineNamingTheOption) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"watch --hot-loop-rate nan", "pgstall watch: --hot-loop-rate: 'nan' is not a number"},
      {"watch --hot-loop-rate=-1", "pgstall watch: --hot-loop-rate: -1 is not above 0"},
      {"watch --hot-loop-rate 99999999999999999999", "--hot-loop-rate: 1e+20 a second is more than"},
      {"watch --hot-loop-rate inf", "--hot-loop-rate: 'inf' is not a number"},
      {"watch --hot-loop-cycle-share 1.5", "--hot-loop-cycle-share: 1.5 is not a share"},
      {"watch --cpu-busy-share 0", "--cpu-busy-share: 0 is not above 0"},
      {"watch --duration 0", "pgstall watch: --duration: '0' is not above 0"},
      {"watch -d 99999999999999999999s", "--duration: '99999999999999999999s' is longer than 168h"},
      {"watch --duration 1e400", "--duration: '1e400' is not a duration"},
      {"watch --duration=-1", "--duration: '-1' is not a duration"},
      {"record -o /tmp/pgstall-itest-never.pgstall --duration inf", "pgstall record: --duration: 'inf' is not"},
      {"watch --lock-sleep nan", "--lock-sleep: 'nan' is not a duration"},
      {"watch --io-wait 0ms", "--io-wait: '0ms' is not above 0"},
      {"watch --cpu-bound 200h", "--cpu-bound: '200h' is longer than 168h"},
      {"watch --interval 1ms", "--interval: '1ms' is shorter than 10ms"},
      {"watch --interval inf", "--interval: 'inf' is not a duration"},
      {"watch --interval 1m", "--interval: '1m' is longer than 10s"},
      {"record -o /tmp/pgstall-itest-never.pgstall --oncpu-hz 5000", "--oncpu-hz"},
      {"record -o /tmp/pgstall-itest-never.pgstall --oncpu-hz nan", "--oncpu-hz"},
      {"report /dev/null --top 0", "pgstall report: --top"},
      {"report /dev/null --top lots", "--top"},
      {"watch --dsn 'hots=/tmp'", "pgstall watch: --dsn: invalid connection option \"hots\""},
      {"watch --dsn 'host=/tmp port'", "--dsn: missing \"=\" after \"port\""},
      {"watch --pid abc", "pgstall watch: --pid: 'abc' is not a process id"},
      {"watch --pid=-5", "--pid: '-5' is not a process id"},
      {"watch --syscalls sometimes", "--syscalls"},
      {"watch --duration", "--duration"},  // missing its value
      {"watch --no-such-option", "--no-such-option"},
      {"watch -v --lock-sleep 0", "--lock-sleep: '0' is not above 0"},  // -v after the subcommand
      {"", "pgstall: a command is needed (watch, record, report, flamegraph, doctor)"},
      {"-v nosuch", "pgstall: 'nosuch' is not a command (watch, record, report, flamegraph, doctor)"},
      {"report", "file"},
  };
  for (const auto& [args, says] : cases) {
    auto r = pgstall_as_nobody(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1u) << args << ": " << r.err;
    EXPECT_NE(r.err.find("--help')"), std::string::npos) << args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
  }
  EXPECT_FALSE(std::ifstream("/tmp/pgstall-itest-never.pgstall").good());
}

TEST(Cli, GoodValuesGetPastValidation) {
  // As nobody, a valid command line gets as far as the root check (exit 1).
  for (const std::string args :
       {"watch --duration 30s --interval 10ms --hot-loop-rate 1e9 --cpu-busy-share 1 --lock-sleep 168h",
        "watch -v --dsn 'host=/tmp port=5432 user=postgres' --interval 10s", "watch --dsn postgres -vv",
        "watch --dsn postgresql://postgres@localhost/postgres", "record -o /tmp/pgstall-itest-never.pgstall --oncpu-hz 0 -d 1us"}) {
    auto r = pgstall_as_nobody(args);
    EXPECT_EQ(r.status, 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find("needs root"), std::string::npos) << args << ": " << r.err;
  }
}

TEST(Cli, HelpAndVersionExit0) {
  for (const std::string args : {"--help", "-h", "watch --help", "record --help", "report --help"}) {
    auto r = pgstall_as_nobody(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << args << ": " << r.out;
    EXPECT_TRUE(r.err.empty()) << args << ": " << r.err;
  }
  EXPECT_NE(pgstall_as_nobody("watch --help").out.find("--hot-loop-rate"), std::string::npos);
  for (const std::string args : {"--version", "watch --version"}) {
    auto r = pgstall_as_nobody(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    EXPECT_EQ(r.out, std::string("pgstall ") + PGSTALL_VERSION + "\n") << args;
  }
}
