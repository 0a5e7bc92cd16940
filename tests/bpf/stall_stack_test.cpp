// The stall stack that watch and record show: a process asleep in sleep(3)
// (the test target: no frame pointers, stripped, symbols in a build-id debug
// file), its registers read by the BPF task iterator, unwound by CFI through
// libc, named, root first, with its kernel frames at the end. Needs root.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture/tracer.h"
#include "model/procfs.h"
#include "symbols/stall_stack.h"

using namespace std::chrono_literals;
namespace symbols = pgstall::symbols;

namespace {

// The test target, started and killed at the end; pid 0 if it did not start.
struct Target {
  FILE* p = nullptr;
  int pid = 0;
  Target() {
    p = popen(PGSTALL_TEST_TARGET " & echo $!", "r");
    char tok[64];
    for (int i = 0; p && i < 3 && fscanf(p, "%63s", tok) == 1; ++i)
      if (std::string(tok).rfind("0x", 0) != 0) pid = std::stoi(tok);
  }
  ~Target() {
    if (pid > 0) kill(pid, SIGKILL);
    if (p) pclose(p);
  }
};

// Waits until pid sleeps in the kernel's nanosleep; its kernel frames then.
std::vector<std::string> asleep_in_nanosleep(int pid) {
  for (int i = 0; i < 200; ++i) {
    auto k = pgstall::model::read_proc_stack(pid);
    if (std::any_of(k.begin(), k.end(), [](const std::string& f) { return f.find("nanosleep") != std::string::npos; }))
      return k;
    std::this_thread::sleep_for(10ms);
  }
  return {};
}

}  // namespace

TEST(StallStack, SleepingProcessUnwoundThroughLibcRootFirst) {
  ASSERT_EQ(geteuid(), 0u) << "needs root";
  Target t;
  ASSERT_GT(t.pid, 0) << "the test target did not start";
  const auto kernel = asleep_in_nanosleep(t.pid);
  ASSERT_FALSE(kernel.empty()) << "the test target never slept in nanosleep";

  pgstall::capture::Config cfg;
  cfg.syscalls = pgstall::capture::SyscallMode::Never;
  auto tracer = pgstall::capture::Tracer::open(cfg);
  ASSERT_TRUE(tracer) << tracer.error().message;
  auto regs = (*tracer)->task_user_regs(t.pid);
  ASSERT_TRUE(regs) << regs.error().message;

  symbols::Symbolizer syms;
  syms.set_debug_root(PGSTALL_DEBUG_ROOT);
  const auto tail = symbols::kernel_tail(kernel);
  auto frames = symbols::unwind_stall_stack(t.pid, symbols::UserRegs{(*regs)[0], (*regs)[1], (*regs)[2]}, syms, tail);
  ASSERT_TRUE(frames) << frames.error().message;

  std::string all;
  for (const auto& f : *frames) all += f + "\n";
  // The kernel frames end it, root first, each marked; the user frames come
  // before them, main (from the debug file) before the libc sleep it called.
  ASSERT_GT(frames->size(), tail.size() + 2) << all;
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), frames->end() - static_cast<long>(tail.size()))) << all;
  EXPECT_EQ(tail.back(), kernel.front() + " [k]");
  EXPECT_EQ(tail.front(), kernel.back() + " [k]");
  const auto user_end = frames->end() - static_cast<long>(tail.size());
  const auto main_at = std::find(frames->begin(), user_end, "main");
  ASSERT_NE(main_at, user_end) << all;
  const auto sleep_at = std::find_if(main_at, user_end, [](const std::string& f) {
    return f.find("sleep") != std::string::npos;
  });
  EXPECT_NE(sleep_at, user_end) << "the caller a frame-pointer walk loses is missing:\n" << all;
  for (auto it = frames->begin(); it != user_end; ++it) EXPECT_EQ(it->find(" [k]"), std::string::npos) << *it;
}

TEST(StallStack, WhyNot) {
  symbols::Symbolizer syms;
  auto none = symbols::unwind_stall_stack(getpid(), {}, syms, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no saved registers");

  auto gone = symbols::unwind_stall_stack(999999, {0x1000, 0x2000, 0}, syms, {});
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("/proc/999999/maps"), std::string::npos) << gone.error().message;

  EXPECT_EQ(symbols::kernel_tail({"do_epoll_wait", "__x64_sys_epoll_wait"}),
            (std::vector<std::string>{"__x64_sys_epoll_wait [k]", "do_epoll_wait [k]"}));
  EXPECT_TRUE(symbols::kernel_tail({}).empty());
}
