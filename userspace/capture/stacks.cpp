#include "capture/stacks.h"

#include <unistd.h>

#include <algorithm>

#include "model/procfs.h"
#include "symbols/stall_stack.h"
#include "util/clock.h"

namespace pgstall::capture {

StackCollector::StackCollector(Tracer& tracer)
    : tracer_(tracer), namer_([&tracer](int32_t id) { return tracer.stack(id); }, user_, kernel_) {
  if (tracer_.stacks_enabled()) kernel_.load();
}

void StackCollector::note_process(int pid, const std::string& backend_type) {
  if (!backend_type.empty()) types_[pid] = backend_type;
  if (enabled()) user_.remember(pid);
}

bool StackCollector::remember_first_time(int pid, const std::set<int>& frozen) {
  return enabled() && !frozen.count(pid) && user_.remember(pid) && maps_kept_.insert(pid).second;
}

std::string StackCollector::backend_type_of(int tgid, const std::map<int, ProcInfo>& procs) const {
  if (auto it = procs.find(tgid); it != procs.end()) return std::string(model::backend_type_name(it->second.title.type));
  if (auto it = types_.find(tgid); it != types_.end()) return it->second;  // exited since
  return "";
}

nlohmann::json StackCollector::drain(const std::map<int, ProcInfo>& procs, const std::set<int>& frozen,
                                     bool everything) {
  nlohmann::json entries = nlohmann::json::array();
  if (!enabled()) return entries;
  for (const auto& [pid, p] : procs) types_[pid] = std::string(model::backend_type_name(p.title.type));
  StackDrain d;
  tracer_.drain_stacks(d, everything);
  if (!d.offcpu.empty() || !d.oncpu.empty()) {
    // Only the server's processes: pgstall tracks itself (and a child) for
    // a moment in its self-test. Everything else the kernel tracked is a
    // child of a tracked postgres process; one that started and exited
    // between two reads of /proc has no title: it is kept, untitled.
    const auto self = static_cast<int>(getpid());
    const auto& st = tracer_.self_test_pids();
    auto ours = [&](uint32_t tgid) {
      const int pid = static_cast<int>(tgid);
      if (pid == self || std::find(st.begin(), st.end(), pid) != st.end()) return true;
      if (backend_type_of(pid, procs).empty()) types_[pid] = "short-lived process";
      return false;
    };
    std::erase_if(d.offcpu, [&](const auto& x) { return ours(x.first.tgid); });
    std::erase_if(d.oncpu, [&](const auto& x) { return ours(x.first.tgid); });
  }
  // At the end, the sleeps still in progress: the kernel adds a sleep when
  // it ends, and the longest stall of a recording is often still going.
  if (everything) {
    const uint64_t now = monotonic_ns();
    for (const auto& [pid, p] : procs) {
      auto st = tracer_.state(pid);
      if (!st || st->oncpu_since_ns || !st->offcpu_since_ns || !st->offcpu_state || st->offcpu_since_ns >= now) continue;
      const bool seeded = st->flags & PGSTALL_F_SEEDED_SLEEP;
      if (!seeded && st->off_kstack == PGSTALL_NO_STACK && st->off_ustack == PGSTALL_NO_STACK) continue;
      pgstall_offcpu_key k{};
      k.tgid = st->tgid;
      k.pid = static_cast<uint32_t>(pid);
      k.kstack = seeded ? PGSTALL_NO_STACK : st->off_kstack;
      k.ustack = seeded ? PGSTALL_NO_STACK : st->off_ustack;
      k.state = st->offcpu_state;
      k.sc_nr = st->sleep_sc_nr;
      k.pg = st->off_pg;
      k.seeded = seeded;
      d.offcpu.push_back({k, {now - st->offcpu_since_ns, 1}});
    }
  }
  if (!d.offcpu.empty() || !d.oncpu.empty()) {
    entries = namer_.name(d, frozen);
    for (auto& e : entries) {
      const int tgid = e["tgid"].get<int>();
      e["backend_type"] = backend_type_of(tgid, procs);
      if (e["kind"] == "offcpu" && e.value("lower_bound", false)) name_seeded(e);
    }
  }
  free_named(procs);
  return entries;
}

// Frees the stack slots named, except those a sleeping thread still refers
// to (its weight is added when it wakes).
void StackCollector::free_named(const std::map<int, ProcInfo>& procs) {
  auto named = namer_.take_named_ids();
  for (const auto& [pid, p] : procs) {
    if (auto st = tracer_.state(pid)) {
      named.erase(st->off_kstack);
      named.erase(st->off_ustack);
    }
  }
  tracer_.forget_stacks(std::move(named));
}

void StackCollector::remember_seeded(int pid, std::vector<std::string> frames, std::string cls) {
  if (!enabled()) return;
  auto st = tracer_.state(pid);
  if (!st || st->oncpu_since_ns || !(st->flags & PGSTALL_F_SEEDED_SLEEP) || frames.empty()) return;
  seeded_[pid] = {st->offcpu_since_ns, std::move(frames), std::move(cls)};
}

// A sleep older than pgstall, aggregated stackless: the stack its stall
// read, or a frame that says none was read (its time still counts).
void StackCollector::name_seeded(nlohmann::json& e) {
  const int pid = e["pid"].get<int>();
  auto it = seeded_.find(pid);
  if (it == seeded_.end()) {
    e["frames"] = {"[asleep since before pgstall started: stack not read]"};
    return;
  }
  e["frames"] = it->second.frames;
  if (!it->second.cls.empty()) e["class"] = it->second.cls;
  // Its wake ended it (or the recording did): a later seeded sleep of this
  // pid is another process's.
  seeded_.erase(it);
}

std::optional<StallStack> StackCollector::stall_stack(int pid, char state) {
  if (!enabled()) return std::nullopt;
  auto s = tracer_.state(pid);
  if (!s || s->oncpu_since_ns) return std::nullopt;  // running: no sleep stack to show
  // The user stack unwound by its CFI from the registers saved at its
  // switch-out (the frame-pointer walk loses the caller of the libc
  // function it sleeps in); the frame-pointer stack when that fails.
  std::string why;
  symbols::UserRegs regs{s->sleep_pc, s->sleep_sp, s->sleep_fp};
  if (s->off_ustack == PGSTALL_NO_STACK && s->off_kstack == PGSTALL_NO_STACK) {
    // Asleep since before pgstall: no switch-out seen. Its registers, now.
    if (auto r = tracer_.task_user_regs(pid))
      regs = {(*r)[0], (*r)[1], (*r)[2]};
    else
      why = r.error().message;
  }
  std::optional<std::vector<std::string>> frames;
  if (state == 'D') {  // its mmap lock may be held: reading its memory or maps could hang
    why = "D state: memory not read";
  } else {
    // No kernel stack taken either: the kernel's own account, now.
    auto kernel = s->off_kstack == PGSTALL_NO_STACK ? symbols::kernel_tail(model::read_proc_stack(pid))
                                                    : namer_.kernel_frames(s->off_kstack);
    auto unwound = symbols::unwind_stall_stack(pid, regs, user_, std::move(kernel));
    if (unwound)
      frames = std::move(*unwound);
    else if (why.empty() || unwound.error().message != symbols::kTooFewFrames)
      why = unwound.error().message;  // "too few frames" says less than why the registers were not read
  }
  if (auto again = tracer_.state(pid); !again || again->offcpu_since_ns != s->offcpu_since_ns) {
    frames.reset();  // it ran meanwhile: the stack read may mix two moments
    why = "it woke up while being read";
  }
  if (frames) return StallStack{std::move(*frames), "dwarf"};
  if (state == 'D') user_.begin_batch({pid});  // named from maps already kept, not read now
  StallStack out{namer_.frames(pid, s->off_kstack, s->off_ustack),
                 "frame pointers (" + (why.empty() ? std::string(symbols::kTooFewFrames) : why) + ")"};
  user_.end_batch();
  return out;
}

}  // namespace pgstall::capture
