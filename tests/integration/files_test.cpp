// Output files on a real run: never written through another user's symbolic
// link or into their file, bad paths refused before tracing starts, and a
// recording stopped by SIGHUP (a dropped SSH session) finished properly.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A fresh directory like /tmp: world-writable and sticky, where another user
// (nobody) plants things.
class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests need root";
    env_ = cluster_env(false);
    ASSERT_FALSE(env_["PGSTALL_PGDATA"].empty());
    char tmpl[] = "/tmp/pgstall-itest-sticky-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    sticky_ = tmpl;
    ASSERT_EQ(chmod(sticky_.c_str(), 01777), 0);
    char vtmpl[] = "/tmp/pgstall-itest-victim-XXXXXX";
    ASSERT_NE(mkdtemp(vtmpl), nullptr);
    victim_dir_ = vtmpl;
    ASSERT_EQ(chmod(victim_dir_.c_str(), 0755), 0);
    victim_ = victim_dir_ + "/precious";
    std::ofstream(victim_) << "root's data\n";
    ASSERT_EQ(chmod(victim_.c_str(), 0644), 0);
  }
  void TearDown() override {
    fs::remove_all(sticky_);
    fs::remove_all(victim_dir_);
  }
  // As the user nobody, in a shell.
  static void as_nobody(const std::string& sh) {
    auto r = run("runuser -u nobody -- sh -c '" + sh + "'");
    ASSERT_EQ(r.status, 0) << sh << ": " << r.err;
  }
  std::string pgstall(const std::string& args) {
    return pgstall_binary() + " " + args + " --data-dir " + env_["PGSTALL_PGDATA"];
  }
  std::map<std::string, std::string> env_;
  std::string sticky_, victim_dir_, victim_;
};

// Timed run of a command expected to fail before tracing starts.
CmdResult timed(const std::string& cmd, double& seconds) {
  auto t0 = Clock::now();
  auto r = run(cmd);
  seconds = seconds_between(t0, Clock::now());
  return r;
}

}  // namespace

TEST_F(FilesTest, ASymlinkPlantedInAStickyDirIsRefusedBeforeTracing) {
  const std::string link = sticky_ + "/stall.pgstall";
  as_nobody("ln -s " + victim_ + " " + link);
  double s = 0;
  auto r = timed(pgstall("record -d 5s -o " + link), s);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--output: cannot create " + link + ": it is a symbolic link"), std::string::npos) << r.err;
  EXPECT_LT(s, 2.0) << "refused only after tracing started? " << r.err;
  EXPECT_EQ(slurp(victim_), "root's data\n");
  EXPECT_EQ(lstat_of(victim_).st_mode & 07777, 0644u);
  EXPECT_TRUE(S_ISLNK(lstat_of(link).st_mode));

  // --folded too, and no temporary is left behind.
  const std::string flink = sticky_ + "/cpu.folded";
  as_nobody("ln -s " + victim_ + " " + flink);
  r = timed(pgstall("watch --plain -d 5s --folded " + flink), s);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--folded: cannot create " + flink + ": it is a symbolic link"), std::string::npos) << r.err;
  EXPECT_LT(s, 2.0) << r.err;
  EXPECT_EQ(slurp(victim_), "root's data\n");
  EXPECT_EQ(names_in(sticky_), (std::vector<std::string>{"cpu.folded", "stall.pgstall"}));
}

// A file another user made (0666, theirs) is neither written into nor
// replaced: root's data never lands in a file that user owns and can read.
TEST_F(FilesTest, AFileAnotherUserPreCreatedIsNotWrittenInto) {
  const std::string planted = sticky_ + "/stall.pgstall";
  as_nobody("umask 0; echo theirs > " + planted);
  const struct stat before = lstat_of(planted);
  ASSERT_EQ(before.st_mode & 07777, 0666u);
  double s = 0;
  auto r = timed(pgstall("record -d 5s -o " + planted), s);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("it already exists; not overwritten"), std::string::npos) << r.err;
  EXPECT_LT(s, 2.0) << r.err;
  EXPECT_EQ(slurp(planted), "theirs\n");
  const struct stat after = lstat_of(planted);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_uid, before.st_uid);

  // A new name: root's own file, 0600, whatever the umask, readable.
  const std::string fresh = sticky_ + "/fresh.pgstall";
  r = run("umask 0; " + pgstall("record -d 2s -o " + fresh));
  ASSERT_EQ(r.status, 0) << r.err;
  const struct stat made = lstat_of(fresh);
  EXPECT_EQ(made.st_uid, 0u);
  EXPECT_EQ(made.st_mode & 07777, 0600u);
  auto rep = run(pgstall_binary() + " report " + fresh);
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.out.find("stopped: duration"), std::string::npos) << rep.out;
}

TEST_F(FilesTest, AnEmptyOutputNameExits2) {
  double s = 0;
  auto r = timed(pgstall("record -d 2s -o ''"), s);
  EXPECT_EQ(r.status, 2) << r.err;
  // Refused by the option parser, before any file is looked at.
  EXPECT_NE(r.err.find("pgstall record: --output: an empty value"), std::string::npos) << r.err;
  EXPECT_LT(s, 2.0) << r.err;
}

TEST_F(FilesTest, FoldedIntoAMissingDirectoryFailsAtOnce) {
  double s = 0;
  auto r = timed(pgstall("watch --plain -d 10s --folded /nonexistent-dir/x"), s);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--folded: cannot create /nonexistent-dir/x: directory /nonexistent-dir: No such file"),
            std::string::npos)
      << r.err;
  EXPECT_LT(s, 2.0) << "failed only after tracing: " << r.err;
}

TEST_F(FilesTest, SighupFinishesTheRecording) {
  const std::string file = sticky_ + "/hup.pgstall", folded = sticky_ + "/hup.folded";
  Watch w({"--data-dir", env_["PGSTALL_PGDATA"], "-d", "60s", "-o", file, "--folded", folded}, "record");
  ASSERT_TRUE(w.started()) << w.dump();
  w.run_for(2s);
  w.signal(SIGHUP);
  EXPECT_EQ(w.wait_exit(15s), 0) << "killed by SIGHUP? " << w.dump();
  auto rep = run(pgstall_binary() + " report " + file);
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_EQ(rep.err.find("ends inside a record"), std::string::npos) << rep.err;
  EXPECT_NE(rep.out.find("stopped: hangup"), std::string::npos) << rep.out;
  EXPECT_EQ(lstat_of(file).st_mode & 07777, 0600u);
  // The folded stacks were put in place; no temporary is left.
  EXPECT_EQ(lstat_of(folded).st_mode & 07777, 0600u);
  for (const auto& n : names_in(sticky_)) EXPECT_NE(n[0], '.') << "left behind: " << n;
}

// `record | tee log` whose tee went away with the session: standard output
// is a closed pipe, the recording goes on to its end.
TEST_F(FilesTest, AClosedOutputPipeDoesNotEndTheRecording) {
  const std::string file = sticky_ + "/pipe.pgstall";
  auto r = run("bash -c '" + pgstall("record --json -d 5s -o " + file) +
               " | head -c 1 >/dev/null; echo rc=${PIPESTATUS[0]}'");
  EXPECT_NE(r.out.find("rc=0"), std::string::npos) << "killed by SIGPIPE? " << r.out << r.err;
  auto rep = run(pgstall_binary() + " report " + file);
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.out.find("stopped: duration"), std::string::npos) << rep.out;
}
