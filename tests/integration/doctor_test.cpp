// pgstall doctor against the real kernel and the real test cluster (issue
// 12): as root it loads, attaches and fires the probes, attaches the USDT
// probes of Debian's postgres 15, reads the checkpointer's wait event and
// PGPROC, and says watch works fully; as nobody it says what is missing and
// how to fix it, and exits 1; usage errors exit 2 with one line.
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "output/view.h"

using namespace pgstall::itest;

namespace {

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = cluster_env();
    pgdata_ = env_["PGSTALL_PGDATA"];
    ASSERT_FALSE(pgdata_.empty());
    pm_ = postmaster_pid(env_);
    ASSERT_GT(pm_, 0);
    // The scenario is real: that postmaster runs, from that data directory, PostgreSQL 15.
    char cwd[PATH_MAX] = {};
    const std::string link = "/proc/" + std::to_string(pm_) + "/cwd";
    ASSERT_GT(readlink(link.c_str(), cwd, sizeof cwd - 1), 0) << link;
    ASSERT_EQ(std::string(cwd), real(pgdata_));
    std::ifstream v(pgdata_ + "/PG_VERSION");
    int major = 0;
    v >> major;
    ASSERT_EQ(major, 15);
    ASSERT_EQ(psql("SELECT current_setting('server_version_num')::int / 10000"), "15");
  }

  static std::string real(const std::string& p) {
    char* r = realpath(p.c_str(), nullptr);
    std::string out = r ? r : p;
    free(r);
    return out;
  }

  std::map<std::string, std::string> env_;
  std::string pgdata_;
  int pm_ = 0;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

size_t columns(const std::string& s) { return static_cast<size_t>(pgstall::output::display_width(s)); }

// What pg_stat_activity says the process waits on, as pgstall spells it.
std::string sql_wait_event(int pid) {
  return psql("SELECT coalesce(wait_event_type || ':' || wait_event, 'not waiting') FROM pg_stat_activity WHERE pid = " +
              std::to_string(pid));
}

CmdResult doctor_as_nobody(const std::string& args) {
  return run("timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups " + pgstall_binary() + " doctor " + args +
             " </dev/null");
}

}  // namespace

TEST_F(DoctorTest, AsRootEverythingWorksOnThisKernelAndCluster) {
  // The checkpointer's wait event as doctor read it, and as SQL sees it just
  // after; they can differ only if a checkpoint began in between: try again.
  Json j, cluster;
  std::string sql;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto r = run("timeout 60 " + pgstall_binary() + " doctor --json -D " + pgdata_);
    ASSERT_EQ(r.status, 0) << r.out << r.err;  // Debian's .dynsym-only binary is a note: exit 0
    j = Json::parse(r.out);
    ASSERT_EQ(j["clusters"].size(), 1u) << r.out;
    cluster = j["clusters"][0];
    sql = sql_wait_event(cluster["probe_pid"].get<int>());
    if (cluster["wait_event"] == sql) break;
  }
  EXPECT_EQ(cluster["wait_event"], sql) << cluster.dump();
  EXPECT_EQ(cluster["pid"], pm_);
  EXPECT_EQ(cluster["data_dir"], real(pgdata_));
  EXPECT_EQ(cluster["pg_major"], 15);
  EXPECT_EQ(cluster["binary"], real(env_["PGSTALL_BINDIR"] + "/postgres"));
  EXPECT_FALSE(cluster["from_cmdline"].get<bool>());
  // Debian builds with --enable-dtrace: the probes are in the binary and attach.
  EXPECT_GT(cluster["usdt_probes"].get<int>(), 0) << cluster.dump();
  EXPECT_GT(cluster["usdt_attached"].get<int>(), 0) << cluster.dump();
  // The process read is the cluster's checkpointer, and its PGPROC fits the
  // PostgreSQL 15 offsets.
  const int probe = cluster["probe_pid"].get<int>();
  EXPECT_EQ(cluster["probe_type"], "checkpointer");
  std::ifstream stat("/proc/" + std::to_string(probe) + "/stat");
  std::string statline;
  std::getline(stat, statline);
  std::istringstream fields(statline.substr(statline.rfind(')') + 2));
  char state;
  int ppid = 0;
  fields >> state >> ppid;
  EXPECT_EQ(ppid, pm_);
  EXPECT_TRUE(cluster["pgproc_checked"].get<bool>()) << cluster.dump();
  EXPECT_EQ(cluster["mode"], "tracepoints + USDT + wait events + lock holders (full)");
  // The kernel: BTF, every probe loaded, attached and seen to fire (block
  // ones need disk I/O, which doctor makes).
  EXPECT_TRUE(j["kernel"]["btf"].get<bool>());
  EXPECT_TRUE(j["kernel"]["load_error"].get<std::string>().empty());
  ASSERT_GE(j["kernel"]["probes"].size(), 9u);
  for (const auto& p : j["kernel"]["probes"]) EXPECT_TRUE(p["fired"].get<bool>()) << p.dump();
  for (const auto& f : j["kernel"]["features"]) EXPECT_TRUE(f["works"].get<bool>()) << f.dump();
  EXPECT_EQ(j["permissions"]["euid"], 0);
  EXPECT_EQ(j["exit_code"], 0);
}

TEST_F(DoctorTest, TextFitsOneScreenAndNamesTheMode) {
  auto r = run("timeout 60 " + pgstall_binary() + " doctor -p " + std::to_string(pm_));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto ls = lines_of(r.out);
  EXPECT_LE(ls.size(), 24u) << r.out;
  for (const auto& l : ls) EXPECT_LE(columns(l), 80u) << l;
  for (const std::string& says : std::vector<std::string>{
           "ok   BTF: /sys/kernel/btf/vmlinux\n", "ok   tracepoints: ", "cluster: postmaster " + std::to_string(pm_) + ", " + real(pgdata_) + "\n",
        "ok   server: PostgreSQL 15, ", "ok   USDT: ", "ok   wait events: from memory (checkpointer ",
        "ok   lock holders: from shared memory (PostgreSQL 15 offsets fit pid ",
        "mode: tracepoints + USDT + wait events + lock holders (full)\n", "verdict: watch works fully here"})
    EXPECT_NE(r.out.find(says), std::string::npos) << says << "\n" << r.out;
}

TEST_F(DoctorTest, AsNobodyPermissionsAreMissingWithTheirFix) {
  auto r = doctor_as_nobody("-p " + std::to_string(pm_));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  for (const std::string& says : std::vector<std::string>{
           "FAIL root: uid 65534: watch needs root", "     fix: run as root: sudo pgstall doctor\n",
        "skip tracepoints: ", "cluster: postmaster " + std::to_string(pm_) + ",", "skip USDT: ", "skip wait events: ",
        "mode: as root: tracepoints + USDT + wait events + lock holders (full)\n",
        "verdict: watch cannot run as things are: fix the FAIL lines (exit 1)\n"})
    EXPECT_NE(r.out.find(says), std::string::npos) << says << "\n" << r.out;
  const auto ls = lines_of(r.out);
  EXPECT_LE(ls.size(), 24u) << r.out;
  for (const auto& l : ls) EXPECT_LE(columns(l), 80u) << l;
  // What it could read as nobody is real: the binary from the postmaster's
  // command line, with its USDT notes.
  auto js = doctor_as_nobody("--json -p " + std::to_string(pm_));
  EXPECT_EQ(js.status, 1) << js.err;
  const Json j = Json::parse(js.out);
  EXPECT_EQ(j["permissions"]["euid"], 65534);
  EXPECT_FALSE(j["kernel"]["load_tried"].get<bool>());
  ASSERT_EQ(j["clusters"].size(), 1u);
  EXPECT_EQ(j["clusters"][0]["pid"], pm_);
  EXPECT_EQ(j["clusters"][0]["pg_major"], 15);
  EXPECT_TRUE(j["clusters"][0]["from_cmdline"].get<bool>());
  EXPECT_GT(j["clusters"][0]["usdt_probes"].get<int>(), 0);
  EXPECT_NE(j["clusters"][0]["wait_event_error"].get<std::string>().find("not permitted"), std::string::npos)
      << j["clusters"][0].dump();
}

TEST_F(DoctorTest, UsageErrorsExit2WithOneLine) {
  struct stat st {};
  ASSERT_NE(stat("/nonexistent-pgstall", &st), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"doctor -p 0", "pgstall doctor: --pid: '0' is not a process id"},
      {"doctor --pid abc", "--pid: 'abc' is not a process id"},
      {"doctor -D /nonexistent-pgstall", "pgstall doctor: data directory /nonexistent-pgstall does not exist"},
      {"doctor -p 1", "pgstall doctor: pid 1 is not a PostgreSQL process"},
      {"doctor --no-such", "--no-such"},
  };
  for (const auto& [args, says] : cases) {
    auto r = run("timeout 60 " + pgstall_binary() + " " + args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
  }
}

TEST_F(DoctorTest, DataDirectoryWithNoServerIsNotCheckedAndSaysSo) {
  // A data directory (it has PG_VERSION) that no server runs from.
  char dir[] = "/tmp/pgstall-doctor-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  { std::ofstream(std::string(dir) + "/PG_VERSION") << "15\n"; }
  auto r = run("timeout 60 " + pgstall_binary() + " doctor -D " + dir);
  unlink((std::string(dir) + "/PG_VERSION").c_str());
  rmdir(dir);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  // (The line wraps at 80 columns after the directory's name.)
  EXPECT_NE(r.out.find(std::string("skip ") + dir + ": no server runs from it (no postmaster.pid): its"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("binary is not checked\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fix: start it and run doctor again (watch -D waits for it)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("cluster: postmaster"), std::string::npos) << r.out;
}
