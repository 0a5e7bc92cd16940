// lwlock-wait: asleep on an LWLock. The kernel sees a futex sleep (the
// backend's semaphore); lwlock__wait__start (USDT, when attached) says which
// tranche and mode, and the wait event names the tranche without USDT.
#include <fmt/format.h>

#include "detect/kind.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "lwlock-wait";
constexpr ThresholdSpec kAfter{"lwlock-wait", "lwlock_wait_s", Unit::Seconds, 1.0, "lwlock-wait threshold"};

std::string lwlock_mode_text(int mode) {
  // LWLockMode, src/include/storage/lwlock.h
  switch (mode) {
    case 0: return "exclusive";
    case 1: return "shared";
    case 2: return "wait until free";
  }
  return fmt::format("mode {}", mode);
}

class LwlockWait final : public StatelessJudge {
 public:
  explicit LwlockWait(const Settings& s) : after_s_(s.get(kAfter)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    const bool futex = s.in_syscall && model::syscall_class(s.sc_nr) == model::SyscallClass::Futex;
    const uint64_t since = s.pg.lwlock_since_ns ? s.pg.lwlock_since_ns : s.sc_start_ns;
    if ((!futex && !s.pg.lwlock_since_ns) || s.on_cpu || secs(since, now) < after_s_) return std::nullopt;
    Stall st = open_stall(kName, now, s, since, s.lower_bound && !s.pg.lwlock_since_ns);
    const auto we = model::wait_event_of(s);
    if (s.pg.lwlock_since_ns) {
      st.detail["lwlock"] = {{"tranche", s.pg.lwlock_tranche}, {"mode", lwlock_mode_text(s.pg.lwlock_mode)},
                             {"source", "usdt"}};
      st.summary = fmt::format("LWLock {} ({})", s.pg.lwlock_tranche, lwlock_mode_text(s.pg.lwlock_mode));
    } else if (we && we->type == "LWLock") {
      st.detail["lwlock"] = {{"tranche", we->name}, {"source", "wait_event"}};
      st.summary = fmt::format("LWLock {}", we->name);
    } else {
      st.summary = "futex sleep: an LWLock or semaphore wait";
    }
    return st;
  }

 private:
  double after_s_;
};

}  // namespace

const KindSpec& lwlock_wait_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "asleep in futex (an LWLock's semaphore); tranche and mode from USDT or the wait event",
      .thresholds = {kAfter},
      .make = [](const Settings& s) { return std::make_unique<LwlockWait>(s); },
      // Waiting for WALWrite while its holder's flushes crawl is part of a slow-I/O episode.
      .yields_to = {"io-slow"},
      .sleep_key = kAfter.key,
      .enrich = kEnrichLwlockCaller,
  };
  return k;
}

}  // namespace pgstall::detect
