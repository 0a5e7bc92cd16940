// lock-sleep: a heavyweight lock wait. Postgres says so three ways — the
// process title ends in " waiting", lock__wait__start fired (USDT), or the
// wait event is Lock:* — while the kernel sees only an epoll_wait like an
// idle client's. The epoll_wait under it is cut at deadlock_timeout, so the
// wait is timed from when Postgres said it began, not from the syscall.
#include <fmt/format.h>

#include "detect/kind.h"
#include "detect/registry.h"

namespace pgstall::detect {
namespace {

constexpr ThresholdSpec kAfter{"lock-sleep", "lock_sleep_s", Unit::Seconds, 5.0, "lock-sleep threshold"};

struct Wait {
  std::optional<uint64_t> since;
  bool lower_bound = false;
};

class LockSleep final : public PerProcessJudge<Wait> {
 public:
  explicit LockSleep(const Settings& s) : after_s_(s.get(kAfter)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    Wait& w = state(s.pid);
    const auto we = model::wait_event_of(s);
    const bool we_lock = we && we->type == "Lock";
    if (!s.title.waiting && !s.pg.lock_since_ns && !we_lock) {
      w.since.reset();
      return std::nullopt;
    }
    if (!w.since) {
      w.since = now;
      w.lower_bound = s.lower_bound;
      if (s.lower_bound && !s.on_cpu && s.offcpu_since_ns && s.offcpu_since_ns < now) w.since = s.offcpu_since_ns;
    }
    // The probe saw the wait begin: that is when it began.
    if (s.pg.lock_since_ns && s.pg.lock_since_ns < *w.since) {
      w.since = s.pg.lock_since_ns;
      w.lower_bound = false;
    }
    if (secs(*w.since, now) < after_s_) return std::nullopt;
    Stall st = open_stall(kLockSleep, now, s, *w.since, w.lower_bound);
    std::string what;
    if (s.pg.lock_since_ns) {
      st.detail["lock"] = model::lock_json(model::lock_tag_of(s.pg, s.pg_major));
      st.detail["lock"]["source"] = "usdt";
      what = st.detail["lock"]["text"].get<std::string>() + ", ";
    } else if (s.shm_lock) {
      st.detail["lock"] = model::lock_json(s.shm_lock->tag);
      st.detail["lock"]["source"] = "shared_memory";
      what = st.detail["lock"]["text"].get<std::string>() + ", ";
    } else if (we_lock) {
      st.detail["lock"] = {{"type", we->name}, {"source", "wait_event"}};
      what = we->name + " lock, ";
    }
    const std::string doing = s.title.command.empty() ? "waiting" : s.title.command + " waiting";
    // Who holds it is enrichment's to say (enrich/annotate): it appends "; blocked by …".
    st.summary = fmt::format("heavyweight lock wait ({}{})", what, doing);
    return st;
  }

 private:
  double after_s_;
};

}  // namespace

const KindSpec& lock_sleep_kind() {
  static const KindSpec k{
      .name = kLockSleep,
      .signal = "a heavyweight lock wait: title 'waiting', USDT lock__wait__start or wait event Lock:*",
      .thresholds = {kAfter},
      .make = [](const Settings& s) { return std::make_unique<LockSleep>(s); },
      .sleep_key = kAfter.key,
      .enrich = kEnrichLockHolders,
  };
  return k;
}

}  // namespace pgstall::detect
