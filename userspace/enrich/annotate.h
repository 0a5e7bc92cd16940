#pragma once
// Pure enrichment of a verdict, between detection and output: who holds the
// heavyweight lock a waiter sleeps on (read from shared memory, or the
// sessions idle in transaction as candidates), the chain to the session
// holding everyone up, and the prose that says so. Keeps one clock per
// process: since when it has been idle in transaction. No I/O.
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

class Annotator {
 public:
  // Every snapshot batch, before annotating: idle-in-transaction clocks.
  void observe(uint64_t now_ns, const std::vector<model::Snapshot>& snaps);
  // Adds what the stall's kind asks for (detect::KindSpec::enrich), from the
  // processes as of the last observe(). Idempotent per stall verdict: call
  // it on a fresh verdict (the engine's), not on one annotated already.
  void annotate(detect::Stall& stall, uint64_t now_ns, const std::vector<model::Snapshot>& snaps) const;

  // Seconds pid has been idle in transaction; nullopt when it is not.
  std::optional<double> idle_in_transaction_s(int pid, uint64_t now_ns) const;

 private:
  void lock_holders(detect::Stall& stall, uint64_t now, const model::Snapshot& s,
                    const std::vector<model::Snapshot>& all) const;
  // s waits on a lock read from shared memory: its holders (JSON) and the
  // words for the summary ("blocked by pid 4100 (ExclusiveLock, idle in
  // transaction 12s); chain 4102 -> 4101 -> 4100").
  std::pair<nlohmann::json, std::string> blockers_of(uint64_t now, const model::Snapshot& s,
                                                     const std::vector<model::Snapshot>& all) const;
  // A buffer pin wait: client backends of the same database that may hold
  // the pin (an open cursor in a transaction left idle, a query running).
  void pin_holders(detect::Stall& stall, uint64_t now, const model::Snapshot& s,
                   const std::vector<model::Snapshot>& all) const;
  // Client backends idle in transaction, likeliest holders first.
  std::pair<nlohmann::json, std::string> candidates_for(uint64_t now, const model::Snapshot& s,
                                                        const std::vector<model::Snapshot>& all) const;

  std::map<int, uint64_t> idle_tx_since_;
};

}  // namespace pgstall::enrich
