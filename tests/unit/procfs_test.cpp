#include "model/procfs.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <string>
#include <thread>
#include <vector>

namespace pgstall::model {
namespace {

// Fields 1..22 of a real line (checkpointer on this host), then the tail.
constexpr std::string_view kCheckpointer =
    "3223 (postgres) S 3222 3223 3223 0 -1 4194368 139 0 0 0 7 11 0 0 20 0 1 0 38855 222334976 1490 "
    "18446744073709551615 94083094331392 94083099744681 140737467677600 0 0 0 4194304 24145920 536873479 1 0 0 "
    "17 1 0 0 0 0 0\n";

std::string stat_line(std::string_view pid_and_comm) {
    return std::string(pid_and_comm) + " D 1 2 3 0 -1 4194368 139 0 0 0 1234 5678 0 0 20 0 1 0 987654321 0 0\n";
}

TEST(ParseProcStat, RealLine) {
    const auto st = parse_proc_stat(kCheckpointer);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->pid, 3223);
    EXPECT_EQ(st->comm, "postgres");
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->ppid, 3222);
    EXPECT_EQ(st->utime, 7u);
    EXPECT_EQ(st->stime, 11u);
    EXPECT_EQ(st->starttime_ticks, 38855u);
}

TEST(ParseProcStat, CommWithSpacesAndParentheses) {
    struct Case {
        const char* head;
        const char* comm;
    } cases[] = {
        {"42 (a) (b)", "a) (b"},
        {"42 (Web Content)", "Web Content"},
        {"42 ())", ")"},
        {"42 (()", "("},
        {"42 ()", ""},
        {"42 () S 9 ()", ") S 9 ("},  // a comm forging fields still parses by the last ')'
        {"42 (x) R 1 2 3)", "x) R 1 2 3"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.head);
        const auto st = parse_proc_stat(stat_line(c.head));
        ASSERT_TRUE(st);
        EXPECT_EQ(st->pid, 42);
        EXPECT_EQ(st->comm, c.comm);
        EXPECT_EQ(st->state, 'D');
        EXPECT_EQ(st->ppid, 1);
        EXPECT_EQ(st->utime, 1234u);
        EXPECT_EQ(st->stime, 5678u);
        EXPECT_EQ(st->starttime_ticks, 987654321u);
    }
}

TEST(ParseProcStat, LargeCounters) {
    const auto st =
        parse_proc_stat("7 (big) R 0 0 0 0 -1 0 0 0 0 0 18446744073709551615 9000000000 0 0 20 0 1 0 "
                        "18446744073709551614");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->ppid, 0);
    EXPECT_EQ(st->utime, 18446744073709551615u);
    EXPECT_EQ(st->stime, 9000000000u);
    EXPECT_EQ(st->starttime_ticks, 18446744073709551614u);
}

TEST(ParseProcStat, RejectsMalformed) {
    const std::string truncated(kCheckpointer.substr(0, kCheckpointer.find(" 38855")));
    for (const std::string& s : {
             std::string(),
             std::string("garbage"),
             std::string("3223 postgres S 3222"),  // no parentheses
             std::string("3223 (postgres S 3222 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"),  // no ')'
             std::string("3223 )postgres( S"),
             truncated,
             std::string("x (postgres) S 3222 3223 3223 0 -1 4194368 139 0 0 0 7 11 0 0 20 0 1 0 38855"),
             std::string("(postgres) S 3222 3223 3223 0 -1 4194368 139 0 0 0 7 11 0 0 20 0 1 0 38855"),
             std::string("1 (p) SS 3222 3223 3223 0 -1 4194368 139 0 0 0 7 11 0 0 20 0 1 0 38855"),
             std::string("1 (p) S x 3223 3223 0 -1 4194368 139 0 0 0 7 11 0 0 20 0 1 0 38855"),
             std::string("1 (p) S 1 3223 3223 0 -1 4194368 139 0 0 0 -7 11 0 0 20 0 1 0 38855"),
             std::string("1 (p) S 1 3223 3223 0 -1 4194368 139 0 0 0 7 11 0 0 20 0 1 0 3.5"),
         }) {
        EXPECT_FALSE(parse_proc_stat(s)) << s;
    }
}

TEST(ReadProcStat, Self) {
    const auto st = read_proc_stat(getpid());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->pid, getpid());
    EXPECT_EQ(st->ppid, getppid());
    EXPECT_EQ(st->state, 'R');  // we are running while reading it
    EXPECT_GT(st->starttime_ticks, 0u);

    auto comm = read_proc_file(getpid(), "comm");
    ASSERT_TRUE(comm);
    if (!comm->empty() && comm->back() == '\n') comm->pop_back();
    EXPECT_EQ(st->comm, *comm);
}

TEST(ReadProcStat, ThreadWhoseNameLooksLikeFields) {
    // comm is settable by any process: a hostile name must not shift fields.
    const char* name = ") (x) R 1 2 (";  // 14 chars: fits TASK_COMM_LEN
    std::atomic<pid_t> tid{0};
    std::atomic<bool> done{false};
    std::thread th([&] {
        prctl(PR_SET_NAME, name);
        tid = static_cast<pid_t>(syscall(SYS_gettid));
        while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    while (tid == 0) std::this_thread::yield();

    const auto st = read_proc_stat(tid);
    done = true;
    th.join();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->pid, tid.load());
    EXPECT_EQ(st->comm, name);
    EXPECT_EQ(st->ppid, getppid());  // threads report the process's parent
}

TEST(ReadProcStat, ZombieThenGone) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(0);

    // Wait for the exit without reaping it.
    siginfo_t info{};
    ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);

    const auto zombie = read_proc_stat(child);
    ASSERT_TRUE(zombie);
    EXPECT_EQ(zombie->state, 'Z');
    EXPECT_EQ(zombie->ppid, getpid());
    const auto cmd = proc_cmdline(child);
    ASSERT_TRUE(cmd);  // readable, but a zombie has no argv
    EXPECT_EQ(*cmd, "");

    ASSERT_EQ(waitpid(child, nullptr, 0), child);
    EXPECT_FALSE(read_proc_stat(child));
    EXPECT_FALSE(proc_cmdline(child));
    EXPECT_FALSE(read_proc_file(child, "status"));
    EXPECT_FALSE(proc_cwd(child));
}

TEST(ReadProcFile, RefusesBadArguments) {
    const int self = getpid();
    EXPECT_FALSE(read_proc_file(0, "stat"));
    EXPECT_FALSE(read_proc_file(-1, "stat"));
    EXPECT_FALSE(read_proc_file(self, ""));
    EXPECT_FALSE(read_proc_file(self, "/etc/passwd"));
    EXPECT_FALSE(read_proc_file(self, "../1/stat"));
    EXPECT_FALSE(read_proc_file(self, "task/../stat"));
    EXPECT_FALSE(read_proc_file(self, ".."));
    EXPECT_FALSE(read_proc_file(self, std::string_view("stat\0x", 6)));
    EXPECT_FALSE(read_proc_file(self, "no-such-file"));
    EXPECT_FALSE(read_proc_file(self, "fd"));  // a directory: read() fails with EISDIR
    EXPECT_FALSE(read_proc_link(self, "../1/cwd"));
}

TEST(ReadProcFile, ReadsFilesLargerThanOneBuffer) {
    // /proc/self/maps of a gtest binary spans several 4 KiB reads.
    const auto maps = read_proc_file(getpid(), "maps");
    ASSERT_TRUE(maps);
    EXPECT_GT(maps->size(), 4096u);
    EXPECT_EQ(maps->back(), '\n');

    const auto nested = read_proc_file(getpid(), "task/" + std::to_string(getpid()) + "/stat");
    ASSERT_TRUE(nested);
    EXPECT_TRUE(parse_proc_stat(*nested));
}

TEST(ProcCmdline, SelfKeepsNulSeparators) {
    const auto cmd = proc_cmdline(getpid());
    ASSERT_TRUE(cmd);
    ASSERT_FALSE(cmd->empty());
    EXPECT_EQ(cmd->back(), '\0');
}

TEST(ProcLinks, CwdAndExe) {
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    const auto c = proc_cwd(getpid());
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, cwd);

    const auto exe = read_proc_link(getpid(), "exe");
    ASSERT_TRUE(exe);
    EXPECT_EQ(exe->front(), '/');
    EXPECT_FALSE(read_proc_link(getpid(), "stat"));  // not a link
}

// A backend asleep in epoll_wait, then a writer stuck behind a frozen
// filesystem (a module frame), as root reads them in /proc/PID/stack.
TEST(ParseProcStack, FunctionNamesInnermostFirst) {
    constexpr std::string_view kEpoll =
        "[<0>] do_epoll_wait+0x4b7/0x5e0\n"
        "[<0>] __x64_sys_epoll_wait+0x6f/0x110\n"
        "[<0>] do_syscall_64+0x55/0xb0\n"
        "[<0>] entry_SYSCALL_64_after_hwframe+0x6e/0xd8\n";
    EXPECT_EQ(parse_proc_stack(kEpoll), (std::vector<std::string>{"do_epoll_wait", "__x64_sys_epoll_wait",
                                                                  "do_syscall_64",
                                                                  "entry_SYSCALL_64_after_hwframe"}));
    constexpr std::string_view kFrozen =
        "[<0>] percpu_rwsem_wait+0x10b/0x130\n"
        "[<0>] ext4_page_mkwrite+0x3c5/0x560 [ext4]\n"
        "[<0>] do_page_mkwrite+0x53/0xc0";  // no final newline
    EXPECT_EQ(parse_proc_stack(kFrozen),
              (std::vector<std::string>{"percpu_rwsem_wait", "ext4_page_mkwrite", "do_page_mkwrite"}));
}

TEST(ParseProcStack, SkipsWhatIsNotAFrame) {
    EXPECT_TRUE(parse_proc_stack("").empty());
    EXPECT_TRUE(parse_proc_stack("\n\n").empty());
    EXPECT_TRUE(parse_proc_stack("no frame here\n[<0>] +0x10/0x20\n").empty());
    EXPECT_EQ(parse_proc_stack("garbage\n[<0>] schedule+0x3d/0xd0\n"), std::vector<std::string>{"schedule"});
}

TEST(ReadProcStack, MissingProcessGivesNothing) {
    EXPECT_TRUE(read_proc_stack(0).empty());
    EXPECT_TRUE(read_proc_stack(-1).empty());
}

}  // namespace
}  // namespace pgstall::model

TEST(ParseMapsLine, RealLinesAndGarbage) {
  using pgstall::model::parse_maps_line;
  auto m = parse_maps_line(
      "55c852527000-55c8525f4000 r--p 00000000 fe:00 322894                     "
      "/usr/lib/postgresql/15/bin/postgres (deleted)");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->start, 0x55c852527000u);
  EXPECT_EQ(m->end, 0x55c8525f4000u);
  EXPECT_EQ(m->offset, 0u);
  EXPECT_EQ(m->dev_major, 0xfeu);
  EXPECT_EQ(m->dev_minor, 0u);
  EXPECT_EQ(m->inode, 322894u);
  EXPECT_EQ(m->path, "/usr/lib/postgresql/15/bin/postgres (deleted)");
  m = parse_maps_line("7fc1e7f57000-7fc1e7f58000 rw-s 00871000 00:01 1025 /dev/zero (deleted)");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->offset, 0x871000u);
  EXPECT_EQ(m->dev_minor, 1u);
  m = parse_maps_line("55c852dad000-55c852ddf000 rw-p 00000000 00:00 0 ");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->path, "");
  EXPECT_FALSE(parse_maps_line("garbage"));
  EXPECT_FALSE(parse_maps_line("1000-2000 r--p zz 00:00 0"));
}
