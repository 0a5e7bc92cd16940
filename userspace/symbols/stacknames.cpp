#include "symbols/stacknames.h"

#include <map>

#include <fmt/format.h>

#include "model/procstate.h"
#include "model/syscalls.h"

namespace pgstall::symbols {

std::string offcpu_class(uint32_t prev_state, int sc_nr, uint32_t pg) {
  if (pg == PGSTALL_PG_LOCK) return "Lock";
  if (pg == PGSTALL_PG_LWLOCK) return "LWLock";
  const char st = model::task_state_char(prev_state);
  const auto cls = sc_nr >= 0 ? model::syscall_class(sc_nr) : model::SyscallClass::Other;
  if ((st == 'D') || cls == model::SyscallClass::FileIo) return "IO";
  if (cls == model::SyscallClass::Sleep) return "Sleep";
  if (cls == model::SyscallClass::Poll || cls == model::SyscallClass::Futex || cls == model::SyscallClass::ClientIo)
    return "Wait";
  return "Other";
}

std::vector<std::string> StackNamer::frames(int tgid, int32_t kstack, int32_t ustack) {
  std::vector<std::string> out = user_frames(tgid, ustack);
  for (auto& k : kernel_frames(kstack)) out.push_back(std::move(k));
  if (out.empty()) out.push_back("[no stack]");
  return out;
}

std::vector<std::string> StackNamer::user_frames(int tgid, int32_t ustack) {
  if (ustack == PGSTALL_LOST_STACK) return {"[user stack lost]"};
  if (ustack < 0) return {};
  named_.insert(ustack);
  if (auto it = user_cache_.find({tgid, ustack}); caching_ && it != user_cache_.end()) return it->second;
  auto ips = stack_of_(ustack);
  auto names = user_.symbolize(tgid, ips);
  if (names.size() != ips.size()) {
    names.clear();
    for (uint64_t ip : ips) names.push_back(fmt::format("[unknown]+{:#x}", ip));
  }
  std::vector<std::string> out;
  if (ips.empty()) out.push_back("[user stack gone]");
  for (auto it = names.rbegin(); it != names.rend(); ++it) out.push_back(*it);
  if (caching_) user_cache_[{tgid, ustack}] = out;
  return out;
}

std::vector<std::string> StackNamer::kernel_frames(int32_t kstack) {
  if (kstack == PGSTALL_LOST_STACK) return {"[kernel stack lost] [k]"};
  if (kstack < 0) return {};
  named_.insert(kstack);
  if (auto it = kernel_cache_.find(kstack); caching_ && it != kernel_cache_.end()) return it->second;
  auto ips = stack_of_(kstack);
  std::vector<std::string> out;
  if (ips.empty()) out.push_back("[kernel stack gone] [k]");
  for (auto it = ips.rbegin(); it != ips.rend(); ++it) {
    std::string name = kernel_.name(*it);
    // pgstall's own program and the tracepoint glue that ran it, where the stack was taken.
    if (name.rfind("bpf_prog_", 0) == 0 || name.rfind("bpf_trace_run", 0) == 0 || name.rfind("__bpf_trace_", 0) == 0 ||
        name.rfind("__traceiter_", 0) == 0)
      continue;
    out.push_back(name + " [k]");
  }
  if (caching_) kernel_cache_[kstack] = out;
  return out;
}

nlohmann::json StackNamer::name(const capture::StackDrain& d, const std::set<int>& frozen) {
  nlohmann::json out = nlohmann::json::array();
  user_.begin_batch(frozen);
  caching_ = true;
  for (const auto& [k, v] : d.offcpu) {
    out.push_back({{"kind", "offcpu"},
                   {"pid", k.pid},
                   {"tgid", k.tgid},
                   {"state", std::string(1, model::task_state_char(k.state))},
                   {"syscall", k.sc_nr >= 0 ? nlohmann::json(model::syscall_name(k.sc_nr)) : nlohmann::json(nullptr)},
                   {"class", offcpu_class(k.state, k.sc_nr, k.pg)},
                   {"weight", v.ns},
                   {"count", v.count},
                   {"frames", frames(static_cast<int>(k.tgid), k.kstack, k.ustack)}});
    // A sleep that began before pgstall: its time counts from when pgstall
    // saw it, and its stack is named by the caller.
    if (k.seeded) out.back()["lower_bound"] = true;
  }
  for (const auto& [k, n] : d.oncpu) {
    out.push_back({{"kind", "oncpu"},
                   {"pid", k.pid},
                   {"tgid", k.tgid},
                   {"class", "cpu"},
                   {"weight", n},
                   {"count", n},
                   {"frames", frames(static_cast<int>(k.tgid), k.kstack, k.ustack)}});
  }
  user_.end_batch();
  caching_ = false;
  user_cache_.clear();
  kernel_cache_.clear();
  return out;
}

}  // namespace pgstall::symbols
