#pragma once
// The detectors, run together: in-flight snapshots of every tracked process
// go in (about every 100 ms), stall start/end events come out. Every
// registered kind judges every live process; one process can be in several
// stalls of different kinds at once. No I/O, no root: unit-tested on
// synthetic snapshot streams.
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "detect/kind.h"
#include "detect/stall.h"
#include "model/snapshot.h"

namespace pgstall::detect {

class Engine {
 public:
  explicit Engine(Settings settings = Settings::defaults());

  // All tracked processes at time now (CLOCK_MONOTONIC ns). A pid missing from
  // the list, or marked exited, has exited: its stalls end.
  std::vector<Event> update(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);

  // Stalls in flight, by pid then registry order, as of the last update.
  const std::vector<Stall>& active() const { return active_list_; }
  const Settings& settings() const { return settings_; }

 private:
  struct Slot {
    const KindSpec* spec;
    std::unique_ptr<Judge> judge;
    std::vector<size_t> yields_to;  // slots whose verdict wins over this one's
  };
  using Key = std::pair<int, size_t>;  // pid, slot

  std::map<Key, Stall> judge_all(uint64_t now, const std::vector<model::Snapshot>& snaps);
  Event end_of(const Key& key, const Stall& st, uint64_t now, const model::Snapshot* last) const;

  Settings settings_;
  std::vector<Slot> slots_;
  std::map<Key, Stall> active_;
  std::vector<Stall> active_list_;
  std::vector<int> known_pids_;  // judged at the last update: the judges hold state for them
};

}  // namespace pgstall::detect
