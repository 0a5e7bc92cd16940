#pragma once
// The loop `watch` and `record` run: each tick reads the kernel's state,
// judges it, enriches what is flagged and prints it — one named step each.
#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capture/session.h"
#include "capture/tracer.h"
#include "cli/commands.h"
#include "cli/recorder.h"
#include "detect/engine.h"
#include "enrich/annotate.h"
#include "enrich/inspect.h"
#include "enrich/recovery.h"
#include "enrich/sql.h"
#include "output/format.h"
#include "output/rows.h"
#include "output/sink.h"

namespace pgstall::cli {

struct LoopParts {
  capture::Tracer& tracer;
  capture::Session& session;
  Recorder& recorder;
  output::Sink& sink;
  const output::Clock& clock;
};

class WatchLoop {
 public:
  WatchLoop(const WatchOptions& o, LoopParts parts, detect::Settings settings);

  // Ticks every interval until `stop` is set, `duration_s` (> 0) has passed
  // or, with --until-stall-ends, every stall seen has ended. Returns why it
  // stopped; throws nothing. A recording that cannot be written stops it
  // too (write_failed()).
  std::string run(double interval_s, double duration_s, const volatile std::sig_atomic_t& stop);
  // The summary; the folded stacks (--folded). Returns the exit code.
  int finish(const std::string& cmd);
  bool write_failed() const { return rec_.write_failed(); }

 private:
  void tick(uint64_t now);
  void drain_capture(uint64_t now);
  bool postmaster_may_be_up(uint64_t now);
  void emit_process_events();
  void emit_notices();
  void emit_checkpoints_and_deadlocks();
  void emit_sql_results();
  void judge(uint64_t now);
  void on_stall_start(detect::Event& e, uint64_t now, const std::vector<model::Snapshot>& snaps);
  void warn_if_usdt_silent(const detect::Stall& st);
  void emit_losses(uint64_t now);
  void every_second(uint64_t now);
  void render(uint64_t now, bool redraw);
  model::ProcessTitle title_of(int pid) const;

  const WatchOptions& o_;
  capture::Tracer& tracer_;
  capture::Session& session_;
  Recorder& rec_;
  output::Sink& sink_;
  const output::Clock& clock_;
  detect::Engine engine_;
  enrich::Annotator annotator_;
  enrich::RecoveryProgress recovery_;
  output::Rates rates_;
  enrich::Inspector inspector_;
  std::unique_ptr<enrich::SqlEnricher> sql_;
  std::map<int, std::vector<int>> reported_blockers_;  // pid -> blocked_by last shown (SQL)
  std::string last_sql_error_;
  bool warned_usdt_silent_ = false;
  std::map<std::string, uint64_t> reported_loss_;  // counter -> total last shown
  uint64_t last_loss_ns_ = 0;                       // when a drops event was last emitted
  // Read once a tick, with the counters: ring records lost per probe.
  std::vector<model::Counter> counters_;
  model::RingDrops ring_drops_;
  // What the live inspection added to each stall's summary (kernel stack,
  // block layer), kept for the live view, which re-annotates the engine's words.
  std::map<std::pair<int, std::string>, std::string> inspected_;
  std::vector<model::Snapshot> last_snaps_;
  uint64_t start_ns_ = 0, last_rescan_ns_ = 0, last_second_ns_ = 0, last_render_ns_ = 0, last_wait_poll_ns_ = 0;
  uint64_t stalls_flagged_ = 0;
  // Time spent reading the live stalled processes in this tick, and the
  // stalls flagged without it (more began at once than fit the budget).
  uint64_t inspect_spent_ns_ = 0;
  uint64_t inspections_skipped_ = 0;
  std::pair<int, int> last_size_{0, 0};  // the terminal's at the last frame
};

}  // namespace pgstall::cli
