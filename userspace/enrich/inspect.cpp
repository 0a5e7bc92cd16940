#include "enrich/inspect.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "symbols/stall_stack.h"
#include "detect/registry.h"
#include "model/procfs.h"

namespace pgstall::enrich {

namespace {

// What a D-state sleep is, by where in the kernel it sleeps (innermost first).
std::string d_state_cause(const std::vector<std::string>& inner_first) {
  auto has = [&](std::initializer_list<std::string_view> names) {
    for (const auto& f : inner_first)
      for (auto n : names)
        if (f.find(n) != std::string::npos) return true;
    return false;
  };
  if (has({"exit_mmap", "do_exit", "exit_mm", "free_pgtables", "unlink_file_vma"}))
    return "process teardown (exiting), not the database's I/O";
  if (has({"percpu_rwsem_wait", "sb_start_write", "__sb_start", "freeze"})) return "filesystem freeze";
  if (has({"try_to_free_pages", "shrink_", "__alloc_pages_slowpath", "balance_pgdat", "mem_cgroup_handle_over_high"}))
    return "memory reclaim";
  if (has({"lock_mm_and_find_vma", "mmap_read_lock", "mmap_write_lock"}) ||
      (has({"rwsem_down_read_slowpath", "rwsem_down_write_slowpath"}) && has({"vma", "mmap", "fault"})))
    return "memory map lock";
  if (has({"jbd2"})) return "filesystem journal";
  if (has({"folio_wait", "wait_on_page", "io_schedule", "submit_bio_wait", "blk_", "filemap_fdatawait",
           "wait_on_buffer", "balance_dirty_pages"}))
    return "I/O";
  return "";
}

// Upper bound (µs) of the log2 slot below which `share` of the completions fall.
uint64_t histogram_quantile_us(const std::array<uint64_t, PGSTALL_BLK_HIST_SLOTS>& h, uint64_t total, double share) {
  uint64_t seen = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    seen += h[i];
    if (static_cast<double>(seen) >= share * static_cast<double>(total)) return uint64_t{1} << (i + 1);
  }
  return uint64_t{1} << h.size();
}

}  // namespace

std::string kernel_stack_syscall(const std::vector<std::string>& inner_first) {
  for (const auto& f : inner_first)
    for (std::string_view prefix : {"__x64_sys_", "__arm64_sys_"})
      if (f.rfind(prefix, 0) == 0) return f.substr(prefix.size());
  return "";
}

bool stack_is_later_than(const detect::Stall& stall, const std::vector<std::string>& inner_first) {
  if (stall.syscall.empty()) return false;
  const std::string now = kernel_stack_syscall(inner_first);
  return !now.empty() && now != stall.syscall;
}

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
  // A sleep older than pgstall has no stack in the off-CPU aggregate: this one names it.
  if (stall.detail.contains("stack") && stall.detail["stack"].is_array()) {
    std::string cls = stall.kind == "lock-sleep" ? "Lock" : stall.kind == "lwlock-wait" ? "LWLock" : "";
    const std::string type = stall.detail.value("wait_event_type", "");
    if (cls.empty() && (type == "Lock" || type == "LWLock")) cls = type;
    stacks_.remember_seeded(stall.pid, stall.detail["stack"].get<std::vector<std::string>>(), std::move(cls));
  }
}

// Recording: a sleeping stall the task iterator could not unwind gets the
// stack from what the kernel kept at its switch-out.
void Inspector::recorded_stack(detect::Stall& stall) {
  if (stall.detail.value("stack_unwind", "") == "dwarf" || stall.detail.contains("stack_note")) return;
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
  if (stack_is_later_than(stall, frames)) {
    stall.detail.erase("wchan");
    stall.detail["stack_note"] = fmt::format("not shown: the {} wait ended before its stack was read (in {} now)",
                                             stall.syscall, kernel_stack_syscall(frames));
    return;
  }
  stall.detail["kernel_stack"] = frames;
  add_user_stack(stall, frames);
  if (stall.state == 'D') {
    const std::string cause = d_state_cause(frames);
    if (!cause.empty()) stall.detail["d_state"] = cause;
    // What changes the reading: a freeze, reclaim, a map lock, a teardown.
    if (!cause.empty() && cause != "I/O") stall.summary += "; D state: " + cause;
  }
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

// The block layer's view: requests outstanding per device, oldest first, and
// how fast requests have completed; when they complete fast but the waits
// are long, the delay is above the block layer.
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
  const auto hist = tracer_.block_histogram();
  uint64_t total = 0;
  for (uint64_t n : hist) total += n;
  bool fast = false;
  if (total) {
    const uint64_t p50 = histogram_quantile_us(hist, total, 0.5), p99 = histogram_quantile_us(hist, total, 0.99);
    stall.detail["block_completion_us"] = {{"p50_le", p50}, {"p99_le", p99}, {"completed", total}};
    fast = p99 <= 50'000;
  }
  if (devs.empty() && fast)
    stall.summary += "; block requests complete fast (99% within 50 ms) and none is in flight: the delay is above "
                     "the block layer (cgroup I/O throttling, a network or FUSE filesystem, dm layers, a frozen "
                     "filesystem)";
  else if (devs.empty())
    stall.summary += "; no block request in flight (the wait is above the disk)";
}

}  // namespace pgstall::enrich
