#include "cli/recorder.h"

#include <set>

#include <fmt/format.h>

namespace pgstall::cli {

Recorder::Recorder(capture::Tracer& tracer, capture::Session& session, const output::Clock& clock)
    : tracer_(tracer), session_(session), clock_(clock), stacks_(tracer) {}

void Recorder::tick(uint64_t now, const std::vector<model::Snapshot>& snaps, bool final) {
  // Processes in D state: their maps are not read (their mmap lock may be
  // held by what they are stuck in; the read would hang the recorder).
  std::set<int> frozen;
  for (const auto& s : snaps)
    if (!s.exited && s.task_state() == 'D') frozen.insert(s.pid);
  for (const auto& [pid, p] : session_.procs()) {
    if (stacks_.remember_first_time(pid, frozen)) file_.maps(now, pid, stacks_.mapped_files(pid));
    file_.process(now, p);
  }
  file_.snapshot(now, snaps, clock_);
  if (stacks_.enabled()) {
    const auto entries = stacks_.drain(session_.procs(), frozen, final);
    folded_.add(entries);
    file_.stacks(now, entries);
    // The files frames were named from, by build-id: a "postgres+0x…"
    // frame can be named later from the debug file of that build.
    if (auto ids = stacks_.build_ids(); ids.size() != build_ids_written_) {
      build_ids_written_ = ids.size();
      file_.build_ids(now, ids);
    }
  }
  model::RingDrops ring;
  auto counters = capture::named_counters(tracer_, &ring);
  file_.counters(now, counters, ring);
}

std::string Recorder::summary() const {
  std::string s = file_.summary();
  if (stacks_.enabled())
    s += fmt::format("{}{} off-CPU stacks, {} on-CPU samples", s.empty() ? "" : ", ", folded_.offcpu_entries(),
                     folded_.oncpu_samples());
  return s;
}

}  // namespace pgstall::cli
