// io-wait on synthetic snapshots: a file syscall or a D-state sleep, never a
// socket or a pipe.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

TEST(IoWait, FileSyscallInDStateNamesTheFile) {
  detect::Engine e;
  model::Snapshot s = sleeping_in(77, "pwrite64", kT0, 'D');
  s.sc_fd_path = "pg_wal/000000010000000000000003 (WAL segment)";
  auto ev = e.update(kT0 + 12 * kSec / 10, {s});
  auto st = starts(ev, "io-wait");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.state, 'D');
  EXPECT_EQ(st[0].stall.detail["file"], s.sc_fd_path);
  EXPECT_NE(st[0].stall.summary.find("pwrite64(pg_wal/000000010000000000000003"), std::string::npos);
  EXPECT_NE(st[0].stall.summary.find("in D state"), std::string::npos);
}

TEST(IoWait, NotBelowThresholdNorOnSocketsOrPipes) {
  detect::Engine e;
  model::Snapshot quick = sleeping_in(1, "fdatasync", kT0 + kSec / 2, 'D');
  model::Snapshot sock = sleeping_in(2, "read", kT0 - 100 * kSec);
  sock.sc_fd_path = "socket:[12345]";
  model::Snapshot pipe = sleeping_in(3, "read", kT0 - 100 * kSec);
  pipe.sc_fd_path = "pipe:[777]";
  auto ev = e.update(kT0 + kSec, {quick, sock, pipe});
  EXPECT_TRUE(ev.empty());
}

TEST(IoWait, DStateOutsideASyscall) {
  detect::Engine e;
  model::Snapshot s;
  s.pid = 5;
  s.on_cpu = false;
  s.offcpu_state = 'D';
  s.offcpu_since_ns = kT0;
  auto ev = e.update(kT0 + 2 * kSec, {s});
  auto st = starts(ev, "io-wait");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_NE(st[0].stall.summary.find("D state"), std::string::npos);
}
