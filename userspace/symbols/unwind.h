#pragma once
// A sleeping thread's user stack, unwound with elfutils' libdwfl from the
// registers saved when it went to sleep (pc, stack and frame pointer), with
// its memory read by process_vm_readv: no ptrace, nothing stopped. CFI
// (.eh_frame) carries the walk through libc, which keeps no frame pointers,
// so the caller that a frame-pointer walk loses (epoll_wait's caller,
// WaitEventSetWait) is there.
#include <cstdint>
#include <vector>

#include "util/result.h"

namespace pgstall::symbols {

// A thread's user registers where it left user mode.
struct UserRegs {
  uint64_t pc = 0, sp = 0, fp = 0;
};

// Return addresses, innermost (pc) first; at most max_frames (possibly none).
// An error says why not: no registers, the process is gone, nothing could be
// unwound.
Result<std::vector<uint64_t>> unwind_user_stack(int pid, const UserRegs& regs, size_t max_frames);

}  // namespace pgstall::symbols
