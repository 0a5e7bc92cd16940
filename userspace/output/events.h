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
Out drops_event(const model::Counter& c, uint64_t new_since_last);

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
  std::vector<model::Counter> counters;
};
Out summary_event(const SummaryFacts& f);

}  // namespace pgstall::output
