// hot-loop on synthetic windows: repeating calls with no progress, and every
// kind of progress that is not a loop.
#include <gtest/gtest.h>

#include "detect/fixtures.h"
#include "detect/kinds/hot_loop.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

TEST(HotLoop, RepeatingSyscallsForThreeSeconds) {
  detect::Engine e;
  std::vector<Event> ev;
  for (int i = 0; i < 4; ++i) {
    model::Snapshot s;
    s.pid = 900;
    s.on_cpu = true;
    s.completed_window = loop_window(kT0 + i * kSec, 18400, 18000);
    auto got = e.update(kT0 + (i + 1) * kSec + kSec / 10, {s});
    if (i < 2) EXPECT_TRUE(got.empty()) << "flagged after " << i + 1 << " windows";
    ev.insert(ev.end(), got.begin(), got.end());
  }
  auto st = starts(ev, "hot-loop");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].stall.detail["rate_per_s"], 18400);
  EXPECT_NE(st[0].stall.summary.find("lseek 50%"), std::string::npos);
  EXPECT_NE(st[0].stall.summary.find("read 50%"), std::string::npos);
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
  // Spread over many syscalls.
  auto spread = loop_window(kT0, 10000, 9900);
  spread.mix.clear();
  for (int i = 0; i < 6; ++i) spread.mix.push_back({i, 1000, 0, 999});
  spread.other = 4000;
  EXPECT_FALSE(detect::judge_loop_window(spread, t).looping);
  // The same error over and over is a loop even with changing buffers.
  auto eagain = loop_window(kT0, 20000, 10);
  eagain.mix = {{model::syscall_number("recvfrom"), 20000, -11, 19999}};
  EXPECT_TRUE(detect::judge_loop_window(eagain, t).looping);
}

TEST(DescribeMix, SharesAndRepeatedReturns) {
  auto w = loop_window(kT0, 1000, 990);
  EXPECT_EQ(detect::describe_mix(w), "lseek 50% (ret 8192), read 50% (ret 0)");
}
