#include "cli/recorder.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "flame/flame.h"
#include "model/procfs.h"
#include "model/syscalls.h"
#include "symbols/stall_stack.h"

namespace pgstall::cli {

Recorder::Recorder(capture::Tracer& tracer, capture::Session& session, const output::Clock& clock)
    : tracer_(tracer), session_(session), clock_(clock), namer_(tracer, user_syms_, kernel_syms_) {
  if (tracer_.stacks_enabled()) kernel_syms_.load();
}

bool Recorder::open(const std::string& path, const nlohmann::json& meta, std::string& err) {
  if (path.empty()) return true;
  writer_ = std::make_unique<record::Writer>();
  if (!writer_->open(path, meta, err)) {
    writer_.reset();
    return false;
  }
  return true;
}

void Recorder::write(record::Type t, const nlohmann::json& body) {
  if (!writer_ || !write_error_.empty()) return;
  if (!writer_->write(t, body)) write_error_ = writer_->error();
}

void Recorder::note_process(int pid, const std::string& backend_type) {
  if (!backend_type.empty()) types_[pid] = backend_type;
  // Its maps now: a short session may be gone when its stacks are named.
  if (tracer_.stacks_enabled()) user_syms_.remember(pid);
}

void Recorder::event(const nlohmann::json& j) {
  if (!writer_) return;
  nlohmann::json e = j;
  e["ts"] = capture::monotonic_ns();  // CLOCK_MONOTONIC; the Meta record converts
  write(record::Type::Event, e);
}

std::string Recorder::root_of(int tgid) const {
  if (auto it = session_.procs().find(tgid); it != session_.procs().end())
    return std::string(model::backend_type_name(it->second.title.type));
  if (auto it = types_.find(tgid); it != types_.end()) return it->second;  // exited since
  return "";
}

void Recorder::add_stall_stack(detect::Stall& st) {
  if (!tracer_.stacks_enabled()) return;
  auto s = tracer_.state(st.pid);
  if (!s || s->oncpu_since_ns) return;  // running: no sleep stack to show
  if (st.detail.value("stack_unwind", "") == "dwarf") return;  // watch's enrich unwound it already
  // The user stack unwound by its CFI from the registers saved at its
  // switch-out (the frame-pointer walk loses the caller of the libc
  // function it sleeps in); the frame-pointer stack when that fails.
  std::string why;
  symbols::UserRegs regs{s->sleep_pc, s->sleep_sp, s->sleep_fp};
  if (s->off_ustack == PGSTALL_NO_STACK && s->off_kstack == PGSTALL_NO_STACK) {
    // Asleep since before pgstall: no switch-out seen. Its registers, now.
    if (auto r = tracer_.task_user_regs(st.pid, why)) regs = {(*r)[0], (*r)[1], (*r)[2]};
  }
  std::optional<std::vector<std::string>> frames;
  if (st.state == 'D') {  // its mmap lock may be held: reading its memory or maps could hang
    why = "D state: memory not read";
  } else {
    // No kernel stack taken either: the kernel's own account, now.
    auto kernel = s->off_kstack == PGSTALL_NO_STACK ? symbols::kernel_tail(model::read_proc_stack(st.pid))
                                                    : namer_.kernel_frames(s->off_kstack);
    auto unwound = symbols::unwind_stall_stack(st.pid, regs, user_syms_, std::move(kernel));
    if (unwound)
      frames = std::move(*unwound);
    else if (why.empty() || unwound.error().message != symbols::kTooFewFrames)
      why = unwound.error().message;  // "too few frames" says less than why the registers were not read
  }
  if (auto again = tracer_.state(st.pid); !again || again->offcpu_since_ns != s->offcpu_since_ns) {
    frames.reset();  // it ran meanwhile: the stack read may mix two moments
    why = "it woke up while being read";
  }
  if (frames) {
    st.detail["stack"] = *frames;  // root first
    st.detail["stack_unwind"] = "dwarf";
  } else {
    if (st.state == 'D') user_syms_.begin_batch({st.pid});  // named from maps already kept, not read now
    st.detail["stack"] = namer_.frames(st.pid, s->off_kstack, s->off_ustack);
    user_syms_.end_batch();
    st.detail["stack_unwind"] = "frame pointers (" + (why.empty() ? std::string("too few frames") : why) + ")";
  }
}

void Recorder::tick(uint64_t now, const std::vector<detect::Snapshot>& snaps, bool final) {
  // Processes: each new pid, and each whose title changed (a backend's
  // title carries user, database and command).
  // Processes in D state: their maps are not read (their mmap lock may be
  // held by what they are stuck in; the read would hang the recorder).
  std::set<int> frozen;
  for (const auto& s : snaps)
    if (!s.exited && !s.on_cpu && s.offcpu_state == 'D') frozen.insert(s.pid);
  for (const auto& [pid, p] : session_.procs()) {
    types_[pid] = std::string(model::backend_type_name(p.title.type));
    if (tracer_.stacks_enabled() && !frozen.count(pid) && user_syms_.remember(pid) &&
        maps_written_.insert(pid).second) {
      // The symbol context: where each file was mapped in this process.
      nlohmann::json maps = nlohmann::json::array();
      for (const auto& m : user_syms_.mapped_files(pid))
        maps.push_back({{"start", m.start}, {"end", m.end}, {"offset", m.offset}, {"path", m.path}});
      write(record::Type::Symbols, {{"ts", now}, {"pid", pid}, {"maps", maps}});
    }
    auto& last = titles_written_[pid];
    if (last == p.title.raw) continue;
    last = p.title.raw;
    write(record::Type::Process, {{"ts", now},
                                  {"pid", pid},
                                  {"postmaster", p.postmaster},
                                  {"backend_type", model::backend_type_name(p.title.type)},
                                  {"title", p.title.raw},
                                  {"data_dir", p.data_dir},
                                  {"pg_major", p.pg_major}});
  }
  nlohmann::json procs = nlohmann::json::array();
  for (const auto& s : snaps) {
    if (s.exited) continue;
    nlohmann::json j = {{"pid", s.pid}, {"state", std::string(1, s.on_cpu ? 'R' : s.offcpu_state)},
                        {"cpu_ns", s.cpu_ns}};
    if (s.in_syscall) {
      j["syscall"] = model::syscall_name(s.sc_nr);
      j["syscall_s"] = std::round((now - std::min(now, s.sc_start_ns)) / 1e6) / 1e3;
    }
    if (auto we = detect::wait_event_of(s)) j["wait_event"] = we->text();
    procs.push_back(std::move(j));
  }
  write(record::Type::Snapshot, {{"ts", now}, {"at", clock_.rfc3339(now)}, {"processes", procs}});

  if (tracer_.stacks_enabled()) {
    capture::StackDrain d;
    tracer_.drain_stacks(d, final);
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
        if (root_of(pid).empty()) types_[pid] = "short-lived process";
        return false;
      };
      std::erase_if(d.offcpu, [&](const auto& x) { return ours(x.first.tgid); });
      std::erase_if(d.oncpu, [&](const auto& x) { return ours(x.first.tgid); });
      auto entries = namer_.name(d, frozen);
      for (auto& e : entries) {
        const int tgid = e["tgid"].get<int>();
        e["backend_type"] = root_of(tgid);
        std::string line = e["backend_type"].get<std::string>();
        for (const auto& f : e["frames"]) line += ";" + flame::fold_name(f.get<std::string>());
        if (e["kind"] == "offcpu") {
          ++offcpu_entries_;
          folded_off_[line] += e["weight"].get<uint64_t>() / 1000;  // µs
        } else {
          oncpu_samples_ += e["weight"].get<uint64_t>();
          folded_on_[line] += e["weight"].get<uint64_t>();
        }
      }
      write(record::Type::Stacks, {{"ts", now}, {"entries", entries}});
    }
    // Free the stack slots named, except those a sleeping thread still
    // refers to (its weight is added when it wakes).
    auto named = namer_.take_named_ids();
    for (const auto& [pid, p] : session_.procs()) {
      if (auto st = tracer_.state(pid)) {
        named.erase(st->off_kstack);
        named.erase(st->off_ustack);
      }
    }
    tracer_.forget_stacks(std::move(named));
    // The files frames were named from, by build-id: a "postgres+0x…"
    // frame can be named later from the debug file of that build.
    if (auto ids = user_syms_.build_ids(); ids.size() != build_ids_written_) {
      build_ids_written_ = ids.size();
      write(record::Type::Symbols, {{"ts", now}, {"build_ids", ids}});
    }
  }

  auto c = tracer_.counters();
  nlohmann::json cj, lost = nlohmann::json::object();
  for (int i = 0; i < PGSTALL_CNT__MAX; ++i) {
    cj[capture::counter_name(i)] = c[i];
    if (capture::counter_is_loss(i) && c[i]) lost[capture::counter_name(i)] = c[i];
  }
  write(record::Type::Counters, {{"ts", now}, {"counters", cj}, {"lost", lost}});
}

bool Recorder::write_folded(const std::string& path, std::string& err) const {
  auto put = [&](const std::string& p, const std::map<std::string, uint64_t>& m) {
    std::ofstream f(p);
    for (const auto& [line, w] : m)
      if (w) f << line << ' ' << w << '\n';
    f.close();
    if (!f) {
      err = fmt::format("cannot write {}", p);
      return false;
    }
    return true;
  };
  if (!put(path, folded_off_)) return false;
  if (!folded_on_.empty() && !put(path + ".oncpu", folded_on_)) return false;
  return true;
}

bool Recorder::close(const std::string& reason, std::string& err) {
  if (!writer_) return true;
  if (!write_error_.empty()) {
    err = write_error_;
    return false;
  }
  if (!writer_->close({{"reason", reason}, {"records", writer_->records() + 1}})) {
    err = writer_->error();
    return false;
  }
  return true;
}

std::string Recorder::summary() const {
  std::string s;
  if (writer_)
    s = fmt::format("{} records, {:.1f} MiB", writer_->records(), static_cast<double>(writer_->bytes()) / (1 << 20));
  if (tracer_.stacks_enabled())
    s += fmt::format("{}{} off-CPU stacks, {} on-CPU samples", s.empty() ? "" : ", ", offcpu_entries_, oncpu_samples_);
  return s;
}

}  // namespace pgstall::cli
