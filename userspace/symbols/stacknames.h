#pragma once
// Weighted stacks drained from the kernel, named: kernel frames from
// kallsyms, user frames from the processes' ELF symbols, and a class for
// each off-CPU stack (what kind of sleep it was). What `record` writes.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/abi.h"
#include "symbols/ksyms.h"
#include "symbols/symbolize.h"

namespace pgstall::symbols {

// Off-CPU sleep class: "Lock" / "LWLock" (Postgres said so through USDT),
// "IO" (D state or a file syscall), "Sleep" (a timed nap), "Wait" (latch,
// socket, futex waits), "Other".
std::string offcpu_class(uint32_t prev_state, int sc_nr, uint32_t pg);

class StackNamer {
 public:
  // A stack's return addresses by id, innermost first (the kernel side's
  // stack map; empty when gone).
  using StackReader = std::function<std::vector<uint64_t>(int32_t id)>;

  StackNamer(StackReader stack_of, Symbolizer& user, const KernelSymbols& kernel)
      : stack_of_(std::move(stack_of)), user_(user), kernel_(kernel) {}

  // One JSON entry per drained stack:
  //   {"kind":"offcpu","pid","tgid","state":"S","syscall":"epoll_wait","class":"Lock",
  //    "weight":<ns>,"count":<sleeps>,"frames":[root ... leaf]}
  //   {"kind":"oncpu","pid","tgid","weight":<samples>,"frames":[...]}
  // Frames run from the outermost user frame to the innermost kernel frame;
  // kernel frames end in " [k]". A stack that could not be kept is "[lost]".
  // frozen: pids in D state, whose maps are not read now (see Symbolizer).
  nlohmann::json name(const capture::StackDrain& d, const std::set<int>& frozen = {});

  // The frames of one stack pair (user then kernel, root first).
  std::vector<std::string> frames(int tgid, int32_t kstack, int32_t ustack);
  // The kernel part alone, root first; empty for PGSTALL_NO_STACK.
  std::vector<std::string> kernel_frames(int32_t kstack);

  // Stack ids named since the last call: the caller frees those no thread
  // still refers to.
  std::set<int32_t> take_named_ids() { return std::exchange(named_, {}); }

 private:
  std::vector<std::string> user_frames(int tgid, int32_t ustack);

  StackReader stack_of_;
  Symbolizer& user_;
  const KernelSymbols& kernel_;
  std::set<int32_t> named_;
  // Within name(): each stack named once. An id keeps its frames until it is
  // freed, after the drain, and a batch reads each pid's maps once.
  bool caching_ = false;
  std::map<std::pair<int, int32_t>, std::vector<std::string>> user_cache_;  // (tgid, ustack)
  std::map<int32_t, std::vector<std::string>> kernel_cache_;
};

}  // namespace pgstall::symbols
