// Whether a stall's input was complete: ring records its kind depends on,
// lost while it was in flight, counted per probe from the kernel's totals.
#include <gtest/gtest.h>

#include <algorithm>

#include "detect/fixtures.h"
#include "detect/input_loss.h"
#include "detect/registry.h"
#include "model/probes.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;
namespace rp = model::ring_probe;

namespace {

model::RingDrops drops(uint64_t fork, uint64_t exit, uint64_t sched_switch = 0, uint64_t checkpoint = 0) {
  return {{{std::string(rp::kSchedSwitch), sched_switch},
           {std::string(rp::kFork), fork},
           {std::string(rp::kExit), exit},
           {std::string(rp::kCheckpoint), checkpoint}}};
}

const std::vector<std::string_view> kProcs = {rp::kFork, rp::kExit};

}  // namespace

TEST(InputLoss, NothingLostIsComplete) {
  detect::InputLoss l;
  for (uint64_t t = kT0; t < kT0 + 5 * kSec; t += kSec / 10) l.observe(t, drops(0, 0));
  EXPECT_TRUE(l.lost_since(kProcs, kT0).empty());
  EXPECT_EQ(l.samples(), 0u);
}

TEST(InputLoss, OnlyWhatWasLostAfterTheStartAndOnlyItsInputs) {
  detect::InputLoss l;
  l.observe(kT0, drops(10, 4, 7));               // before the stall
  l.observe(kT0 + kSec, drops(10, 4, 7));
  l.observe(kT0 + 3 * kSec, drops(25, 4, 9, 3));  // during it
  const auto lost = l.lost_since(kProcs, kT0 + 2 * kSec);
  EXPECT_EQ(lost, (std::map<std::string, uint64_t>{{"sched_process_fork", 15}}));  // exits: none; not its inputs: not named
  // A stall that began before the first loss was seen counts every loss.
  const std::vector<std::string_view> all = {rp::kFork, rp::kExit, rp::kSchedSwitch, rp::kCheckpoint};
  EXPECT_EQ(l.lost_since(all, kT0 - kSec),
            (std::map<std::string, uint64_t>{
                {"sched_process_fork", 25}, {"sched_process_exit", 4}, {"sched_switch", 9}, {"checkpoint", 3}}));
  // Began after the last growth: complete.
  EXPECT_TRUE(l.lost_since(all, kT0 + 4 * kSec).empty());
}

TEST(InputLoss, AGrowthSeenAtTheFirstTickAfterTheStartCounts) {
  // Lost between the tick before the start and the one after: it may have
  // been before the start, and is counted (incomplete, never wrongly complete).
  detect::InputLoss l;
  l.observe(kT0, drops(1, 0));
  l.observe(kT0 + kSec / 10 * 2, drops(3, 0));
  EXPECT_EQ(l.lost_since(kProcs, kT0 + kSec / 10), (std::map<std::string, uint64_t>{{"sched_process_fork", 2}}));
}

TEST(InputLoss, BoundedAndThinningOnlyEverCountsMore) {
  detect::InputLoss l;
  const uint64_t n = 3 * detect::InputLoss::kMaxSamples;
  for (uint64_t i = 1; i <= n; ++i) l.observe(kT0 + i * kSec / 10, drops(i, 0));
  EXPECT_LE(l.samples(), detect::InputLoss::kMaxSamples);
  // Exact for a recent start, never less than the truth for an old one.
  EXPECT_EQ(l.lost_since(kProcs, kT0 + (n - 10) * kSec / 10).at("sched_process_fork"), 10u);
  for (uint64_t i : {uint64_t{5}, uint64_t{1000}, n / 2, n - 100}) {
    const uint64_t truth = n - i;
    EXPECT_GE(l.lost_since(kProcs, kT0 + i * kSec / 10).at("sched_process_fork"), truth) << i;
  }
}

TEST(InputLoss, EachKindNamesWhatItDependsOn) {
  for (const detect::KindSpec* k : detect::kinds()) {
    const auto in = detect::ring_inputs(*k);
    auto has = [&](std::string_view p) { return std::find(in.begin(), in.end(), p) != in.end(); };
    EXPECT_TRUE(has(rp::kFork) && has(rp::kExit) && has(rp::kExec)) << k->name;
    EXPECT_EQ(has(rp::kSchedSwitch), k->ended_by_waker) << k->name;
    EXPECT_EQ(has(rp::kCheckpoint), k->name == "delay-loop") << k->name;
  }
}

TEST(InputLoss, TheEngineMarksStallsWhoseInputLostRecords) {
  detect::Engine e;
  model::Snapshot w = sleeping_in(7, "epoll_wait", kT0);
  w.title = client("UPDATE", model::ClientState::Active, true);
  model::Snapshot other = sleeping_in(8, "epoll_wait", kT0);
  other.title = client("UPDATE", model::ClientState::Active, true);
  e.observe_drops(kT0, drops(0, 0));
  e.update(kT0, {w, other});
  // Lost while both wait: forks, and checkpoint records no lock-sleep uses.
  e.observe_drops(kT0 + 2 * kSec, drops(40, 2, 0, 5));
  auto ev = e.update(kT0 + 6 * kSec, {w, other});
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 2u);
  const std::map<std::string, uint64_t> want = {{"sched_process_exit", 2}, {"sched_process_fork", 40}};
  EXPECT_EQ(s[0].stall.input_lost, want);
  ASSERT_EQ(e.active().size(), 2u);
  EXPECT_EQ(e.active()[0].input_lost, want);
  // Lost later, before its end: the end counts the whole stall.
  e.observe_drops(kT0 + 7 * kSec, drops(40, 2, 3, 5));
  w.title = client("idle", model::ClientState::Idle);
  ev = e.update(kT0 + 8 * kSec, {w, other});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, Event::Type::End);
  EXPECT_EQ(ev[0].stall.input_lost,
            (std::map<std::string, uint64_t>{{"sched_process_exit", 2}, {"sched_process_fork", 40}, {"sched_switch", 3}}));
}

TEST(InputLoss, AStallAfterTheLossesIsComplete) {
  detect::Engine e;
  e.observe_drops(kT0, drops(40, 2, 3));
  model::Snapshot w = sleeping_in(7, "epoll_wait", kT0 + kSec);
  w.title = client("UPDATE", model::ClientState::Active, true);
  std::vector<Event> ev;
  for (uint64_t t = kT0 + kSec; t <= kT0 + 7 * kSec; t += kSec / 10) {
    e.observe_drops(t, drops(40, 2, 3));
    auto more = e.update(t, {w});
    ev.insert(ev.end(), more.begin(), more.end());
  }
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].stall.input_lost.empty());
}
