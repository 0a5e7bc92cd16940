// Output files created safely: never through a symbolic link, never into a
// file someone else made, 0600, and no temporary left behind.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "util/outfile.h"

using pgstall::OutFile;
namespace fs = std::filesystem;

namespace {

class OutFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgstall-outfile-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string at(const std::string& name) const { return dir_ + "/" + name; }
  // Every name in the directory, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  static void put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  static mode_t mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  std::string dir_;
};

}  // namespace

TEST_F(OutFileTest, TemporaryIsRenamedOntoTheTargetOnCommit) {
  auto out = OutFile::create(at("a.folded"));
  ASSERT_TRUE(out) << out.error().message;
  // While writing, only a hidden temporary beside the target exists.
  EXPECT_NE(out->writing_path(), at("a.folded"));
  EXPECT_EQ(fs::path(out->writing_path()).parent_path(), fs::path(dir_));
  EXPECT_FALSE(fs::exists(at("a.folded")));
  ASSERT_TRUE(out->write("x;y 1\n"));
  ASSERT_TRUE(out->commit());
  EXPECT_EQ(slurp(at("a.folded")), "x;y 1\n");
  EXPECT_EQ(names(), std::vector<std::string>{"a.folded"});
}

TEST_F(OutFileTest, CreatedWithMode0600WhateverTheUmask) {
  const mode_t old = umask(0);
  auto tmp = OutFile::create(at("t"));
  auto in_place = OutFile::create(at("p"), OutFile::Where::InPlace);
  umask(old);
  ASSERT_TRUE(tmp && in_place);
  EXPECT_EQ(mode(tmp->writing_path()), 0600u);
  EXPECT_EQ(mode(at("p")), 0600u);
  ASSERT_TRUE(tmp->commit());
  EXPECT_EQ(mode(at("t")), 0600u);
}

TEST_F(OutFileTest, ASymbolicLinkIsRefusedAndItsTargetUntouched) {
  put(at("victim"), "precious\n");
  ASSERT_EQ(symlink(at("victim").c_str(), at("link").c_str()), 0);
  ASSERT_EQ(symlink(at("nowhere").c_str(), at("dangling").c_str()), 0);
  for (auto where : {OutFile::Where::Temporary, OutFile::Where::InPlace}) {
    for (const char* name : {"link", "dangling"}) {
      auto out = OutFile::create(at(name), where, OutFile::Existing::Replace);
      ASSERT_FALSE(out) << name;
      EXPECT_EQ(out.error().message,
                "cannot create " + at(name) + ": it is a symbolic link (not followed: give the real path)");
    }
  }
  EXPECT_EQ(slurp(at("victim")), "precious\n");
  EXPECT_FALSE(fs::exists(at("nowhere")));
  EXPECT_EQ(names(), (std::vector<std::string>{"dangling", "link", "victim"}));  // no temporary left
}

TEST_F(OutFileTest, NonRegularTargetsAreRefused) {
  ASSERT_EQ(mkfifo(at("fifo").c_str(), 0600), 0);
  fs::create_directory(at("sub"));
  auto fifo = OutFile::create(at("fifo"), OutFile::Where::Temporary, OutFile::Existing::Replace);
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos) << fifo.error().message;
  auto sub = OutFile::create(at("sub"), OutFile::Where::Temporary, OutFile::Existing::Replace);
  ASSERT_FALSE(sub);
  EXPECT_NE(sub.error().message.find("is a directory"), std::string::npos) << sub.error().message;
  for (const std::string& p : {at("sub/"), at("."), std::string("")}) EXPECT_FALSE(OutFile::create(p)) << p;
  EXPECT_EQ(OutFile::create("").error().message, "no file name given (an empty path)");
  EXPECT_EQ(names(), (std::vector<std::string>{"fifo", "sub"}));
}

TEST_F(OutFileTest, AnExistingFileIsRefusedUnlessReplaceIsAsked) {
  put(at("old"), "old\n");
  chmod(at("old").c_str(), 0666);
  for (auto where : {OutFile::Where::Temporary, OutFile::Where::InPlace}) {
    auto out = OutFile::create(at("old"), where);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().message, "cannot create " + at("old") +
                                       ": it already exists; not overwritten (move it away or choose another name)");
  }
  // InPlace never replaces, even when asked.
  EXPECT_FALSE(OutFile::create(at("old"), OutFile::Where::InPlace, OutFile::Existing::Replace));
  EXPECT_EQ(slurp(at("old")), "old\n");

  // Replace: a new file (new inode, 0600) swapped in whole at commit.
  struct stat before {};
  ASSERT_EQ(stat(at("old").c_str(), &before), 0);
  auto out = OutFile::create(at("old"), OutFile::Where::Temporary, OutFile::Existing::Replace);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(out->write("new\n"));
  EXPECT_EQ(slurp(at("old")), "old\n");  // untouched until commit
  ASSERT_TRUE(out->commit());
  struct stat after {};
  ASSERT_EQ(stat(at("old").c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 07777, 0600u);
  EXPECT_EQ(slurp(at("old")), "new\n");
  EXPECT_EQ(names(), std::vector<std::string>{"old"});
}

// Refuse holds at commit too: a file that appears during the run is not
// overwritten, and the data is kept in the temporary, named in the error.
TEST_F(OutFileTest, AFileThatAppearsBeforeCommitIsNotOverwritten) {
  auto out = OutFile::create(at("late"));
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->write("data\n"));
  const std::string temp = out->writing_path();
  put(at("late"), "someone else's\n");
  auto committed = out->commit();
  ASSERT_FALSE(committed);
  EXPECT_NE(committed.error().message.find("not overwritten (the data is in " + temp + ")"), std::string::npos)
      << committed.error().message;
  EXPECT_EQ(slurp(at("late")), "someone else's\n");
  EXPECT_EQ(slurp(temp), "data\n");
}

TEST_F(OutFileTest, InPlaceIsTheTargetItselfExclusively) {
  auto out = OutFile::create(at("rec"), OutFile::Where::InPlace);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->writing_path(), at("rec"));
  ASSERT_TRUE(out->write("partial"));
  // Readable under its own name while being written: a killed writer leaves it there.
  EXPECT_EQ(slurp(at("rec")), "partial");
  // O_EXCL: a second writer cannot take the same name.
  EXPECT_FALSE(OutFile::create(at("rec"), OutFile::Where::InPlace));
  ASSERT_TRUE(out->commit());
  EXPECT_EQ(names(), std::vector<std::string>{"rec"});
}

TEST_F(OutFileTest, AbortAndDestructionRemoveWhatWasCreated) {
  {
    auto tmp = OutFile::create(at("a"));
    auto in_place = OutFile::create(at("b"), OutFile::Where::InPlace);
    ASSERT_TRUE(tmp && in_place);
    ASSERT_TRUE(tmp->write("x"));
    EXPECT_EQ(names().size(), 2u);
    in_place->abort();
    EXPECT_FALSE(fs::exists(at("b")));
  }  // tmp destroyed without commit
  EXPECT_TRUE(names().empty());
  // Moved: only the last owner cleans up, once.
  auto made = OutFile::create(at("c"));
  ASSERT_TRUE(made);
  OutFile moved = std::move(*made);
  EXPECT_EQ(names().size(), 1u);
  moved.abort();
  EXPECT_TRUE(names().empty());
}

// Abort unlinks only its own file: one put in its place stays.
TEST_F(OutFileTest, AbortLeavesAFileThatReplacedOurs) {
  auto out = OutFile::create(at("r"), OutFile::Where::InPlace);
  ASSERT_TRUE(out);
  ASSERT_EQ(unlink(at("r").c_str()), 0);
  put(at("r"), "theirs\n");
  out->abort();
  EXPECT_EQ(slurp(at("r")), "theirs\n");
}

TEST_F(OutFileTest, AMissingDirectoryIsNamed) {
  auto out = OutFile::create("/nonexistent-dir/x.folded");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message,
            "cannot create /nonexistent-dir/x.folded: directory /nonexistent-dir: No such file or directory");
}

TEST_F(OutFileTest, ARelativeNameIsCreatedInTheCurrentDirectory) {
  const auto cwd = fs::current_path();
  fs::current_path(dir_);
  auto out = OutFile::create("rel.svg");
  fs::current_path(cwd);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(fs::path(out->writing_path()).parent_path(), fs::path("."));
  ASSERT_TRUE(out->commit());
  EXPECT_TRUE(fs::exists(at("rel.svg")));
}
