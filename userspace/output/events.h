#pragma once
// Every event pgstall prints, built in one place each: its JSON object (one
// per line with --json, and into a recording) and its plain line (when not
// JSON; "" for events shown only in JSON). `view_note` is what the live
// view's notice area shows of it ("" for none).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detect/stall.h"
#include "model/blocking.h"
#include "model/events.h"
#include "model/probes.h"
#include "output/format.h"

namespace pgstall::output {

struct Out {
  nlohmann::json json;
  std::string line;
  std::string view_note;
};

// What the `start` event says about this run.
struct StartFacts {
  size_t processes = 0;
  std::vector<model::Probe> probes;
  std::vector<model::UsdtProbe> usdt;
  std::string syscalls;       // auto, always, never
  bool usdt_enabled = true;
  bool wait_events = true;
  bool queries = false;
  std::string lwlock_probes;  // auto, always, never
  nlohmann::json thresholds;  // detect::Settings::to_json()
  std::vector<std::string> warnings;
};
Out start_event(const StartFacts& f);
// Probes that did not attach, or attached and did not fire in the self-test.
std::vector<std::string> probe_warnings(const std::vector<model::Probe>& probes);

Out process_event(const model::ProcessEvent& e);
Out notice_event(const std::string& message, bool warning);
// "waiting for PostgreSQL at DIR…": no postmaster runs from a target yet, or any more.
Out waiting_event(const model::WaitingEvent& w);
Out checkpoint_event(const model::CheckpointEvent& c, const Clock& clock);
Out deadlock_event(const model::DeadlockEvent& d, const Clock& clock);
// Who blocks a lock waiter, as the server itself said (--dsn).
Out blocked_by_event(const model::BlockedBy& b);
Out stall_event(const detect::Event& e, const model::ProcessTitle& title, const Clock& clock);
// A loss counter that grew. For ring_drops, `ring` (when given) names the
// probes that lost records: "by_probe" in JSON (those that lost some), and
// in the line. Ring drops have no view note: the live view's header carries
// ring_drops_notice() instead, one line that stays.
Out drops_event(const model::Counter& c, uint64_t new_since_last, const model::RingDrops* ring = nullptr);
// The live view's notice for records lost by a full ring: "ring full: 1,234
// records lost (sched_process_fork 1,000, sched_process_exit 234) — …" with
// what those probes' loss means; "" when none was lost.
std::string ring_drops_notice(const model::RingDrops& ring);

// What the `summary` event says at the end.
struct SummaryFacts {
  uint64_t stalls = 0;
  std::vector<std::pair<int, std::string>> in_flight;  // pid, kind
  double syscall_tracing_s = 0;
  double lwlock_probes_s = 0;
  uint64_t wait_event_read_errors = 0;
  uint64_t lock_graph_errors = 0;
  uint64_t pg_wait_records = 0;
  uint64_t bad_records = 0;
  uint64_t inspections_skipped = 0;  // stalls flagged without their stacks (a storm)
  std::vector<model::Counter> counters;
  model::RingDrops ring_drops;  // read with the counters: its total is their ring_drops
};
Out summary_event(const SummaryFacts& f);

// A counter in words, plural right: "1 stack lost", "3 context switches".
std::string counter_phrase(const std::string& name, uint64_t n);
// Everything lost so far, in words (empty: nothing), for the summary and the
// live view's header.
std::vector<std::string> loss_phrases(const std::vector<model::Counter>& counters, uint64_t bad_records,
                                      uint64_t lock_graph_errors);

}  // namespace pgstall::output
