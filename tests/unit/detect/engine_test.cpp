// The engine over every registered kind: the never-a-stall cases, exits,
// thresholds as settings.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "detect/fixtures.h"
#include "detect/registry.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

TEST(NeverAStall, IdleClientPgSleepAndNaps) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 60 * kSec, [&](uint64_t) {
    model::Snapshot idle = sleeping_in(1, "epoll_wait", kT0 - 3600 * kSec);
    model::Snapshot tx = sleeping_in(2, "epoll_wait", kT0 - 600 * kSec);
    tx.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    model::Snapshot sleep = sleeping_in(3, "epoll_wait", kT0);  // pg_sleep waits on its latch
    sleep.title = client("SELECT", model::ClientState::Active);
    model::Snapshot nap = sleeping_in(4, "clock_nanosleep", kT0 - 100 * kSec);
    nap.title.type = model::BackendType::WalWriter;
    model::Snapshot ckpt = sleeping_in(5, "epoll_wait", kT0 - 200 * kSec);
    ckpt.title.type = model::BackendType::Checkpointer;
    return std::vector<model::Snapshot>{idle, tx, sleep, nap, ckpt};
  });
  EXPECT_TRUE(ev.empty()) << ev.size() << " events, first: " << (ev.empty() ? "" : ev[0].stall.summary);
}

TEST(Engine, ExitEndsItsStalls) {
  detect::Engine e;
  e.update(kT0 + 2 * kSec, {sleeping_in(11, "futex", kT0)});
  ASSERT_EQ(e.active().size(), 1u);
  auto ev = e.update(kT0 + 3 * kSec, {});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_TRUE(ev[0].exited);
  EXPECT_TRUE(e.active().empty());
}

// The waiter is woken, finishes and exits between two snapshots: its last
// words still say who woke it.
TEST(Engine, ExitedProcessEndsItsStallWithItsWaker) {
  detect::Engine e;
  model::Snapshot waiting = sleeping_in(11, "epoll_wait", kT0);
  waiting.title = client("UPDATE", model::ClientState::Active, true);
  run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) { return std::vector<model::Snapshot>{waiting}; });
  ASSERT_EQ(e.active().size(), 1u);
  model::Snapshot last;
  last.pid = 11;
  last.exited = true;
  last.long_sleep_end_ns = kT0 + 6 * kSec + kSec / 20;
  last.long_sleep_waker_pid = 4100;
  auto ev = e.update(kT0 + 6 * kSec + kSec / 10, {last});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_EQ(ev[0].woken_by, 4100u);
  EXPECT_TRUE(ev[0].exited);
  EXPECT_TRUE(e.active().empty());
  // Delivered once: nothing more, no history kept for it.
  EXPECT_TRUE(e.update(kT0 + 7 * kSec, {}).empty());
}

TEST(Engine, ThresholdsAreSettings) {
  auto t = detect::Settings::defaults();
  ASSERT_TRUE(t.set("lwlock_wait_s", 5));
  detect::Engine e(t);
  EXPECT_TRUE(e.update(kT0 + 2 * kSec, {sleeping_in(11, "futex", kT0)}).empty());
  EXPECT_EQ(e.update(kT0 + 6 * kSec, {sleeping_in(11, "futex", kT0)}).size(), 1u);
}

TEST(Thousands, Groups) {
  EXPECT_EQ(detect::thousands(18400), "18,400");
  EXPECT_EQ(detect::thousands(999), "999");
  EXPECT_EQ(detect::thousands(1234567.4), "1,234,567");
  EXPECT_EQ(detect::thousands(0), "0");
  EXPECT_EQ(detect::thousands(-1000), "-1,000");
}

// The registry is the one list of kinds: names, flags and keys are unique,
// and every flag's default reads back through its own parser.
TEST(Registry, NamesFlagsAndKeysAreUniqueAndDefaultsParse) {
  std::set<std::string_view> names, flags, keys;
  for (const detect::KindSpec* k : detect::kinds()) {
    EXPECT_TRUE(names.insert(k->name).second) << k->name;
    EXPECT_TRUE(k->make) << k->name;
    EXPECT_FALSE(k->signal.empty()) << k->name;
    for (const auto& t : k->thresholds) {
      EXPECT_TRUE(flags.insert(t.flag).second) << t.flag;
      EXPECT_TRUE(keys.insert(t.key).second) << t.key;
      auto s = detect::Settings::defaults();
      ASSERT_TRUE(s.set_text(t.key, detect::default_text(t))) << t.key << " " << detect::default_text(t);
      EXPECT_DOUBLE_EQ(s.get(t), t.default_value) << t.key;
    }
    for (auto winner : k->yields_to) EXPECT_NE(detect::find_kind(winner), nullptr) << k->name << " yields to " << winner;
  }
  EXPECT_EQ(detect::kind_names(), "lock-sleep, lwlock-wait, io-wait, hot-loop, cpu-bound, delay-loop, wait, io-slow");
  // Everything a recording and the start line need, generated.
  const auto j = detect::Settings::defaults().to_json();
  EXPECT_EQ(j.size(), keys.size());
  EXPECT_EQ(j["hot_loop_rate"], 5000.0);
  EXPECT_EQ(j["lock_sleep_s"], 5.0);
}

TEST(Settings, RefuseWhatTheUnitDoesNotAllow) {
  auto s = detect::Settings::defaults();
  EXPECT_TRUE(s.set_text("io_wait_s", "500ms"));
  EXPECT_DOUBLE_EQ(s.to_json()["io_wait_s"].get<double>(), 0.5);
  EXPECT_EQ(s.set_text("io_wait_s", "fast").error().message, "--io-wait: 'fast' is not a duration (try 5s, 500ms, 2m)");
  EXPECT_EQ(s.set_text("hot_loop_rate", "12x").error().message, "--hot-loop-rate: '12x' is not a number");
  EXPECT_FALSE(s.set_text("hot_loop_rate", "nan"));
  EXPECT_FALSE(s.set("hot_loop_rate", -1));
  EXPECT_FALSE(s.set("hot_loop_cycle_share", 1.5));
  EXPECT_FALSE(s.set("no_such_threshold", 1));
  EXPECT_DOUBLE_EQ(s.to_json()["hot_loop_rate"].get<double>(), 5000.0);  // a refused value changes nothing
  // Off-CPU periods as long as the shortest sleeping stall are kept with their waker.
  EXPECT_DOUBLE_EQ(s.shortest_sleep_s(), 0.5);
}

// One cause, one stall: a futex sleep past both thresholds is an LWLock wait,
// not also an I/O wait, even when io-wait would match it on its own.
TEST(Engine, AKindYieldsToTheKindThatWins) {
  const auto* io = detect::find_kind("io-wait");
  ASSERT_NE(io, nullptr);
  EXPECT_NE(std::find(io->yields_to.begin(), io->yields_to.end(), "lwlock-wait"), io->yields_to.end());
  detect::Engine e;
  model::Snapshot s = sleeping_in(11, "futex", kT0, 'D');
  auto ev = e.update(kT0 + 2 * kSec, {s});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].stall.kind, "lwlock-wait");
  // Out of the futex, still in D: io-wait alone.
  s.in_syscall = false;
  ev = e.update(kT0 + 3 * kSec, {s});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_EQ(ev[1].stall.kind, "io-wait");
}
