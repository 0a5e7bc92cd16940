#include "cli/watch_loop.h"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "detect/registry.h"
#include "output/events.h"
#include "output/terminal.h"
#include "output/view.h"

namespace pgstall::cli {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
// How often to look for a postmaster while waiting for one.
constexpr uint64_t kWaitPollNs = 200'000'000ull;
// What reading the stalls flagged in one tick may take (one inspection:
// 2-50 ms here, 160 ms the first, which loads the symbols).
constexpr uint64_t kInspectBudgetNs = 250'000'000ull;

}  // namespace

WatchLoop::WatchLoop(const WatchOptions& o, LoopParts parts, detect::Settings settings)
    : o_(o),
      tracer_(parts.tracer),
      session_(parts.session),
      rec_(parts.recorder),
      sink_(parts.sink),
      clock_(parts.clock),
      engine_(std::move(settings)),
      inspector_(parts.session, parts.recorder.stacks()) {
  if (!o.dsn.empty()) sql_ = std::make_unique<enrich::SqlEnricher>(o.dsn);
}

std::string WatchLoop::run(double interval_s, double duration_s, const volatile std::sig_atomic_t& stop) {
  start_ns_ = last_rescan_ns_ = last_second_ns_ = capture::monotonic_ns();
  const uint64_t tick_ns = static_cast<uint64_t>(interval_s * 1e9);
  while (!stop) {
    const uint64_t now = capture::monotonic_ns();
    if (duration_s > 0 && now - start_ns_ >= static_cast<uint64_t>(duration_s * 1e9)) return "duration";
    tick(now);
    if (rec_.write_failed()) return "write failed";
    if (o_.until_stall_ends && stalls_flagged_ && engine_.active().empty()) return "every stall ended";
    const uint64_t spent = capture::monotonic_ns() - now;
    if (spent < tick_ns) std::this_thread::sleep_for(std::chrono::nanoseconds(tick_ns - spent));
  }
  return "interrupted";
}

void WatchLoop::tick(uint64_t now) {
  drain_capture(now);
  emit_process_events();
  emit_notices();
  emit_checkpoints_and_deadlocks();
  emit_sql_results();
  now = capture::monotonic_ns();
  judge(now);
  emit_losses(now);
  if (now - last_second_ns_ >= kSecond) every_second(now);
  if (sink_.mode() != output::Mode::Live) return;
  // A resized window is drawn again at once, not at the next half second.
  const bool redraw = output::Terminal::take_redraw();
  if (redraw || now - last_render_ns_ >= kSecond / 2) render(now, redraw);
}

void WatchLoop::drain_capture(uint64_t now) {
  session_.poll_ring();
  session_.maybe_next_window(now);
  if (now - last_rescan_ns_ >= kSecond || postmaster_may_be_up(now)) {
    session_.rescan();
    last_rescan_ns_ = now;
  } else {
    session_.refresh_titles();
  }
}

// While waiting for a postmaster, a look every 200 ms: cheap with a target
// (its postmaster.pid), a /proc scan without one.
bool WatchLoop::postmaster_may_be_up(uint64_t now) {
  if (!session_.waiting() || now - last_wait_poll_ns_ < kWaitPollNs) return false;
  last_wait_poll_ns_ = now;
  return session_.postmaster_may_be_up();
}

void WatchLoop::emit_process_events() {
  for (const auto& pe : session_.take_process_events()) {
    if (pe.what == "backend_start") rec_.note_process(pe.pid, pe.backend_type);
    sink_.emit(output::process_event(pe));
  }
  for (const auto& w : session_.take_waiting()) sink_.emit(output::waiting_event(w));
}

void WatchLoop::emit_notices() {
  for (const auto& n : session_.take_notices()) sink_.emit(output::notice_event(n, false));
}

void WatchLoop::emit_checkpoints_and_deadlocks() {
  for (const auto& c : session_.take_checkpoints()) sink_.emit(output::checkpoint_event(c, clock_));
  for (const auto& d : session_.take_deadlocks()) sink_.emit(output::deadlock_event(d, clock_));
}

void WatchLoop::emit_sql_results() {
  if (!sql_) return;
  for (const auto& r : sql_->take()) {
    if (!r.ok) {
      if (r.error != last_sql_error_) sink_.emit(output::notice_event(r.error, true));
      last_sql_error_ = r.error;
      continue;
    }
    last_sql_error_.clear();
    for (const auto& b : r.waits) {
      if (!session_.procs().count(b.pid)) continue;  // another cluster's backend
      auto& last = reported_blockers_[b.pid];
      if (last == b.blocked_by) continue;
      last = b.blocked_by;
      sink_.emit(output::blocked_by_event(b));
    }
  }
}

void WatchLoop::judge(uint64_t now) {
  inspect_spent_ns_ = 0;
  counters_ = capture::named_counters(tracer_, &ring_drops_);
  engine_.observe_drops(now, ring_drops_);
  auto snaps = session_.snapshot(now);
  session_.steer_syscall_tracing(now, snaps);
  session_.steer_lwlock_probes(now, snaps);
  annotator_.observe(now, snaps);
  recovery_.observe(now, snaps);
  auto events = engine_.update(now, snaps);
  annotator_.observe_stalls(engine_.active());
  // A process that exited is named by its own last title: its pid may name
  // another process already.
  std::map<int, const model::ProcessTitle*> last_titles;
  for (const auto& s : snaps)
    if (s.exited) last_titles[s.pid] = &s.title;
  for (auto& e : events) {
    const auto key = std::make_pair(e.stall.pid, e.stall.kind);
    if (e.type == detect::Event::Type::Start)
      on_stall_start(e, now, snaps);
    else
      inspected_.erase(key);
    auto last = last_titles.find(e.stall.pid);
    const bool gone = e.type == detect::Event::Type::End && e.exited && last != last_titles.end();
    sink_.emit(output::stall_event(e, gone ? *last->second : title_of(e.stall.pid), clock_));
  }
  last_snaps_ = std::move(snaps);
}

void WatchLoop::on_stall_start(detect::Event& e, uint64_t now, const std::vector<model::Snapshot>& snaps) {
  warn_if_usdt_silent(e.stall);
  if (sql_ && detect::wants(e.stall.kind, detect::kEnrichLockHolders)) sql_->request();
  annotator_.annotate(e.stall, now, snaps);
  recovery_.annotate(e.stall, now);
  const size_t annotated = e.stall.summary.size();
  // A storm starts many stalls in one tick: a hundred backends exiting at
  // once, each waiting for ProcArrayLock. Reading and unwinding each one
  // took 5.6 s here, and every other line waited for it. The first ones of
  // a tick are read; the others say they were not.
  if (inspect_spent_ns_ < kInspectBudgetNs) {
    const uint64_t t0 = capture::monotonic_ns();
    inspector_.inspect(e.stall);
    inspect_spent_ns_ += capture::monotonic_ns() - t0;
  } else {
    ++inspections_skipped_;
    e.stall.detail["inspection"] =
        "skipped: more stalls began at once than could be read in time (stacks of the first ones only)";
  }
  inspected_[{e.stall.pid, e.stall.kind}] = e.stall.summary.substr(annotated);
  ++stalls_flagged_;
}

// A probe that should have fired and did not: say so, once.
void WatchLoop::warn_if_usdt_silent(const detect::Stall& st) {
  if (st.kind != detect::kLockSleep || st.lower_bound || warned_usdt_silent_) return;
  // Attached per postmaster, so possibly after the start (a server waited for).
  bool attached = false;
  for (const auto& u : tracer_.usdt_probes()) attached |= u.attached && u.name == "lock__wait__start";
  if (!attached) return;
  if (st.detail.value(nlohmann::json::json_pointer("/lock/source"), std::string()) == "usdt") return;
  warned_usdt_silent_ = true;
  sink_.emit(output::notice_event(
      fmt::format("USDT lock__wait__start is attached but did not fire for the lock wait of pid {}: lock tags come "
                  "from the wait event only",
                  st.pid),
      true));
}

// At most once a second: a full ring loses records at every tick, and a
// line per tick would bury everything else. The summary has the last count.
void WatchLoop::emit_losses(uint64_t now) {
  if (now - last_loss_ns_ < kSecond) return;
  for (const auto& c : counters_) {
    auto& reported = reported_loss_[c.name];
    if (!c.loss || c.value == reported) continue;
    const bool ring = c.name == capture::counter_name(PGSTALL_CNT_RING_DROPS);
    sink_.emit(output::drops_event(c, c.value - reported, ring ? &ring_drops_ : nullptr));
    reported = c.value;
    last_loss_ns_ = now;
  }
}

void WatchLoop::every_second(uint64_t now) {
  if (o_.record || !o_.folded.empty()) rec_.tick(now, last_snaps_);
  rates_.update(now, last_snaps_);
  last_second_ns_ = now;
}

void WatchLoop::render(uint64_t now, bool redraw) {
  last_render_ns_ = now;
  std::vector<std::string> lines;
  std::set<int> stalled;
  for (const auto& st : engine_.active()) {
    stalled.insert(st.pid);
    detect::Event e{detect::Event::Type::Start, st, (now - st.since_ns) / 1e9, 0};
    annotator_.annotate(e.stall, now, last_snaps_);
    recovery_.annotate(e.stall, now);
    if (auto it = inspected_.find({st.pid, st.kind}); it != inspected_.end()) e.stall.summary += it->second;
    lines.push_back(output::event_line(e, title_of(st.pid), clock_));
  }
  auto rows = output::view_rows(
      now, last_snaps_,
      [this](int pid) -> const model::Process* {
        auto it = session_.procs().find(pid);
        return it == session_.procs().end() ? nullptr : &it->second;
      },
      rates_, stalled);
  for (auto& r : rows)
    if (auto p = recovery_.describe(r.pid, now)) r.title += " — " + *p;
  output::ViewHeader h;
  h.clock = clock_.hms(now);
  h.elapsed_s = (now - start_ns_) / 1e9;
  h.processes = rows.size();
  h.syscall_tracing = tracer_.syscall_tracing();
  // Lost ring records stay on top for the whole run, with the probes.
  const std::string lost = output::ring_drops_notice(ring_drops_);
  h.notices = sink_.recent_notes(lost.empty() ? 5 : 4);
  if (!lost.empty()) h.notices.insert(h.notices.begin(), lost);
  h.losses = output::loss_phrases(capture::named_counters(tracer_), session_.ring_counts().bad_records,
                                  session_.read_errors().lock_graph);
  const auto size = output::terminal_size();
  // Frames overwrite each other (no flicker); only a new size, or a screen
  // to draw anew (back from Ctrl-Z), clears it first: the terminal may
  // have reflowed the old frame.
  const bool clear = redraw || (last_size_.first > 0 && size != last_size_);
  last_size_ = size;
  std::cout << (clear ? "\x1b[2J" : "") << output::render_view(h, lines, rows, size.first, size.second)
            << std::flush;
}

model::ProcessTitle WatchLoop::title_of(int pid) const {
  auto it = session_.procs().find(pid);
  return it == session_.procs().end() ? model::ProcessTitle{} : it->second.title;
}

int WatchLoop::finish(const std::string& cmd) {
  const uint64_t now = capture::monotonic_ns();
  if (o_.record || !o_.folded.empty()) rec_.tick(now, last_snaps_, true);
  output::SummaryFacts f;
  f.stalls = stalls_flagged_;
  for (const auto& st : engine_.active()) f.in_flight.emplace_back(st.pid, st.kind);
  f.syscall_tracing_s = session_.syscall_tracing_s(now);
  f.lwlock_probes_s = session_.lwlock_probes_s(now);
  f.wait_event_read_errors = session_.read_errors().wait_events;
  f.lock_graph_errors = session_.read_errors().lock_graph;
  f.pg_wait_records = session_.ring_counts().pg_wait_records;
  f.bad_records = session_.ring_counts().bad_records;
  f.inspections_skipped = inspections_skipped_;
  f.counters = capture::named_counters(tracer_, &f.ring_drops);
  const auto summary = output::summary_event(f);
  if (sink_.mode() == output::Mode::Json)
    sink_.emit(summary);
  else
    sink_.print(summary.line);
  if (o_.folded.empty()) return 0;
  if (auto folded = rec_.write_folded(); !folded) {
    std::cerr << cmd << ": " << folded.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace pgstall::cli
