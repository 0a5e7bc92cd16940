#pragma once
// Pure enrichment of a verdict, between detection and output: who holds the
// heavyweight lock a waiter sleeps on or is queued ahead of it (read from
// shared memory, or the sessions idle in transaction as candidates), the
// chain to the session holding everyone up (the root), what each blocker is
// doing now and for how long, and the prose that says so. Keeps clocks per
// process: since when it has been idle in transaction, in its wait event, in
// its statement; and the stalls in flight. No I/O.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detect/stall.h"
#include "model/snapshot.h"

namespace pgstall::enrich {

// What a process is doing now, in words: "blocked sending to its client",
// "idle in transaction", "running UPDATE" + " on CPU", "waiting on
// IPC:SyncRep", "itself io-wait", "itself waiting for relation 5/16384".
struct Doing {
  std::string what;             // before the duration
  std::optional<double> for_s;  // how long, when known
  std::string after;            // after the duration (" on CPU")
  std::string text() const;     // "running UPDATE 3 min on CPU"
};

// "14s", "3 min", "2.5 h".
std::string span_text(double s);

class Annotator {
 public:
  // Every snapshot batch, before annotating: idle-in-transaction, wait-event
  // and statement clocks.
  void observe(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);
  // After each engine update: the stalls in flight, so that a blocker
  // itself stalled is said to be.
  void observe_stalls(const std::vector<detect::Stall>& active);
  // Adds what the stall's kind asks for (detect::KindSpec::enrich), from the
  // processes as of the last observe(). Idempotent per stall verdict: call
  // it on a fresh verdict (the engine's), not on one annotated already.
  void annotate(detect::Stall& stall, uint64_t now_ns, const std::vector<model::Snapshot>& snaps) const;

  // Seconds pid has been idle in transaction; nullopt when it is not.
  std::optional<double> idle_in_transaction_s(int pid, uint64_t now_ns) const;
  // What o is doing now, as of the last observe() and observe_stalls().
  Doing doing(uint64_t now_ns, const model::Snapshot& o) const;

 private:
  void lock_holders(detect::Stall& stall, uint64_t now, const model::Snapshot& s,
                    const std::vector<model::Snapshot>& all) const;
  // s waits on a lock read from shared memory: its holders and the waiters
  // queued ahead of it (JSON), and the words for the summary, the root
  // first ("blocked by pid 4100 (ExclusiveLock, idle in transaction 12s);
  // chain 4102 -> 4101 -> 4100; waits for pid 4101 (...)").
  std::pair<nlohmann::json, std::string> blockers_of(uint64_t now, const model::Snapshot& s,
                                                     const std::vector<model::Snapshot>& all) const;
  // One blocker, as JSON and as words: "pid 4100 (ExclusiveLock, idle in
  // transaction 12s)", "pid 4201 (wants AccessExclusiveLock)".
  std::pair<nlohmann::json, std::string> blocker(uint64_t now, const model::LockHolder& h,
                                                 const std::map<int, const model::Snapshot*>& by_pid) const;
  // A buffer pin wait: client backends of the same database that may hold
  // the pin (an open cursor in a transaction left idle, a query running).
  void pin_holders(detect::Stall& stall, uint64_t now, const model::Snapshot& s,
                   const std::vector<model::Snapshot>& all) const;
  // Client backends idle in transaction, likeliest holders first.
  std::pair<nlohmann::json, std::string> candidates_for(uint64_t now, const model::Snapshot& s,
                                                        const std::vector<model::Snapshot>& all) const;

  // Since when a process has shown its wait event, and its statement (the
  // title's state and command).
  struct Clocks {
    uint32_t wait_event = 0;
    uint64_t wait_since = 0, wait_seen = 0;
    std::string statement;
    uint64_t statement_since = 0, seen = 0;
    uint64_t start_ticks = 0;  // whose clocks: a pid reused by another process starts afresh
  };
  void tick_clocks(uint64_t now, const model::Snapshot& s, Clocks& c);

  std::map<int, uint64_t> idle_tx_since_;
  std::map<int, Clocks> clocks_;
  std::map<int, std::pair<std::string, uint64_t>> stalled_;  // pid -> (kind, since): stalls other than lock-sleep
};

}  // namespace pgstall::enrich
