#pragma once
// The recording's metadata (its Meta record): what was recorded, where, how.
#include <string>

#include <nlohmann/json.hpp>

#include "output/format.h"

namespace pgstall::output {

struct RecordingFacts {
  std::string pgstall_version;
  nlohmann::json thresholds;  // detect::Settings::to_json()
  bool stacks = false;
  int oncpu_hz = 0;  // 0: no on-CPU samples
  bool usdt = true;
};

// {"pgstall", "host", "kernel", "machine", "started", "realtime_minus_monotonic_ns",
//  "oncpu_hz", "stacks", "usdt", "thresholds"}; host and kernel read now.
nlohmann::json recording_meta(const RecordingFacts& f, const Clock& clock);

}  // namespace pgstall::output
