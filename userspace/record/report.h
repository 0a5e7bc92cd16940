#pragma once
// A recording read back: what `pgstall report` prints and what `pgstall
// flamegraph` draws. Pure code over the file's records.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flame/flame.h"
#include "record/file.h"
#include "util/result.h"

namespace pgstall::record {

struct Recording {
  nlohmann::json meta = nlohmann::json::object();
  std::map<int, nlohmann::json> processes;  // pid -> its last Process record
  std::vector<nlohmann::json> events;       // Event bodies, in order
  std::vector<nlohmann::json> stacks;       // every Stacks entry, flattened
  nlohmann::json counters = nlohmann::json::object();  // the last Counters record
  nlohmann::json build_ids = nlohmann::json::object();  // file path -> GNU build-id (hex)
  std::map<int, nlohmann::json> maps;       // pid -> its file mappings [{start, end, offset, path}]
  uint64_t snapshots = 0;
  uint64_t first_ts = 0, last_ts = 0;       // CLOCK_MONOTONIC of the recorder
  bool ended = false;                       // an End record: the recorder stopped by itself
  std::string end_reason;
  bool truncated = false;
  std::string error;                        // damage found while reading (what came before is here)
  uint64_t unknown_types = 0;
};

// From the file's records. No Meta record first is an error (in .error).
Recording load(const Contents& c);

// Flame-graph stacks of one kind: "offcpu" (all sleeps, weight ns),
// "oncpu" (samples), "io" (off-CPU in D state or file I/O), "lock"
// (heavyweight lock and LWLock sleeps). pid 0: every process. Each stack
// gets its process as root frame ("client backend", or "client backend 4242"
// with a pid). An unknown kind is an error.
Result<std::vector<flame::Stack>> select_stacks(const Recording& r, const std::string& kind, int pid);

// One stall with its end, for the report.
struct StallSpan {
  int pid = 0;
  std::string kind, backend_type, since, summary;
  double duration_s = 0;  // to its end, or to the end of the recording
  bool ended = false;
  nlohmann::json woken_by;  // pid or null
  nlohmann::json detail;
};
std::vector<StallSpan> stall_spans(const Recording& r);

nlohmann::json report_json(const Recording& r, int top);
std::string report_text(const Recording& r, int top);

// Innermost frames of a stack, leaf first, scheduler and tracing frames
// left out: "ProcSleep ← WaitOnLock ← LockAcquireExtended ← ..."
std::string short_stack(const std::vector<std::string>& frames_root_first, size_t max_frames);

}  // namespace pgstall::record
