// io-slow on synthetic snapshots: most of a window in short I/O waits is one
// episode, ended only when the share has fallen to half; a single long wait
// is io-wait's, a little I/O is nothing, and waiting for someone else's WAL
// flush counts as I/O.
#include <gtest/gtest.h>

#include "detect/fixtures.h"

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {

// Every `period`, `busy` of it in fdatasync of the WAL (D state), the rest on CPU.
model::Snapshot committing(int pid, uint64_t t, uint64_t period, uint64_t busy) {
  const uint64_t phase = (t - kT0) % period;
  const uint64_t cycle_start = t - phase;
  model::Snapshot s;
  s.pid = pid;
  s.title = client("COMMIT", model::ClientState::Active);
  if (phase < busy) {
    s = sleeping_in(pid, "fdatasync", cycle_start, 'D');
    s.title = client("COMMIT", model::ClientState::Active);
    s.sc_fd_path = "pg_wal/000000010000000000000034 (WAL segment)";
    s.sc_fd_class = model::FileClass::Wal;
  } else {
    s.on_cpu = true;
  }
  return s;
}

}  // namespace

TEST(IoSlow, ShortWaitsMostOfTheTimeAreOneEpisode) {
  detect::Engine e;
  bool slow = true;
  auto make = [&](uint64_t t) {
    return std::vector<model::Snapshot>{committing(5, t, kSec, slow ? 7 * kSec / 10 : kSec / 20)};
  };
  auto ev = run(e, kT0, kT0 + 20 * kSec, make);
  auto s = starts(ev, "io-slow");
  ASSERT_EQ(s.size(), 1u);
  for (const auto& x : ev) EXPECT_EQ(x.type, Event::Type::Start) << "flapped: " << x.stall.kind;
  EXPECT_TRUE(starts(ev, "io-wait").empty()) << "no single wait reached io-wait's threshold";
  const auto& d = s[0].stall.detail;
  EXPECT_GE(d["io_share"].get<double>(), 0.5);
  EXPECT_GE(d["waits"].get<int>(), 3);
  EXPECT_NEAR(d["wait_s"]["p50"].get<double>(), 0.7, 0.15);
  EXPECT_GT(d["by_file_class_s"]["WAL"].get<double>(), 1.0);
  EXPECT_NE(s[0].stall.summary.find("waiting on I/O"), std::string::npos) << s[0].stall.summary;
  EXPECT_NE(s[0].stall.summary.find("fdatasync(pg_wal/"), std::string::npos) << s[0].stall.summary;
  // Faster, but still 30 % of the time: above half the threshold, the same episode.
  slow = false;
  auto later = run(e, kT0 + 20 * kSec + kSec / 10, kT0 + 23 * kSec, [&](uint64_t t) {
    return std::vector<model::Snapshot>{committing(5, t, kSec, 3 * kSec / 10)};
  });
  EXPECT_TRUE(later.empty());
  // Healthy again: it ends, once.
  later = run(e, kT0 + 23 * kSec + kSec / 10, kT0 + 35 * kSec, make);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].type, Event::Type::End);
}

// A busy server on a fast disk: 60 % of the time in fdatasyncs of 6 ms, a
// hundred a second. Waiting on I/O is how it commits; it is progressing.
TEST(IoSlow, NotForManyFastWaitsOfABusyServer) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 15 * kSec, [&](uint64_t t) {
    return std::vector<model::Snapshot>{committing(5, t + 3'000'000, kSec / 100, 6 * kSec / 1000)};
  });
  EXPECT_TRUE(ev.empty()) << ev.size() << " events, first: " << (ev.empty() ? "" : ev[0].stall.summary);
}

TEST(IoSlow, NotForALittleIoOrOneLongWait) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 15 * kSec, [&](uint64_t t) {
    model::Snapshot healthy = committing(5, t, kSec, kSec / 10);  // 10 % of the time
    model::Snapshot frozen = sleeping_in(6, "pwrite64", kT0, 'D');  // one wait that never ends
    frozen.sc_fd_class = model::FileClass::Wal;
    return std::vector<model::Snapshot>{healthy, frozen};
  });
  EXPECT_TRUE(starts(ev, "io-slow").empty());
  auto io = starts(ev, "io-wait");
  ASSERT_EQ(io.size(), 1u);
  EXPECT_EQ(io[0].stall.pid, 6);
}

// A disk slower still: every fdatasync takes 2.2 s, each one longer than
// io-wait's 1 s. The first is an io-wait (nothing says it is a series yet);
// from the second completed one it is one io-slow episode, and the io-wait
// of each later wait yields to it: no flapping series.
TEST(IoSlow, WaitsLongerThanIoWaitsThresholdAreOneEpisodeFromTheSecond) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 20 * kSec, [&](uint64_t t) {
    return std::vector<model::Snapshot>{committing(5, t, 2400 * kSec / 1000, 2200 * kSec / 1000)};
  });
  auto slow = starts(ev, "io-slow");
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_LE(slow[0].stall.since_ns, kT0 + 5 * kSec);
  const auto& d = slow[0].stall.detail;
  EXPECT_NEAR(d["wait_s"]["p50"].get<double>(), 2.2, 0.15);
  size_t io_waits = 0;
  for (const auto& x : ev)
    if (x.type == Event::Type::Start && x.stall.kind == "io-wait") {
      ++io_waits;
      EXPECT_LT(x.stall.since_ns, slow[0].stall.since_ns + 3 * kSec) << "an io-wait inside the episode";
    }
  EXPECT_LE(io_waits, 2u) << "a flapping series of io-waits";
}

TEST(IoSlow, WaitingForAnothersWalFlushCountsAndTheLwlockWaitYields) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 12 * kSec, [&](uint64_t t) {
    // Each second: 0.8 s waiting for WALWrite (futex), then a moment on CPU.
    const uint64_t phase = (t - kT0) % kSec;
    model::Snapshot s;
    if (phase < 8 * kSec / 10) {
      s = waiting_on(7, "LWLock", "WALWrite", t - phase);
      s.sc_nr = model::syscall_number("futex");
      s.title = client("COMMIT", model::ClientState::Active);
    } else {
      s.pid = 7;
      s.on_cpu = true;
    }
    return std::vector<model::Snapshot>{s};
  });
  auto s = starts(ev, "io-slow");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0].stall.summary.find("LWLock:WALWrite"), std::string::npos) << s[0].stall.summary;
  EXPECT_TRUE(starts(ev, "lwlock-wait").empty()) << "each wait is under a second";
}

TEST(IoSlow, AnExitingBackendInDStateIsNotIo) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 8 * kSec, [&](uint64_t) {
    model::Snapshot s = sleeping_in(9, "exit_group", kT0, 'D');  // unlink_file_vma ← free_pgtables ← exit_mmap
    return std::vector<model::Snapshot>{s};
  });
  EXPECT_TRUE(ev.empty()) << ev.size() << " events, first: " << (ev.empty() ? "" : ev[0].stall.kind);
}

// A connection storm: the postmaster forks a backend after another and
// each fork sleeps half a second in D (clone waiting for memory or its mmap
// lock), between select()s. Seen in LoadTest as "io-slow on D state".
TEST(IoSlow, DStateInForkIsNotIo) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 10 * kSec, [&](uint64_t t) {
    const uint64_t cycle = t - (t - kT0) % kSec;
    model::Snapshot s = t - cycle < kSec / 2 ? sleeping_in(7, "clone", cycle, 'D') : sleeping_in(7, "pselect6", cycle, 'S');
    s.title = model::parse_title("/usr/lib/postgresql/15/bin/postgres -D /data");
    return std::vector<model::Snapshot>{s};
  });
  EXPECT_TRUE(ev.empty()) << ev.size() << " events, first: " << (ev.empty() ? "" : ev[0].stall.summary);
}

// Its twin: the same D-state sleeps in pread64 are the disk's.
TEST(IoSlow, DStateInAFileReadIsIo) {
  detect::Engine e;
  auto ev = run(e, kT0, kT0 + 10 * kSec, [&](uint64_t t) {
    const uint64_t cycle = t - (t - kT0) % kSec;
    model::Snapshot s = t - cycle < kSec * 3 / 4 ? sleeping_in(8, "pread64", cycle, 'D') : model::Snapshot{};
    if (t - cycle >= kSec * 3 / 4) {
      s.pid = 8;
      s.on_cpu = true;
    }
    s.title = client("SELECT", model::ClientState::Active);
    return std::vector<model::Snapshot>{s};
  });
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0].stall.kind, "io-slow");
  EXPECT_EQ(ev[0].stall.pid, 8);
}
