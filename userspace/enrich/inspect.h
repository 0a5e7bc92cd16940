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
#include "capture/symbolize.h"
#include "detect/stall.h"

namespace pgstall::enrich {

class Inspector {
 public:
  explicit Inspector(capture::Session& session) : session_(session), tracer_(session.tracer()) {}

  void inspect(detect::Stall& stall);

 private:
  void lwlock_caller(detect::Stall& stall);
  void checkpoint(detect::Stall& stall);
  void kernel_and_user_stack(detect::Stall& stall);
  void add_user_stack(detect::Stall& stall, const std::vector<std::string>& kernel_inner_first);
  void io(detect::Stall& stall);

  capture::Session& session_;
  capture::Tracer& tracer_;
  capture::Symbolizer symbolizer_;
};

}  // namespace pgstall::enrich
