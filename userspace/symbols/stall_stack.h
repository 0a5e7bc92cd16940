#pragma once
// A stalled thread's whole stack, as watch and record show it (detail.stack):
// its user stack unwound by CFI from its saved registers and named, root
// first, then the kernel frames it sleeps in, each marked " [k]".
#include <string>
#include <string_view>
#include <vector>

#include "symbols/symbolize.h"
#include "symbols/unwind.h"
#include "util/result.h"

namespace pgstall::symbols {

// Why no stack when the unwinder gave no reason: it found fewer than two
// frames, or the process was gone before they were named.
inline constexpr std::string_view kTooFewFrames = "too few frames";

// Kernel function names innermost first (as /proc/PID/stack lists them) as
// the end of a stack: root first, each marked " [k]".
std::vector<std::string> kernel_tail(const std::vector<std::string>& inner_first);

// pid's user stack from regs (libdwfl; memory read with process_vm_readv,
// so never for a thread in D state: the reads take its mmap lock), return
// addresses named one byte back (inside their call), root first, then
// kernel_root_first. An error says why not: the unwinder's reason, or
// kTooFewFrames.
Result<std::vector<std::string>> unwind_stall_stack(int pid, const UserRegs& regs, Symbolizer& syms,
                                                    std::vector<std::string> kernel_root_first);

}  // namespace pgstall::symbols
