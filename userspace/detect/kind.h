#pragma once
// What a detector kind is: its name, its thresholds (flag, key, default,
// unit, help), its judge and what enrichment its stalls want. Each kind is
// one file under detect/kinds/ defining one KindSpec; detect/registry.cpp
// lists them. Flags, --help, the `start` line's thresholds and the
// recording's metadata are generated from these specs.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detect/stall.h"
#include "model/snapshot.h"
#include "util/result.h"

namespace pgstall::detect {

enum class Unit {
  Seconds,    // given as a duration: 5s, 500ms, 2m
  PerSecond,  // a rate: 5000
  Share,      // a fraction of 1: 0.8
};

// One tunable of a kind.
struct ThresholdSpec {
  std::string_view flag;  // "lock-sleep": set with --lock-sleep
  std::string_view key;   // "lock_sleep_s": its name in JSON and configuration
  Unit unit;
  double default_value;
  std::string_view help;
};

// Every threshold's value, by key; a key never set reads as its default.
class Settings {
 public:
  // Every registered threshold at its default.
  static Settings defaults();
  double get(const ThresholdSpec& t) const;
  // Sets a registered threshold by key; refuses an unknown key and a value
  // its unit does not allow: not finite, 0 or below, a share above 1, a
  // duration over a week, a rate over a billion a second.
  Result<void> set(std::string_view key, double value);
  // The same from text in the threshold's unit: "5s", "500ms" for seconds,
  // a plain number for rates and shares.
  Result<void> set_text(std::string_view key, std::string_view text);
  // {"lock_sleep_s": 5, ...}, every registered threshold, registry order.
  nlohmann::json to_json() const;
  // The shortest wait a sleeping kind flags (seconds): off-CPU periods this
  // long are kept with their waker, so each such stall's end is explained.
  double shortest_sleep_s() const;

 private:
  std::map<std::string, double, std::less<>> values_;
};

// Enrichment a kind's stalls ask for (enrich/ does it; a kind only asks).
enum EnrichFlags : uint32_t {
  kEnrichLockHolders = 1u << 0,  // a heavyweight lock wait: holders, chain, candidates, --dsn's SQL look
  kEnrichLwlockCaller = 1u << 1, // the caller that wanted the LWLock (user stack at lwlock__wait__start)
  kEnrichIo = 1u << 2,           // the file, where in the kernel it sleeps, the block layer's view
  kEnrichPinHolders = 1u << 3,   // a buffer pin wait: sessions that may hold the pin
};

// One kind's judgement, process by process. Pure: no I/O.
class Judge {
 public:
  virtual ~Judge() = default;
  // Once per snapshot batch, before judge() is called for each process: for
  // kinds whose verdict on one process depends on others (a parallel
  // leader's wait is healthy while its workers run).
  virtual void begin_tick(uint64_t /*now_ns*/, const std::vector<model::Snapshot>& /*all*/) {}
  // s as of now: a stall of this kind in flight, or none. Called once per
  // snapshot of every live process, in time order.
  virtual std::optional<Stall> judge(uint64_t now_ns, const model::Snapshot& s) = 0;
  // The process is gone: drop what was kept about it.
  virtual void forget(int pid) = 0;
};

// A judge that keeps a State per process.
template <typename State>
class PerProcessJudge : public Judge {
 public:
  void forget(int pid) final { states_.erase(pid); }

 protected:
  State& state(int pid) { return states_[pid]; }

 private:
  std::map<int, State> states_;
};

// A judge that keeps nothing between snapshots.
class StatelessJudge : public Judge {
 public:
  void forget(int) final {}
};

struct KindSpec {
  std::string_view name;    // "lock-sleep"
  std::string_view signal;  // what it watches, one line (--help)
  std::vector<ThresholdSpec> thresholds;
  std::function<std::unique_ptr<Judge>(const Settings&)> make;
  // Kinds that win when both flag the same process at the same time (this
  // kind's verdict is dropped then): one cause, one stall.
  std::vector<std::string_view> yields_to;
  // Its stalls end with a wake-up whose waker is the cause (false: a timer
  // ends them, the waker says nothing).
  bool ended_by_waker = true;
  // The threshold (key) of the one wait it flags, for kinds whose stall is
  // a single sleep; "" for the others.
  std::string_view sleep_key;
  uint32_t enrich = 0;  // EnrichFlags
  // Ring records its verdicts use beyond those every kind needs (see
  // ring_inputs()), by the probe that writes them (model::ring_probe).
  std::vector<std::string_view> ring_inputs;
};

// The ring records a kind's stalls depend on: new processes, exits and
// execs (the set of processes judged, seen late when lost), the end of a
// long sleep with its waker for kinds ended by a waker, and the kind's own
// ring_inputs. Their loss while a stall is in flight makes its input
// incomplete (Stall::input_lost).
std::vector<std::string_view> ring_inputs(const KindSpec& k);

// A threshold's default as it is typed: "5s", "500ms", "5000", "0.8".
std::string default_text(const ThresholdSpec& t);

// Seconds from a to b (0 when b is not after a).
double secs(uint64_t a, uint64_t b);
// 18400 -> "18,400"
std::string thousands(double v);
// A stall of that kind for s, with what every stall carries (title, user,
// database, command, wait event, how long in its syscall, the statement).
Stall open_stall(std::string_view kind, uint64_t now_ns, const model::Snapshot& s, uint64_t since_ns,
                 bool lower_bound);

}  // namespace pgstall::detect
