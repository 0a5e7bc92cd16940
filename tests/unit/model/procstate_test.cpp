// What /proc says a process is doing: the syscall it is blocked in, when it
// last ran, its state letter.
#include <gtest/gtest.h>

#include <unistd.h>

#include "model/procstate.h"

using namespace pgstall::model;

TEST(ProcState, SyscallLine) {
  auto s = parse_proc_syscall("232 0x5 0x7ffd2c1b3e90 0x1 0xffffffffffffffff 0x0 0x0 0x7ffd2c1b3e68 0x7f3c1d2e8f3a\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->nr, 232);
  EXPECT_EQ(s->args[0], 5u);
  EXPECT_EQ(s->args[1], 0x7ffd2c1b3e90u);
  EXPECT_EQ(s->args[3], 0xffffffffffffffffu);
  EXPECT_FALSE(parse_proc_syscall("running\n"));
  EXPECT_FALSE(parse_proc_syscall("-1 0x7ffd2c1b3e68 0x7f3c1d2e8f3a\n"));
  EXPECT_FALSE(parse_proc_syscall("7 0xzz\n"));
  EXPECT_FALSE(parse_proc_syscall(""));
}

TEST(ProcState, SchedExecStart) {
  EXPECT_DOUBLE_EQ(*parse_sched_exec_start_ms("postgres (4242, #threads: 1)\n---\nse.exec_start : 123456.789012\n"),
                   123456.789012);
  EXPECT_FALSE(parse_sched_exec_start_ms("nr_switches : 3\n"));
}

TEST(ProcState, StateLetters) {
  EXPECT_EQ(task_state_char(0), 'R');
  EXPECT_EQ(task_state_char(1), 'S');
  EXPECT_EQ(task_state_char(2), 'D');
  EXPECT_EQ(task_state_char(0x402), 'I');
  EXPECT_EQ(task_state_char(4), 'T');
}

TEST(ProcState, SelfIsListedAndNotGone) {
  const auto pids = list_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), getpid()), pids.end());
  EXPECT_FALSE(gone_or_exiting(getpid()));
  EXPECT_TRUE(gone_or_exiting(0x3fffffff));
}
