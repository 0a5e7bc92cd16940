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

#include "detect/input_loss.h"
#include "detect/kind.h"
#include "detect/stall.h"
#include "model/snapshot.h"

namespace pgstall::detect {

class Engine {
 public:
  explicit Engine(Settings settings = Settings::defaults());

  // All tracked processes at time now (CLOCK_MONOTONIC ns). A pid missing from
  // the list, or marked exited, has exited: its stalls end. So has one whose
  // start time changed (the pid names another process now): nothing of the
  // old process is carried over to the new one.
  std::vector<Event> update(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);

  // Ring records lost so far per probe (cumulative), as of now: the next
  // update says which stalls' inputs lost some (Stall::input_lost).
  void observe_drops(uint64_t now_ns, const model::RingDrops& totals) { loss_.observe(now_ns, totals); }

  // Stalls in flight, by pid then registry order, as of the last update.
  const std::vector<Stall>& active() const { return active_list_; }
  const Settings& settings() const { return settings_; }

 private:
  struct Slot {
    const KindSpec* spec;
    std::unique_ptr<Judge> judge;
    std::vector<size_t> yields_to;  // slots whose verdict wins over this one's
    std::vector<std::string_view> inputs;  // ring_inputs(*spec)
  };
  using Key = std::pair<int, size_t>;  // pid, slot

  std::map<Key, Stall> judge_all(uint64_t now, const std::vector<model::Snapshot>& snaps);
  Event end_of(const Key& key, const Stall& st, uint64_t now, const model::Snapshot* last) const;
  // Ends the stalls of a process gone (last: its exited snapshot, or nullptr
  // when its exit was not seen) and drops what the judges keep about it.
  void retire(int pid, const model::Snapshot* last, uint64_t now, std::vector<Event>& events);

  Settings settings_;
  std::vector<Slot> slots_;
  std::map<Key, Stall> active_;
  std::vector<Stall> active_list_;
  // Judged at the last update, with their start times: the judges hold state for them.
  std::map<int, uint64_t> known_;
  InputLoss loss_;
};

}  // namespace pgstall::detect
