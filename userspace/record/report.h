#pragma once
// A recording read back: what `pgstall report` prints and what `pgstall
// flamegraph` draws. Pure code over the file's records.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flame/flame.h"
#include "record/file.h"
#include "util/result.h"

namespace pgstall::record {

// One stall with its end, for the report.
struct StallSpan {
  int pid = 0;
  std::string kind, backend_type, since, summary;
  double duration_s = 0;     // to its end, or to the end of the recording
  bool lower_bound = false;  // it began before tracing did: at least this long
  bool ended = false;
  uint64_t start_ts = 0;
  nlohmann::json woken_by;  // pid or null
  nlohmann::json detail;    // what the report shows of it: blocked_by, lock, stack, query, user, database
  // Ring records its kind depends on lost while it was in flight, probe ->
  // count (from its end, else its start); empty: its input was complete.
  nlohmann::json input_lost = nlohmann::json::object();
};

// Equal stacks summed: by kind, class, backend type and frames.
struct StackSum {
  std::string kind, cls, backend_type;
  std::vector<std::string> frames;  // root first
  uint64_t weight = 0;
  bool lower_bound = false;  // some of its weight is a sleep that began before the recording
};

// A recording summarised as it is read, record by record: memory grows with
// the processes, stalls and distinct stacks in it, never with its length
// (snapshots are counted, stacks summed as they come).
struct Recording {
  int pid = 0;  // only this process was kept (0: every one)
  nlohmann::json meta = nlohmann::json::object();
  std::map<int, nlohmann::json> processes;  // pid -> its last Process record
  std::vector<StallSpan> stalls;            // in the order they began
  std::vector<nlohmann::json> blocked_by, deadlocks;  // those events, as recorded
  std::map<std::string, StackSum> stacks;   // by kind, class, backend type, frames
  nlohmann::json counters = nlohmann::json::object();  // the last Counters record
  nlohmann::json build_ids = nlohmann::json::object();  // file path -> GNU build-id (hex)
  size_t processes_with_maps = 0;
  uint64_t snapshots = 0;
  uint64_t first_ts = 0, last_ts = 0;       // CLOCK_MONOTONIC of the recorder
  bool ended = false;                       // an End record: the recorder stopped by itself
  std::string end_reason;
  ReadStatus read;                          // how reading went: damage, a cut tail
  std::string error;                        // nothing to report: read.error, or no Meta record first
};

// Builds a Recording from records given one at a time.
class Loader {
 public:
  explicit Loader(int pid = 0);
  void add(const Record& rec);
  // Closes stalls still in flight at the last timestamp seen.
  Recording finish(const ReadStatus& read) &&;

 private:
  void event(const nlohmann::json& e);
  void stacks(const nlohmann::json& entries);
  bool involves(const nlohmann::json& e) const;
  Recording r_;
  bool first_ = true;
  std::set<int> with_maps_;
  std::map<std::pair<int, std::string>, size_t> open_;  // (pid, kind) -> index in stalls
};

// A file read through record::Reader (refused when not a regular file or
// not a recording), keeping pid's stalls, stacks and events only when pid
// is not 0.
Recording load_file(const std::string& path, int pid = 0);
// Records already in memory (tests, the fuzzer).
Recording load(const Contents& c, int pid = 0);

// Flame-graph stacks of one kind: "offcpu" (all sleeps, weight ns),
// "oncpu" (samples), "io" (off-CPU in D state or file I/O), "lock"
// (heavyweight lock and LWLock sleeps), of the process the recording was
// loaded for (every one when r.pid is 0). Each stack gets its process as
// root frame ("client backend", or "client backend 4242" with a pid). An
// unknown kind is an error.
Result<std::vector<flame::Stack>> select_stacks(const Recording& r, const std::string& kind);

nlohmann::json report_json(const Recording& r, int top);
std::string report_text(const Recording& r, int top);

// Innermost frames of a stack, leaf first, scheduler and tracing frames
// left out: "ProcSleep ← WaitOnLock ← LockAcquireExtended ← ..."
std::string short_stack(const std::vector<std::string>& frames_root_first, size_t max_frames);

}  // namespace pgstall::record
