#include "enrich/inspect.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "symbols/stall_stack.h"
#include "detect/registry.h"
#include "model/procfs.h"

namespace pgstall::enrich {

void Inspector::inspect(detect::Stall& stall) {
  if (detect::wants(stall.kind, detect::kEnrichLwlockCaller)) lwlock_caller(stall);
  checkpoint(stall);
  if (auto w = model::read_proc_file(stall.pid, "wchan"); w && !w->empty() && *w != "0") stall.detail["wchan"] = *w;
  kernel_and_user_stack(stall);
  auto it = session_.procs().find(stall.pid);
  if (it != session_.procs().end()) {
    stall.detail["backend_type"] = std::string(model::backend_type_name(it->second.title.type));
    if (detect::wants(stall.kind, detect::kEnrichIo) && !it->second.fd_cache.empty())
      stall.detail["file"] = it->second.fd_cache;
  }
  if (detect::wants(stall.kind, detect::kEnrichIo)) io(stall);
  recorded_stack(stall);
}

// Recording: a sleeping stall the task iterator could not unwind gets the
// stack from what the kernel kept at its switch-out.
void Inspector::recorded_stack(detect::Stall& stall) {
  if (stall.detail.value("stack_unwind", "") == "dwarf") return;
  if (auto s = stacks_.stall_stack(stall.pid, stall.state)) {
    stall.detail["stack"] = std::move(s->frames);  // root first
    stall.detail["stack_unwind"] = std::move(s->unwind);
  }
}

// Who waits for the LWLock: the user stack taken at lwlock__wait__start.
// Return addresses are looked up one byte back, inside their call.
void Inspector::lwlock_caller(detect::Stall& stall) {
  auto st = tracer_.state(stall.pid);
  if (!st || !capture::lwlock_start_current(tracer_, st->pg.lwlock_since_ns) || st->pg.lwlock_stack_id < 0) return;
  auto ips = tracer_.user_stack(st->pg.lwlock_stack_id);
  for (size_t i = 1; i < ips.size(); ++i) --ips[i];
  auto names = symbolizer_.symbolize(stall.pid, ips);
  if (names.empty()) return;
  // The caller that wanted the lock, past LWLockAcquire & co.
  for (const auto& n : names) {
    if (n.rfind("LWLock", 0) == 0) continue;
    stall.summary += " in " + n;
    break;
  }
  stall.detail["user_stack"] = std::move(names);
}

// A checkpoint in progress in the same cluster: behind many I/O and WAL
// stalls, and the checkpointer's own stall is one of its phases.
void Inspector::checkpoint(detect::Stall& stall) {
  auto c = session_.checkpoint_of(stall.pid);
  if (!c) return;
  const uint64_t now = capture::monotonic_ns();
  stall.detail["checkpoint"] = {
      {"pid", c->pid},
      {"phase", model::checkpoint_phase(c->times).value_or("")},
      {"running_s", std::round(static_cast<double>(now - std::min(now, c->times.start_ns)) / 1e8) / 10},
      {"flags", model::checkpoint_flags_text(c->flags)}};
}

void Inspector::kernel_and_user_stack(detect::Stall& stall) {
  const std::vector<std::string> frames = model::read_proc_stack(stall.pid);  // innermost first
  if (frames.empty()) return;
  stall.detail["kernel_stack"] = frames;
  add_user_stack(stall, frames);
  // Where an I/O wait sleeps says why (a freeze, a journal commit); the
  // syscall entry frames below it say nothing. A futex stack is always the same.
  if (!detect::wants(stall.kind, detect::kEnrichIo)) return;
  std::string chain;
  int n = 0;
  for (const auto& f : frames) {
    if (f.rfind("__x64_sys_", 0) == 0 || f.rfind("__arm64_sys_", 0) == 0 || f == "do_syscall_64" ||
        f.rfind("entry_SYSCALL", 0) == 0 || n == 3)
      break;
    chain += (n++ ? " ← " : "") + f;
  }
  if (!chain.empty()) stall.summary += "; kernel: " + chain;
}

void Inspector::add_user_stack(detect::Stall& stall, const std::vector<std::string>& kernel_inner_first) {
  // A sleeping thread's whole stack: its saved user registers (task
  // iterator), unwound by CFI through libc (libdwfl), memory read with
  // process_vm_readv. Not in D state: the reads take the process' mmap lock,
  // which a D-state sleeper may hold — the read would hang the watch.
  if (stall.state != 'S' || stall.detail.contains("stack")) return;
  auto regs = tracer_.task_user_regs(stall.pid);
  if (!regs) {
    spdlog::debug("no user stack for pid {}: {}", stall.pid, regs.error().message);
    return;
  }
  auto frames = symbols::unwind_stall_stack(stall.pid, {(*regs)[0], (*regs)[1], (*regs)[2]}, symbolizer_,
                                            symbols::kernel_tail(kernel_inner_first));
  if (!frames) {
    spdlog::debug("no user stack for pid {}: {}", stall.pid, frames.error().message);
    return;
  }
  stall.detail["stack"] = *frames;  // root first
  stall.detail["stack_unwind"] = "dwarf";
}

// The block layer's view: requests outstanding per device, oldest first.
void Inspector::io(detect::Stall& stall) {
  const auto inflight = tracer_.block_inflight();
  const uint64_t now = capture::monotonic_ns();
  nlohmann::json devs = nlohmann::json::object();
  for (const auto& r : inflight) {
    std::string dev = fmt::format("{}:{}", r.dev >> 20, r.dev & 0xfffff);
    auto& d = devs[dev];
    if (!d.is_object()) d = {{"in_flight", 0}, {"oldest_s", 0.0}};
    d["in_flight"] = d.value("in_flight", 0) + 1;
    double age = now > r.issue_ns ? (now - r.issue_ns) / 1e9 : 0;
    d["oldest_s"] = std::max(d.value("oldest_s", 0.0), age);
  }
  stall.detail["block_in_flight"] = devs;
  if (devs.empty()) stall.summary += "; no block request in flight (the wait is above the disk)";
}

}  // namespace pgstall::enrich
