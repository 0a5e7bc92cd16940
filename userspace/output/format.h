#pragma once
// Stall events as operators read them: one plain line, or one JSON object per
// line for machines.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "detect/stall.h"
#include "model/title.h"

namespace pgstall::output {

// Converts CLOCK_MONOTONIC nanoseconds to wall-clock RFC 3339 (UTC, ms).
class Clock {
 public:
  Clock();  // samples the offset between the two clocks now
  Clock(int64_t realtime_minus_monotonic_ns) : offset_ns_(realtime_minus_monotonic_ns) {}
  std::string rfc3339(uint64_t monotonic_ns) const;
  std::string hms(uint64_t monotonic_ns) const;  // "02:47:13", for humans
  int64_t offset_ns() const { return offset_ns_; }

 private:
  int64_t offset_ns_;
};

// "client backend app@shop UPDATE waiting", "startup (recovering 0000...)", "checkpointer"
std::string describe_process(const model::ProcessTitle& t);

// STALL lock-sleep 312.4s pid 4242 client backend app@shop UPDATE waiting — <summary>
// END   lock-sleep pid 4242 after 320.1s (woken by pid 4100)
std::string event_line(const detect::Event& e, const model::ProcessTitle& t, const Clock& clock);

// A stall whose input lost ring records (Stall::input_lost): " (input
// incomplete: 1,234 ring records lost: sched_process_fork 1,000,
// sched_process_exit 234)"; "" when its input was complete.
std::string input_loss_text(const std::map<std::string, uint64_t>& lost);

// {"type":"stall",...} / {"type":"stall_end",...}; with "input_incomplete"
// (the probes, sorted) and "input_lost" (probe -> records) when its input
// lost records, absent when complete.
nlohmann::json event_json(const detect::Event& e, const model::ProcessTitle& t, const Clock& clock);

}  // namespace pgstall::output
