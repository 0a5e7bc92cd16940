#pragma once
// A checkpoint as PostgreSQL's probes report it: the flags it was started
// with and the phases CreateCheckPoint goes through.
#include <cstdint>
#include <optional>
#include <string>

namespace pgstall::model {

// CHECKPOINT_* flags (src/include/access/xlog.h, the same in 13-17), in
// the words of the server log's "checkpoint starting:" line: "immediate
// force wait", "time", "wal", "shutdown"; unknown bits as "0x…".
std::string checkpoint_flags_text(uint32_t flags);

// One checkpoint's timeline, CLOCK_MONOTONIC ns; 0 = not seen.
struct CheckpointTimes {
  uint64_t start_ns = 0;         // checkpoint__start
  uint64_t write_ns = 0;         // buffer__checkpoint__start: delays and SLRUs done, buffers next
  uint64_t sync_ns = 0;          // buffer__checkpoint__sync__start: buffers written
  uint64_t buffers_done_ns = 0;  // buffer__checkpoint__done: files fsync'ed
  uint64_t done_ns = 0;          // checkpoint__done
};

// The phase of a checkpoint in progress: "starting" (waiting for commits in
// their critical section, flushing SLRUs), "writing buffers", "syncing
// files", "finishing" (WAL record, truncation); "done"; nullopt before its
// start was seen.
std::optional<std::string> checkpoint_phase(const CheckpointTimes& t);

// "3.3s: start 0.1s, write 2.8s, sync 0.3s, rest 0.1s", from whatever was seen.
std::string checkpoint_durations(const CheckpointTimes& t);

}  // namespace pgstall::model
