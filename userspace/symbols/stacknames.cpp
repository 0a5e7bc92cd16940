#include "symbols/stacknames.h"

#include <map>

#include <fmt/format.h>

#include "capture/session.h"
#include "model/syscalls.h"

namespace pgstall::symbols {

std::string offcpu_class(uint32_t prev_state, int sc_nr, uint32_t pg) {
  if (pg == 1) return "Lock";
  if (pg == 2) return "LWLock";
  const char st = capture::task_state_char(prev_state);
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
  std::vector<std::string> out;
  if (ustack == PGSTALL_LOST_STACK) {
    out.push_back("[user stack lost]");
  } else if (ustack >= 0) {
    named_.insert(ustack);
    auto ips = tracer_.stack(ustack);
    auto names = user_.symbolize(tgid, ips);
    if (names.size() != ips.size()) {
      names.clear();
      for (uint64_t ip : ips) names.push_back(fmt::format("[unknown]+{:#x}", ip));
    }
    if (ips.empty()) out.push_back("[user stack gone]");
    for (auto it = names.rbegin(); it != names.rend(); ++it) out.push_back(*it);
  }
  return out;
}

std::vector<std::string> StackNamer::kernel_frames(int32_t kstack) {
  std::vector<std::string> out;
  if (kstack == PGSTALL_LOST_STACK) {
    out.push_back("[kernel stack lost] [k]");
  } else if (kstack >= 0) {
    named_.insert(kstack);
    auto ips = tracer_.stack(kstack);
    if (ips.empty()) out.push_back("[kernel stack gone] [k]");
    for (auto it = ips.rbegin(); it != ips.rend(); ++it) {
      std::string name = kernel_.name(*it);
      // pgstall's own program and the tracepoint glue that ran it, where the stack was taken.
      if (name.rfind("bpf_prog_", 0) == 0 || name.rfind("bpf_trace_run", 0) == 0 || name.rfind("__bpf_trace_", 0) == 0 ||
          name.rfind("__traceiter_", 0) == 0)
        continue;
      out.push_back(name + " [k]");
    }
  }
  return out;
}

nlohmann::json StackNamer::name(const capture::StackDrain& d, const std::set<int>& frozen) {
  nlohmann::json out = nlohmann::json::array();
  user_.begin_batch(frozen);
  for (const auto& [k, v] : d.offcpu) {
    out.push_back({{"kind", "offcpu"},
                   {"pid", k.pid},
                   {"tgid", k.tgid},
                   {"state", std::string(1, capture::task_state_char(k.state))},
                   {"syscall", k.sc_nr >= 0 ? nlohmann::json(model::syscall_name(k.sc_nr)) : nlohmann::json(nullptr)},
                   {"class", offcpu_class(k.state, k.sc_nr, k.pg)},
                   {"weight", v.ns},
                   {"count", v.count},
                   {"frames", frames(static_cast<int>(k.tgid), k.kstack, k.ustack)}});
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
  return out;
}

}  // namespace pgstall::symbols
