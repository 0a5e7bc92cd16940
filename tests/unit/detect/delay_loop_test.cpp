// delay-loop on synthetic snapshots: polling in pg_usleep, not vacuum's
// cost delay, a select with fds, one long nap or a latch wait.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {

// A process in pg_usleep(10 ms) again and again: at each 100 ms look it is
// in a fresh pselect6 with no fds, having slept ~10 more times.
model::Snapshot usleeping(int pid, uint64_t t, uint64_t t0, const char* syscall = "pselect6", uint64_t nfds = 0,
                   uint64_t sleeps_per_s = 100) {
  model::Snapshot s = sleeping_in(pid, syscall, t - 5'000'000);
  s.title.type = model::BackendType::Checkpointer;
  s.sc_args[0] = nfds;
  s.nr_sleeps = (t - t0) * sleeps_per_s / kSec;
  return s;
}

// Timeout:VacuumDelay in PostgreSQL 15, found through the decoder.
uint32_t vacuum_delay_info() {
  for (uint32_t ev = 0; ev < 64; ++ev) {
    auto w = model::decode_wait_event(0x09000000 | ev, 15);
    if (w && w->type == "Timeout" && w->name == "VacuumDelay") return 0x09000000 | ev;
  }
  ADD_FAILURE() << "no Timeout:VacuumDelay in the PostgreSQL 15 table";
  return 0;
}

}  // namespace

TEST(DelayLoop, PollingInPgUsleepIsFlaggedWithItsCheckpoint) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 7 * kSec, [&](uint64_t t) {
    model::Snapshot s = usleeping(77, t, kT0);
    s.checkpoint_phase = "starting";
    return std::vector<model::Snapshot>{s};
  });
  auto s = starts(ev, "delay-loop");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, 77);
  EXPECT_NEAR(s[0].duration_s, 5.0, 0.11);
  EXPECT_NEAR(s[0].stall.detail["sleeps_per_s"].get<double>(), 100, 2);
  EXPECT_NE(s[0].stall.summary.find("pselect6"), std::string::npos) << s[0].stall.summary;
  EXPECT_NE(s[0].stall.summary.find("delayChkptFlags"), std::string::npos) << s[0].stall.summary;
  // Nothing else is made of it.
  for (const auto& x : ev) EXPECT_EQ(x.stall.kind, "delay-loop");
  // It ends when it stops polling; the timer's waker is not named.
  auto end = e.update(kT0 + 8 * kSec, {[&] {
                        model::Snapshot s = sleeping_in(77, "epoll_wait", kT0 + 8 * kSec - 1000);
                        s.last_waker_pid = 22;
                        return s;
                      }()});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].type, Event::Type::End);
  EXPECT_EQ(end[0].woken_by, 0u);
}

TEST(DelayLoop, BriefRunsBetweenDelaysDoNotEndIt) {
  detect::Engine e;
  int tick = 0;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t t) {
    model::Snapshot s = usleeping(77, t, kT0);
    if (++tick % 4 == 0) {  // caught between two delays now and then
      s.on_cpu = true;
      s.in_syscall = false;
    }
    return std::vector<model::Snapshot>{s};
  });
  EXPECT_EQ(starts(ev, "delay-loop").size(), 1u);
}

TEST(DelayLoop, NotForHealthyDelaysAndWaits) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 8 * kSec, [&](uint64_t t) {
    // Autovacuum's cost delay says so in its wait event: healthy.
    model::Snapshot vac = usleeping(1, t, kT0);
    vac.wait_event_info = vacuum_delay_info();
    vac.pg_major = 15;
    // The postmaster's select has fds: it waits for connections.
    model::Snapshot pm = usleeping(2, t, kT0, "pselect6", 5);
    // One long nap is not a loop.
    model::Snapshot nap = usleeping(3, t, kT0, "nanosleep", 0, 0);
    nap.sc_start_ns = kT0;
    // A latch wait (epoll) that times out often: walwriter-style.
    model::Snapshot latch = usleeping(4, t, kT0, "epoll_wait");
    return std::vector<model::Snapshot>{vac, pm, nap, latch};
  });
  for (const auto& x : ev) ADD_FAILURE() << "flagged: " << x.stall.pid << " " << x.stall.summary;
}
