#pragma once
// A sleeping thread's user stack, unwound with elfutils' libdwfl from the
// registers saved when it went to sleep (pc, stack and frame pointer), with
// its memory read by process_vm_readv: no ptrace, nothing stopped. CFI
// (.eh_frame) carries the walk through libc, which keeps no frame pointers,
// so the caller that a frame-pointer walk loses (epoll_wait's caller,
// WaitEventSetWait) is there.
#include <cstdint>
#include <string>
#include <vector>

namespace pgstall::symbols {

// Return addresses, innermost (pc) first; at most max_frames. Empty with a
// reason in err when the process is gone or nothing could be unwound.
std::vector<uint64_t> unwind_user_stack(int pid, uint64_t pc, uint64_t sp, uint64_t fp, size_t max_frames,
                                        std::string& err);

}  // namespace pgstall::symbols
