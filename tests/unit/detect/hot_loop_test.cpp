// hot-loop on synthetic windows: a short cycle of calls repeating with no
// progress, every rule that tells progress from a loop, and the cycle found in
// the window's last calls.
#include <functional>

#include <gtest/gtest.h>

#include "detect/fixtures.h"
#include "detect/kinds/hot_loop.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {

// Four whole windows of one process on CPU, each judged a tenth of a second
// after it ends: nothing flagged before the third; the events of all four.
std::vector<Event> four_windows(detect::Engine& e, int pid, const std::function<model::Window(uint64_t)>& window) {
  std::vector<Event> ev;
  for (int i = 0; i < 4; ++i) {
    model::Snapshot s;
    s.pid = pid;
    s.on_cpu = true;
    s.completed_window = window(kT0 + i * kSec);
    auto got = e.update(kT0 + (i + 1) * kSec + kSec / 10, {s});
    if (i < 2) EXPECT_TRUE(got.empty()) << "flagged after " << i + 1 << " windows";
    ev.insert(ev.end(), got.begin(), got.end());
  }
  return ev;
}

}  // namespace

TEST(HotLoop, RepeatingSyscallsForThreeSeconds) {
  detect::Engine e;
  auto ev = four_windows(e, 900, [](uint64_t start) { return loop_window(start, 18400, 18000); });
  auto st = starts(ev, "hot-loop");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.detail["rate_per_s"], 18400);
  EXPECT_NE(st[0].stall.summary.find("lseek 50%"), std::string::npos);
  EXPECT_NE(st[0].stall.summary.find("read 50%"), std::string::npos);
  EXPECT_EQ(st[0].stall.detail["cycle"],
            nlohmann::json::parse(R"([{"syscall":"lseek","ret":8192},{"syscall":"read","ret":0}])"));
  // A window with progress ends it.
  model::Snapshot s;
  s.pid = 900;
  s.completed_window = loop_window(kT0 + 4 * kSec, 18400, 100);
  auto end = e.update(kT0 + 5 * kSec + kSec / 10, {s});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].type, Event::Type::End);
}

TEST(HotLoop, ProgressIsNotALoop) {
  const auto t = detect::LoopLimits::from(detect::Settings::defaults());
  // A sequential scan: fast, one syscall, but every call reads a new offset.
  auto scan = loop_window(kT0, 30000, 20);
  scan.mix = {{model::syscall_number("pread64"), 30000, 8192, 29999}};
  scan.sequence.assign(16, {model::syscall_number("pread64"), 8192, 5, 8192});
  auto v = detect::judge_loop_window(scan, t);
  EXPECT_FALSE(v.looping);
  EXPECT_NE(v.why_not.find("repeated"), std::string::npos);
  // A backend answering its client.
  auto busy = loop_window(kT0, 20000, 19000);
  busy.client_io = 9000;
  EXPECT_FALSE(detect::judge_loop_window(busy, t).looping);
  // Issuing block I/O.
  auto io = loop_window(kT0, 20000, 19000);
  io.block_issued = 40;
  EXPECT_FALSE(detect::judge_loop_window(io, t).looping);
  // Too slow.
  EXPECT_FALSE(detect::judge_loop_window(loop_window(kT0, 1000, 999), t).looping);
  // Spread over many syscalls in no order that repeats.
  auto spread = loop_window(kT0, 10000, 9900);
  spread.mix.clear();
  spread.sequence.clear();
  for (int i = 0; i < 6; ++i) spread.mix.push_back({i, 1000, 0, 999});
  for (int i = 0; i < 16; ++i) spread.sequence.push_back({(i * i) % 7, 0, 3, 0});
  spread.other = 4000;
  EXPECT_FALSE(detect::judge_loop_window(spread, t).looping);
  // The same error over and over is a loop even with changing buffers.
  auto eagain = loop_window(kT0, 20000, 10);
  eagain.mix = {{model::syscall_number("recvfrom"), 20000, -11, 19999}};
  eagain.sequence.assign(16, {model::syscall_number("recvfrom"), -11, 9, 8192});
  EXPECT_TRUE(detect::judge_loop_window(eagain, t).looping);
}

namespace {

model::SeqCall call(const char* name, int32_t ret, int32_t arg0 = 0, uint32_t arg2 = 0) {
  return {model::syscall_number(name), ret, arg0, arg2};
}

// pg_read_file('PG_VERSION') in a PL/pgSQL loop, as strace shows it.
const std::vector<model::SeqCall> kReadFile = {call("openat", 9, -100), call("newfstatat", 0, 9),
                                               call("lseek", 0, 9),     call("read", 3, 9, 4096),
                                               call("read", 0, 9, 4096), call("close", 0, 9)};

std::vector<int> numbers(const std::vector<model::SeqCall>& cycle) {
  std::vector<int> out;
  for (const auto& c : cycle) out.push_back(c.nr);
  return out;
}

std::vector<model::SeqCall> repeated(const std::vector<model::SeqCall>& turn, size_t n, size_t phase = 0) {
  std::vector<model::SeqCall> out;
  for (size_t i = 0; i < n; ++i) out.push_back(turn[(phase + i) % turn.size()]);
  return out;
}

}  // namespace

TEST(HotLoop, ALoopOfSixCallsOverFiveSyscallsIsFlaggedWithItsCycle) {
  // The incident: read 33 %, four others 17 % each, no "top 3" majority.
  detect::Engine e;
  auto ev = four_windows(e, 4242, [](uint64_t start) { return cycle_window(start, kReadFile, 60000, 356400); });
  auto st = starts(ev, "hot-loop");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.summary,
            "360,000 syscalls/s: cycle openat(9) → newfstatat(0) → lseek(0) → read(3) → read(0) → close(0), 100% of "
            "calls (read 33%, openat 17%, newfstatat 17%, lseek 17%, close 17%); 99% repeated calls, no client I/O, "
            "no block I/O");
  const auto& cycle = st[0].stall.detail["cycle"];
  ASSERT_EQ(cycle.size(), 6u);
  EXPECT_EQ(cycle[0], nlohmann::json::parse(R"({"syscall":"openat","ret":9})"));
  EXPECT_EQ(cycle[3], nlohmann::json::parse(R"({"syscall":"read","ret":3})"));
  EXPECT_EQ(cycle[4], nlohmann::json::parse(R"({"syscall":"read","ret":0})"));
  EXPECT_EQ(st[0].stall.detail["cycle_share"], 1.0);
}

TEST(FindCycle, TheShortestPeriodWithTheSameCallsAndResults) {
  EXPECT_EQ(detect::find_cycle(repeated({call("read", 0)}, 16)), std::vector{call("read", 0)});
  // lseek/read also repeats every 4, 6 and 8 calls: the shortest wins.
  auto two = detect::find_cycle(repeated({call("lseek", 0), call("read", 0)}, 16));
  EXPECT_EQ(numbers(two), (std::vector{model::syscall_number("lseek"), model::syscall_number("read")}));
  EXPECT_EQ(detect::find_cycle(repeated(kReadFile, 16)).size(), 6u);
  // One call returning something else once breaks every period.
  auto odd = repeated({call("read", 8192)}, 16);
  odd[11].ret = 100;
  EXPECT_TRUE(detect::find_cycle(odd).empty());
  // Same syscalls, results that differ from one turn to the next: no cycle.
  std::vector<model::SeqCall> growing;
  for (int i = 0; i < 8; ++i) {
    growing.push_back(call("lseek", 8192 * i, 11));
    growing.push_back(call("pwrite64", 8192, 11));
  }
  EXPECT_TRUE(detect::find_cycle(growing).empty());
}

TEST(FindCycle, UpToEightCallsSeenTwice) {
  std::vector<model::SeqCall> nine;
  for (const char* n : {"openat", "newfstatat", "lseek", "read", "close", "getppid", "kill", "futex", "getpid"})
    nine.push_back(call(n, 0));
  std::vector<model::SeqCall> eight(nine.begin(), nine.end() - 1);
  EXPECT_EQ(detect::find_cycle(repeated(eight, 16)).size(), 8u);
  EXPECT_TRUE(detect::find_cycle(repeated(nine, 16)).empty()) << "a cycle of 9 is not looked for";
  // A period must be seen twice.
  EXPECT_TRUE(detect::find_cycle(repeated(kReadFile, 11)).empty());
  EXPECT_EQ(detect::find_cycle(repeated(kReadFile, 12)).size(), 6u);
  EXPECT_TRUE(detect::find_cycle({}).empty());
  EXPECT_TRUE(detect::find_cycle({call("read", 0)}).empty());
}

TEST(FindCycle, OneLoopReadsTheSameWhereverTheWindowEnded) {
  for (size_t phase = 0; phase < kReadFile.size(); ++phase)
    EXPECT_EQ(detect::find_cycle(repeated(kReadFile, 16, phase)), kReadFile) << "phase " << phase;
  // No open: the lseek starts the turn.
  const std::vector<model::SeqCall> seek_read = {call("lseek", 0, 5), call("read", 8192, 5, 8192)};
  EXPECT_EQ(detect::find_cycle(repeated(seek_read, 16, 1)), seek_read);
  EXPECT_EQ(detect::describe_cycle({call("openat", -2, -100), call("epoll_wait", 0)}),
            "openat(-ENOENT) → epoll_wait(0)");
}

TEST(HotLoop, TheWindowMustBeTheCycleNotJustItsLastCalls) {
  const auto t = detect::LoopLimits::from(detect::Settings::defaults());
  // The last 16 calls repeat, but most of the window was other work.
  auto w = loop_window(kT0, 20000, 19000);
  w.mix.push_back({model::syscall_number("pwrite64"), 20000, 8192, 0});
  w.total = 40000;
  auto v = detect::judge_loop_window(w, t);
  EXPECT_FALSE(v.looping);
  EXPECT_NE(v.why_not.find("cycle's syscalls make only 50%"), std::string::npos) << v.why_not;
  // No order that repeats in the last calls.
  auto none = loop_window(kT0, 20000, 19000);
  none.sequence[7] = call("close", 0, 5);
  v = detect::judge_loop_window(none, t);
  EXPECT_FALSE(v.looping);
  EXPECT_NE(v.why_not.find("no cycle"), std::string::npos) << v.why_not;
}

TEST(HotLoop, ReadingAFileForwardIsProgressThoughEveryReadLooksTheSame) {
  const auto t = detect::LoopLimits::from(detect::Settings::defaults());
  // COPY FROM a file: read(fd, the same buffer, 65536) = 65536 every call,
  // identical fingerprints, new data each time.
  auto copy = cycle_window(kT0, {call("read", 65536, 9, 65536)}, 6000, 5999);
  auto v = detect::judge_loop_window(copy, t);
  EXPECT_FALSE(v.looping);
  EXPECT_NE(v.why_not.find("reads forward: read(fd 9) fills its 65536-byte buffer"), std::string::npos) << v.why_not;
  // A seek on another fd (the table's size) does not take the reading back.
  auto other_fd = cycle_window(kT0, {call("lseek", 819200, 11, 2), call("read", 65536, 9, 65536)}, 6000, 11999);
  EXPECT_FALSE(detect::judge_loop_window(other_fd, t).looping);

  // The same read that does not fill its buffer: the source ran dry (at end
  // of file, an empty pipe drained again and again).
  EXPECT_TRUE(detect::judge_loop_window(cycle_window(kT0, {call("read", 0, 9, 4096)}, 6000, 5999), t).looping);
  EXPECT_TRUE(detect::judge_loop_window(cycle_window(kT0, {call("read", 1, 7, 1024)}, 6000, 5999), t).looping);
  // Full reads taken back by an lseek on the same fd: the same block again.
  auto reread = cycle_window(kT0, {call("lseek", 0, 9), call("read", 8192, 9, 8192)}, 6000, 11999);
  EXPECT_TRUE(detect::judge_loop_window(reread, t).looping);
  // ... or by reopening it: the first 4096 bytes of a bigger file, again.
  auto reopen = cycle_window(kT0, {call("openat", 9, -100), call("read", 4096, 9, 4096), call("close", 0, 9)}, 6000,
                             17999);
  EXPECT_TRUE(detect::judge_loop_window(reopen, t).looping);
  EXPECT_EQ(detect::reads_forward(detect::find_cycle(reopen.sequence)), "");
}

TEST(HotLoop, LoopsOfTheIssueAreFlagged) {
  const auto t = detect::LoopLimits::from(detect::Settings::defaults());
  // openat failing with the same errno, its path in a new buffer every time.
  auto enoent = cycle_window(kT0, {call("openat", -2, -100)}, 20000, 30);
  auto v = detect::judge_loop_window(enoent, t);
  EXPECT_TRUE(v.looping) << v.why_not;
  EXPECT_EQ(detect::describe_cycle(v.cycle), "openat(-ENOENT)");
  // kill, futex, epoll_wait with a zero timeout.
  auto poll = cycle_window(kT0, {call("kill", 0, 4100), call("futex", 0), call("epoll_wait", 0, 7)}, 5000, 14990);
  v = detect::judge_loop_window(poll, t);
  EXPECT_TRUE(v.looping) << v.why_not;
  EXPECT_EQ(detect::describe_cycle(v.cycle), "kill(0) → futex(0) → epoll_wait(0)");
}

TEST(DescribeMix, SharesAndRepeatedReturns) {
  auto w = loop_window(kT0, 1000, 990);
  EXPECT_EQ(detect::describe_mix(w), "lseek 50% (ret 8192), read 50% (ret 0)");
}
