#pragma once
// The stacks `record` (and watch --folded) keeps: the kernel's off-CPU and
// on-CPU aggregates drained once a second, named while the processes are
// there (symbols/), each labelled with its backend type, their stack slots
// freed; the maps and build-ids that name them later; and a stalled
// thread's stack from the registers it saved going to sleep.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/processes.h"
#include "capture/tracer.h"
#include "symbols/ksyms.h"
#include "symbols/stacknames.h"
#include "symbols/symbolize.h"

namespace pgstall::capture {

// A stalled thread's stack and how it was had: "dwarf", or "frame pointers
// (why not dwarf)".
struct StallStack {
  std::vector<std::string> frames;  // root first; kernel frames end in " [k]"
  std::string unwind;
};

class StackCollector {
 public:
  explicit StackCollector(Tracer& tracer);

  bool enabled() const { return tracer_.stacks_enabled(); }
  // A process seen starting (its type), so its stacks are attributed even if
  // it exits before the next drain; its maps are kept now (a short session
  // may be gone when its stacks are named).
  void note_process(int pid, const std::string& backend_type);
  // Keeps pid's maps if not kept yet; true only the first time they are
  // kept (the caller writes them). Never for a process in D state (frozen):
  // reading its maps could hang on its mmap lock.
  bool remember_first_time(int pid, const std::set<int>& frozen);
  std::vector<model::MappedFile> mapped_files(int pid) const { return user_.mapped_files(pid); }
  // The files named from, by path, with their build-ids.
  std::map<std::string, std::string> build_ids() const { return user_.build_ids(); }

  // Drains the kernel's aggregates (everything: both buffers, at the end),
  // names them — one JSON entry per stack (symbols::StackNamer::name), plus
  // its "backend_type" — and frees the slots no sleeping thread still uses.
  nlohmann::json drain(const std::map<int, ProcInfo>& procs, const std::set<int>& frozen, bool everything);

  // The stack a thread sleeps in, from the registers it saved at switch-out
  // (or, for a sleep older than pgstall, read now): DWARF-unwound when its
  // memory can be read, else the kernel's frame-pointer stacks.
  std::optional<StallStack> stall_stack(int pid, char state);

  // A stall's stack (root first) read while pid is in a sleep that began
  // before pgstall: the kernel aggregates that sleep with no stack (seeded),
  // and the drain names it with these frames and, when the stall says so,
  // its class ("Lock", "LWLock"). Ignored for any other sleep.
  void remember_seeded(int pid, std::vector<std::string> frames, std::string cls);

 private:
  std::string backend_type_of(int tgid, const std::map<int, ProcInfo>& procs) const;
  void free_named(const std::map<int, ProcInfo>& procs);
  void name_seeded(nlohmann::json& e);

  Tracer& tracer_;
  symbols::Symbolizer user_;
  symbols::KernelSymbols kernel_;
  symbols::StackNamer namer_;
  std::map<int, std::string> types_;  // pid -> backend type, kept after it exits
  std::set<int> maps_kept_;
  struct Seeded {
    uint64_t since_ns = 0;
    std::vector<std::string> frames;
    std::string cls;
  };
  std::map<int, Seeded> seeded_;  // pid -> its sleep older than pgstall, as read at its stall
};

}  // namespace pgstall::capture
