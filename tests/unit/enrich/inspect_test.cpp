#include "enrich/inspect.h"

#include <gtest/gtest.h>

namespace pgstall::enrich {
namespace {

detect::Stall in_syscall(const std::string& sc) {
  detect::Stall s;
  s.pid = 42;
  s.kind = "lwlock-wait";
  s.syscall = sc;
  return s;
}

const std::vector<std::string> kFutex = {"futex_wait_queue", "__futex_wait", "futex_wait", "do_futex",
                                         "__x64_sys_futex", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"};
const std::vector<std::string> kEpoll = {"do_epoll_wait", "__x64_sys_epoll_wait", "do_syscall_64",
                                         "entry_SYSCALL_64_after_hwframe"};

TEST(KernelStack, NamesTheSyscallItSleepsIn) {
  EXPECT_EQ(kernel_stack_syscall(kFutex), "futex");
  EXPECT_EQ(kernel_stack_syscall(kEpoll), "epoll_wait");
  EXPECT_EQ(kernel_stack_syscall({"io_schedule", "__arm64_sys_fdatasync", "el0_svc"}), "fdatasync");
  EXPECT_EQ(kernel_stack_syscall({"folio_wait_bit_common", "filemap_fault", "asm_exc_page_fault"}), "");
  EXPECT_EQ(kernel_stack_syscall({}), "");
}

// Seen under 500 clients: an LWLock stall flagged at 1.08 s in futex, its
// stack read a moment later in epoll_wait (the backend idle again).
TEST(KernelStack, AStackReadAfterTheWaitEndedIsNotTheStalls) {
  EXPECT_TRUE(stack_is_later_than(in_syscall("futex"), kEpoll));
  EXPECT_FALSE(stack_is_later_than(in_syscall("futex"), kFutex));
  // Nothing to compare: a stall outside a syscall, a stack without one.
  EXPECT_FALSE(stack_is_later_than(in_syscall(""), kEpoll));
  EXPECT_FALSE(stack_is_later_than(in_syscall("pread64"), {"folio_wait_bit_common", "filemap_fault"}));
}

}  // namespace
}  // namespace pgstall::enrich
