#pragma once
// Enrichment that reads the live process, once per stall when it is
// flagged (so cheap overall): where in the kernel it sleeps (/proc/PID/stack,
// wchan), its whole user stack when it sleeps in S state, the caller that
// wanted an LWLock, the checkpoint in progress in its cluster, the file and
// the block layer's view for an I/O wait. Never reads the memory of a process
// in D state (its mmap lock may be held: the read would hang).
#include <string>
#include <vector>

#include "capture/session.h"
#include "capture/stacks.h"
#include "symbols/symbolize.h"
#include "detect/stall.h"

namespace pgstall::enrich {

// The syscall a kernel stack (innermost first) sleeps in, from its
// __x64_sys_/__arm64_sys_ frame; empty when it shows none.
std::string kernel_stack_syscall(const std::vector<std::string>& inner_first);
// A stall flagged in one syscall whose stack, read a moment later, is in
// another: the wait ended in between (stalls just over their threshold,
// under load); that stack says nothing about it.
bool stack_is_later_than(const detect::Stall& stall, const std::vector<std::string>& inner_first);

class Inspector {
 public:
  // stacks: where a recording keeps its stacks; a stall the task iterator
  // could not unwind gets one from there (the registers saved at its
  // switch-out, or the frame-pointer stacks taken then).
  Inspector(capture::Session& session, capture::StackCollector& stacks)
      : session_(session), tracer_(session.tracer()), stacks_(stacks) {}

  void inspect(detect::Stall& stall);

 private:
  void lwlock_caller(detect::Stall& stall);
  void checkpoint(detect::Stall& stall);
  void kernel_and_user_stack(detect::Stall& stall);
  void add_user_stack(detect::Stall& stall, const std::vector<std::string>& kernel_inner_first);
  void recorded_stack(detect::Stall& stall);
  void io(detect::Stall& stall);

  capture::Session& session_;
  capture::Tracer& tracer_;
  capture::StackCollector& stacks_;
  symbols::Symbolizer symbolizer_;
};

}  // namespace pgstall::enrich
