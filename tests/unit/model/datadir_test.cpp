// Which directories are data directories (a usage error when not) and why a
// data directory has no running postmaster (then pgstall waits): read from a
// real directory and the real /proc, no root needed.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "model/datadir.h"

using namespace pgstall::model;
namespace fs = std::filesystem;

namespace {

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgstall-datadir-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  std::string dir_;
};

}  // namespace

TEST_F(DataDirTest, UsageErrorsSayWhatIsWrong) {
  auto missing = open_data_dir(dir_ + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "data directory " + dir_ + "/nope does not exist");
  auto empty = open_data_dir(dir_);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, dir_ + " is not a PostgreSQL data directory (no PG_VERSION in it)");
  write("postgresql.conf", "data_directory = '/var/lib/postgresql/15/main'\n");
  auto config = open_data_dir(dir_);
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("a configuration directory?"), std::string::npos) << config.error().message;
  auto file = open_data_dir(dir_ + "/postgresql.conf");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message, dir_ + "/postgresql.conf is not a directory");
}

TEST_F(DataDirTest, ADataDirectoryIsNamedWithoutSymlinks) {
  write("PG_VERSION", "15\n");
  const std::string link = dir_ + "-link";
  ASSERT_EQ(symlink(dir_.c_str(), link.c_str()), 0);
  auto d = open_data_dir(link + "/");
  unlink(link.c_str());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->path, dir_);
  EXPECT_NE(d->ino, 0u);
}

TEST(DataDir, PostmasterPidFirstLine) {
  EXPECT_EQ(parse_postmaster_pid("4160\n/var/lib/postgresql/15/main\n1700000000\n5432\n"), 4160);
  EXPECT_EQ(parse_postmaster_pid("-4161\n"), 4161);  // a single-user server
  EXPECT_EQ(parse_postmaster_pid("4162"), 4162);
  EXPECT_FALSE(parse_postmaster_pid(""));
  EXPECT_FALSE(parse_postmaster_pid("0\n"));
  EXPECT_FALSE(parse_postmaster_pid("41x\n"));
  EXPECT_FALSE(parse_postmaster_pid("\n4160\n"));
}

TEST_F(DataDirTest, WhyNoPostmasterRuns) {
  write("PG_VERSION", "15\n");
  auto d = open_data_dir(dir_);
  ASSERT_TRUE(d);
  auto none = running_postmaster(*d);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no postmaster.pid");
  // A stale file: the pid of a process that has exited (and been reaped).
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  write("postmaster.pid", std::to_string(child) + "\n" + dir_ + "\n");
  auto stale = running_postmaster(*d);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().message, "postmaster.pid names pid " + std::to_string(child) + ", which is not running");
  // A recycled pid: this test itself, which is no postgres.
  write("postmaster.pid", std::to_string(getpid()) + "\n");
  auto other = running_postmaster(*d);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("which is not a PostgreSQL process (it is '"), std::string::npos)
      << other.error().message;
  write("postmaster.pid", "garbage\n");
  EXPECT_EQ(running_postmaster(*d).error().message, "postmaster.pid has no pid on its first line");
}

TEST(DataDir, ARunningProcessRunsFromItsCwd) {
  auto self = cwd_of(getpid());
  ASSERT_TRUE(self);
  EXPECT_TRUE(runs_from(getpid(), *self));
  DataDir other = *self;
  other.path = "/some/other/name";  // the same directory by another path (a bind mount)
  EXPECT_TRUE(runs_from(getpid(), other));
  other.ino += 1;
  EXPECT_FALSE(runs_from(getpid(), other));
}
