#pragma once
// Recovery's progress, from the startup process' title ("startup
// recovering 000000010000000000000003"): which WAL segment it replays, for
// how long, and how many it replayed lately — so "recovering slowly" and
// "stuck on one segment" are told apart, in its live-view row and in any
// stall on it. Pure: titles in, words out.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "detect/stall.h"
#include "model/snapshot.h"

namespace pgstall::enrich {

struct Progress {
  std::string segment;        // the WAL segment it replays (or waits for)
  bool waiting = false;       // "waiting for <segment>": a standby waiting for WAL, not replaying
  double on_segment_s = 0;    // since pgstall saw it reach this segment
  bool since_start = false;   // it was on it already when pgstall first saw it: a lower bound
  size_t recent = 0;          // segment changes in the last kRecentS
  double span_s = 0;          // over how long that was seen (≤ kRecentS)
};

class RecoveryProgress {
 public:
  static constexpr double kRecentS = 300;

  void observe(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);
  std::optional<Progress> of(int pid, uint64_t now_ns) const;
  // "replaying 00000001000000000000003A for 12 s; 4 segments in the last 60 s"
  std::optional<std::string> describe(int pid, uint64_t now_ns) const;
  // A stall on a startup process gets detail.recovery and its words.
  void annotate(detect::Stall& stall, uint64_t now_ns) const;

 private:
  struct Seen {
    std::string segment;
    bool waiting = false;
    uint64_t since = 0, first_seen = 0;
    std::deque<uint64_t> changes;  // when it moved to a new segment
  };
  std::map<int, Seen> procs_;
};

// "recovering 00000001000000A2000000F3" -> the segment; "" if not a WAL file name.
std::string segment_of(const std::string& title_detail, bool& waiting);

}  // namespace pgstall::enrich
