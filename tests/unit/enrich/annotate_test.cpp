// Enrichment of lock-sleep verdicts: holder candidates idle in transaction,
// holders and waiters queued ahead read from shared memory, chains to the
// root and cycles, what each blocker is doing now.
#include <gtest/gtest.h>

#include <set>

#include "detect/fixtures.h"
#include "enrich/annotate.h"

#include <fmt/format.h>

#include <functional>

using namespace pgstall;
using namespace pgstall::testing;
using detect::Event;

namespace {

// Detection then enrichment, as watch runs them: the annotator sees every
// snapshot batch, each new verdict is annotated.
struct Pipeline {
  detect::Engine engine;
  enrich::Annotator annotator;
};

template <typename F>
std::vector<Event> run(Pipeline& p, uint64_t t0, uint64_t t1, F make) {
  std::vector<Event> all;
  for (uint64_t t = t0; t <= t1; t += kSec / 10) {
    const auto snaps = make(t);
    p.annotator.observe(t, snaps);
    auto events = p.engine.update(t, snaps);
    p.annotator.observe_stalls(p.engine.active());
    for (auto& e : events) {
      if (e.type == Event::Type::Start) p.annotator.annotate(e.stall, t, snaps);
      all.push_back(std::move(e));
    }
  }
  return all;
}

// Holders read from shared memory: named in the summary with the mode they
// hold, followed into a chain, and a cycle called one.
model::LockWaitRead shm_wait(uint32_t type_id, const char* type, uint32_t f0, int mode,
                             std::vector<model::LockHolder> blockers) {
  model::LockWaitRead r;
  r.waiting = true;
  r.tag.type_id = type_id;
  r.tag.type = type;
  r.tag.field = {f0, 0, 0, 0};
  r.tag.mode = mode;
  r.blockers = std::move(blockers);
  return r;
}

}  // namespace

TEST(LockSleep, FlaggedAtThresholdWithHolderCandidate) {
  Pipeline e;
  const int waiter = 4242, holder = 4100;
  uint64_t wait_start = kT0;
  auto ev = run(e, kT0, kT0 + 7 * kSec, [&](uint64_t t) {
    model::Snapshot w = sleeping_in(waiter, "epoll_wait", wait_start + kSec);  // re-slept after deadlock_timeout
    w.title = client("UPDATE", model::ClientState::Active, true);
    model::Snapshot h = sleeping_in(holder, "epoll_wait", kT0 - 340 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    (void)t;
    return std::vector<model::Snapshot>{w, h};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].stall.pid, waiter);
  EXPECT_NEAR(s[0].duration_s, 5.0, 0.11);
  ASSERT_EQ(s[0].stall.detail["holder_candidates"].size(), 1u);
  EXPECT_EQ(s[0].stall.detail["holder_candidates"][0]["pid"], holder);
  // The holder has been idle since its poll began, long before we looked.
  EXPECT_GT(s[0].stall.detail["holder_candidates"][0]["idle_s"].get<double>(), 340.0);
  EXPECT_NE(s[0].stall.summary.find("pid 4100 (idle in transaction"), std::string::npos);
  // Only the waiter is flagged: idle in transaction is a holder, not a stall.
  for (const auto& x : ev) EXPECT_NE(x.stall.pid, holder);
}

TEST(LockSleep, HoldersFromSharedMemoryMakeAChain) {
  Pipeline e;
  const int holder = 4100, w1 = 4101, w2 = 4102;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot a = sleeping_in(w1, "epoll_wait", kT0);
    a.title = client("UPDATE", model::ClientState::Active, true);
    a.shm_lock = shm_wait(5, "transactionid", 735, 5, {{holder, 1u << 7}});
    model::Snapshot b = sleeping_in(w2, "epoll_wait", kT0);
    b.title = client("UPDATE", model::ClientState::Active, true);
    b.shm_lock = shm_wait(4, "tuple", 16384, 7, {{w1, 1u << 7}});
    model::Snapshot h = sleeping_in(holder, "epoll_wait", kT0 - 60 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    return std::vector<model::Snapshot>{a, b, h};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 2u);
  for (const auto& x : s) {
    const auto& d = x.stall.detail;
    EXPECT_EQ(d["lock"]["source"], "shared_memory") << d.dump();
    EXPECT_EQ(d["blocked_by"]["source"], "shared_memory") << d.dump();
    if (x.stall.pid == w1) {
      EXPECT_EQ(d["lock"]["text"], "transactionid 735 ShareLock") << d.dump();
      EXPECT_EQ(d["blocked_by"]["holders"][0]["pid"], holder);
      EXPECT_EQ(d["blocked_by"]["holders"][0]["holds"], "ExclusiveLock");
      EXPECT_EQ(d["blocked_by"]["holders"][0]["state"], "idle in transaction");
      EXPECT_EQ(d["blocked_by"]["chain"], nlohmann::json({w1, holder}));
      EXPECT_NE(x.stall.summary.find("blocked by pid 4100 (ExclusiveLock, idle in transaction 6"), std::string::npos)
          << x.stall.summary;
      EXPECT_EQ(x.stall.summary.find("chain"), std::string::npos) << x.stall.summary;
    } else {
      EXPECT_EQ(x.stall.pid, w2);
      EXPECT_EQ(d["blocked_by"]["chain"], nlohmann::json({w2, w1, holder}));
      EXPECT_NE(x.stall.summary.find("itself waiting for transactionid 735"), std::string::npos) << x.stall.summary;
      EXPECT_NE(x.stall.summary.find("chain 4102 -> 4101 -> 4100"), std::string::npos) << x.stall.summary;
      EXPECT_EQ(x.stall.summary.find("cycle"), std::string::npos) << x.stall.summary;
    }
  }
}

TEST(LockSleep, ACycleOfHoldersIsCalledADeadlockNotYetBroken) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot a = sleeping_in(1, "epoll_wait", kT0);
    a.title = client("UPDATE", model::ClientState::Active, true);
    a.shm_lock = shm_wait(5, "transactionid", 700, 5, {{2, 1u << 7}});
    model::Snapshot b = sleeping_in(2, "epoll_wait", kT0);
    b.title = client("UPDATE", model::ClientState::Active, true);
    b.shm_lock = shm_wait(5, "transactionid", 701, 5, {{1, 1u << 7}});
    return std::vector<model::Snapshot>{a, b};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].stall.detail["blocked_by"]["chain"], nlohmann::json({1, 2, 1}));
  EXPECT_NE(s[0].stall.summary.find("chain 1 -> 2 -> 1 (a cycle"), std::string::npos) << s[0].stall.summary;
}

// A buffer pin wait: the sessions of its database that may hold the pin,
// idle in transaction first (an open cursor keeps its pin).
TEST(Wait, BufferPinNamesCandidatePinHolders) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot vac = sleeping_in(20, "epoll_wait", kT0);
    vac.title = client("VACUUM", model::ClientState::Active);
    vac.pg_major = 15;
    vac.wait_event_info = event_info("BufferPin", "BufferPin");
    model::Snapshot cursor = sleeping_in(21, "epoll_wait", kT0 - 30 * kSec);
    cursor.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    model::Snapshot reader = sleeping_in(22, "epoll_wait", kT0);
    reader.title = client("SELECT", model::ClientState::Active);
    reader.on_cpu = true;
    model::Snapshot other_db = sleeping_in(23, "epoll_wait", kT0 - 30 * kSec);
    other_db.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    other_db.title.database = "elsewhere";
    return std::vector<model::Snapshot>{vac, cursor, reader, other_db};
  });
  auto s = starts(ev, "wait");
  ASSERT_EQ(s.size(), 1u);
  const auto& c = s[0].stall.detail["pin_holder_candidates"];
  ASSERT_EQ(c.size(), 2u) << c.dump();
  EXPECT_EQ(c[0]["pid"], 21);
  EXPECT_EQ(c[1]["pid"], 22);
  EXPECT_EQ(c[1]["command"], "SELECT");
  EXPECT_NE(s[0].stall.summary.find("; pin holder candidates: pid 21 (idle in transaction 3"), std::string::npos)
      << s[0].stall.summary;
  EXPECT_NE(s[0].stall.summary.find("pid 22 (running SELECT)"), std::string::npos) << s[0].stall.summary;
}

namespace {

constexpr uint32_t kAccessShare = 1u << 1;

model::LockHolder queued_for(int pid, int mode) { return {pid, 0, mode}; }

// The issue's queue on one table: R runs a COPY whose client stopped
// reading (Client:ClientWrite) and holds AccessShareLock; A, an ALTER TABLE,
// waits for AccessExclusiveLock behind R; readers W1 and W2 want
// AccessShareLock and are queued behind A.
constexpr int R = 4200, A = 4201, W1 = 4202, W2 = 4203;

std::vector<model::Snapshot> issue_queue(uint64_t root_asleep_since) {
  model::Snapshot r = waiting_on(R, "Client", "ClientWrite", root_asleep_since);
  r.title = client("COPY", model::ClientState::Active);
  model::Snapshot a = sleeping_in(A, "epoll_wait", kT0);
  a.title = client("ALTER TABLE", model::ClientState::Active, true);
  a.shm_lock = shm_wait(0, "relation", 5, 8, {{R, kAccessShare}});
  a.shm_lock->tag.field = {5, 16384, 0, 0};
  std::vector<model::Snapshot> out{r, a};
  for (int w : {W1, W2}) {
    model::Snapshot x = sleeping_in(w, "epoll_wait", kT0);
    x.title = client("SELECT", model::ClientState::Active, true);
    x.shm_lock = shm_wait(0, "relation", 5, 1, {queued_for(A, 8)});
    x.shm_lock->tag.field = {5, 16384, 0, 0};
    out.push_back(x);
  }
  return out;
}

const Event* start_of(const std::vector<Event>& s, int pid) {
  for (const auto& e : s)
    if (e.stall.pid == pid) return &e;
  return nullptr;
}

}  // namespace

TEST(LockQueue, EveryWaiterNamesTheRootAndWhatItIsDoing) {
  Pipeline e;
  // The COPY has been asleep sending since 14 s before pgstall first looked.
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) { return issue_queue(kT0 - 14 * kSec); });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 3u);
  for (const auto& x : s) EXPECT_NE(x.stall.pid, R) << "the root is not a lock waiter";

  const Event* alter = start_of(s, A);
  ASSERT_TRUE(alter);
  const auto& ad = alter->stall.detail["blocked_by"];
  EXPECT_EQ(ad["chain"], nlohmann::json({A, R}));
  EXPECT_EQ(ad["holders"][0]["pid"], R);
  EXPECT_EQ(ad["holders"][0]["holds"], "AccessShareLock");
  EXPECT_EQ(ad["holders"][0]["doing"], "blocked sending to its client");
  EXPECT_EQ(ad["holders"][0]["wait_event"], "Client:ClientWrite");
  EXPECT_EQ(ad["root"]["pid"], R);
  EXPECT_NEAR(ad["root"]["for_s"].get<double>(), 19.0, 0.11);
  EXPECT_TRUE(ad["queued_behind"].empty());
  EXPECT_NE(alter->stall.summary.find("; blocked by pid 4200 (AccessShareLock, blocked sending to its client 19s)"),
            std::string::npos)
      << alter->stall.summary;
  EXPECT_EQ(alter->stall.summary.find("chain"), std::string::npos) << alter->stall.summary;

  for (int w : {W1, W2}) {
    const Event* reader = start_of(s, w);
    ASSERT_TRUE(reader) << w;
    const auto& d = reader->stall.detail["blocked_by"];
    EXPECT_EQ(d["chain"], nlohmann::json({w, A, R}));
    EXPECT_TRUE(d["holders"].empty()) << d.dump();
    ASSERT_EQ(d["queued_behind"].size(), 1u) << d.dump();
    EXPECT_EQ(d["queued_behind"][0]["pid"], A);
    EXPECT_EQ(d["queued_behind"][0]["wants"], "AccessExclusiveLock");
    EXPECT_EQ(d["blocking_pids"], nlohmann::json({A}));
    EXPECT_EQ(d["root"]["pid"], R);
    EXPECT_EQ(d["root"]["doing"], "blocked sending to its client");
    const std::string tail = fmt::format(
        "; blocked by pid 4200 (AccessShareLock, blocked sending to its client 19s); chain {} -> 4201 -> 4200; "
        "queued behind pid 4201 (wants AccessExclusiveLock)",
        w);
    EXPECT_NE(reader->stall.summary.find(tail), std::string::npos) << reader->stall.summary;
    EXPECT_EQ(reader->stall.summary.find("no conflicting holder"), std::string::npos) << reader->stall.summary;
  }
}

// The chain's next step is a holder when there is one (the shortest way to
// the root), else the first waiter queued ahead.
TEST(LockQueue, HoldersComeBeforeQueuedWaitersInTheChain) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    auto snaps = issue_queue(kT0);
    // W1 holds nothing; make W2 wait for ShareLock: R's AccessShareLock is
    // fine, A ahead is not, and a holder H of RowExclusiveLock is.
    model::Snapshot h = sleeping_in(4300, "epoll_wait", kT0 - 30 * kSec);
    h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
    snaps.push_back(h);
    snaps[3].shm_lock = shm_wait(0, "relation", 5, 5, {queued_for(A, 8), {4300, 1u << 3}});
    return snaps;
  });
  const auto s = starts(ev, "lock-sleep");
  const Event* w2 = start_of(s, W2);
  ASSERT_TRUE(w2);
  const auto& d = w2->stall.detail["blocked_by"];
  EXPECT_EQ(d["chain"], nlohmann::json({W2, 4300}));
  EXPECT_EQ(d["blocking_pids"], nlohmann::json({A, 4300}));  // pg_blocking_pids()'s order
  EXPECT_NE(w2->stall.summary.find(
                "; blocked by pid 4300 (RowExclusiveLock, idle in transaction 3"),
            std::string::npos)
      << w2->stall.summary;
  EXPECT_NE(w2->stall.summary.find("; queued behind pid 4201 (wants AccessExclusiveLock)"), std::string::npos)
      << w2->stall.summary;
}

TEST(LockQueue, NeitherHolderNorWaiterAheadIsSaid) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + 6 * kSec, [&](uint64_t) {
    model::Snapshot w = sleeping_in(1, "epoll_wait", kT0);
    w.title = client("SELECT", model::ClientState::Active, true);
    w.shm_lock = shm_wait(0, "relation", 5, 1, {});
    return std::vector<model::Snapshot>{w};
  });
  auto s = starts(ev, "lock-sleep");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0].stall.summary.find("; no conflicting holder or waiter ahead of it in the lock table"),
            std::string::npos)
      << s[0].stall.summary;
  EXPECT_EQ(s[0].stall.detail["blocked_by"]["chain"], nlohmann::json({1}));
  EXPECT_FALSE(s[0].stall.detail["blocked_by"].contains("root"));
}

namespace {

// One waiter blocked by holder `h` (ExclusiveLock on transactionid 735):
// the words the waiter's summary gives for the holder, after `secs`.
std::string holder_words(model::Snapshot h, uint64_t secs = 6,
                         std::function<void(model::Snapshot&, uint64_t)> at = nullptr) {
  Pipeline e;
  auto ev = run(e, kT0, kT0 + secs * kSec, [&](uint64_t t) {
    model::Snapshot w = sleeping_in(1, "epoll_wait", kT0);
    w.title = client("UPDATE", model::ClientState::Active, true);
    w.shm_lock = shm_wait(5, "transactionid", 735, 5, {{h.pid, 1u << 7}});
    model::Snapshot hh = h;
    if (at) at(hh, t);
    return std::vector<model::Snapshot>{w, hh};
  });
  auto s = starts(ev, "lock-sleep");
  if (s.size() != 1u) return "no single lock-sleep";
  const std::string& sum = s[0].stall.summary;
  auto at_blocked = sum.find("; blocked by ");
  return at_blocked == std::string::npos ? sum : sum.substr(at_blocked + 2);
}

}  // namespace

TEST(BlockerDoing, RunningOnCpuSaysItsStatementAndHowLong) {
  model::Snapshot h = sleeping_in(2, "epoll_wait", kT0);
  h.title = client("UPDATE", model::ClientState::Active);
  h.in_syscall = false;
  h.on_cpu = true;
  EXPECT_EQ(holder_words(h), "blocked by pid 2 (ExclusiveLock, running UPDATE 5s on CPU)");
  // The statement's start from query__start (--queries) when known.
  h.pg.query_since_ns = kT0 - 175 * kSec;
  EXPECT_EQ(holder_words(h), "blocked by pid 2 (ExclusiveLock, running UPDATE 3 min on CPU)");
}

TEST(BlockerDoing, AWaitSaysItsEvent) {
  model::Snapshot h = waiting_on(2, "Timeout", "PgSleep", kT0 - 3 * kSec);
  h.title = client("SELECT", model::ClientState::Active);
  EXPECT_EQ(holder_words(h), "blocked by pid 2 (ExclusiveLock, waiting on Timeout:PgSleep 8s)");
}

TEST(BlockerDoing, IdleSessionHoldingASessionLock) {
  model::Snapshot h = waiting_on(2, "Client", "ClientRead", kT0 - 40 * kSec);
  h.title = client("idle", model::ClientState::Idle);
  EXPECT_EQ(holder_words(h), "blocked by pid 2 (ExclusiveLock, idle 45s)");
}

TEST(BlockerDoing, IdleInTransactionFromItsPoll) {
  model::Snapshot h = waiting_on(2, "Client", "ClientRead", kT0 - 40 * kSec);
  h.title = client("idle in transaction", model::ClientState::IdleInTransaction);
  EXPECT_EQ(holder_words(h), "blocked by pid 2 (ExclusiveLock, idle in transaction 45s)");
}

TEST(BlockerDoing, ItselfInAStallSaysWhichKind) {
  // Stuck writing its commit record: io-wait after 1 s, and still when the
  // waiter is flagged.
  model::Snapshot h = sleeping_in(2, "pwrite64", kT0 - 2 * kSec, 'D');
  h.title = client("COMMIT", model::ClientState::Active);
  EXPECT_EQ(holder_words(h), "blocked by pid 2 (ExclusiveLock, itself io-wait 7s)");
}

// A latch wait wakes and sleeps again: a glimpse without its wait event
// does not restart the clock; another wait event does.
TEST(BlockerDoing, TheWaitClockSurvivesAGlimpseAndRestartsOnANewEvent) {
  model::Snapshot h = waiting_on(2, "Client", "ClientWrite", kT0);
  h.title = client("COPY", model::ClientState::Active);
  const uint32_t client_write = *h.wait_event_info;
  EXPECT_EQ(holder_words(h, 6,
                         [&](model::Snapshot& s, uint64_t t) {
                           if (t == kT0 + 3 * kSec) {
                             s.wait_event_info = 0;
                             s.on_cpu = true;
                           } else {
                             s.wait_event_info = client_write;
                             s.on_cpu = false;
                             s.offcpu_since_ns = t > kT0 + 3 * kSec ? kT0 + 3 * kSec : kT0;
                           }
                         }),
            "blocked by pid 2 (ExclusiveLock, blocked sending to its client 5s)");
  const uint32_t data_file_read = event_info("IO", "DataFileRead");
  EXPECT_EQ(holder_words(h, 6,
                         [&](model::Snapshot& s, uint64_t t) {
                           if (t >= kT0 + 2 * kSec) {
                             s.wait_event_info = data_file_read;
                             s.offcpu_since_ns = kT0 + 2 * kSec;
                           }
                         }),
            "blocked by pid 2 (ExclusiveLock, waiting on IO:DataFileRead 3s)");
}

TEST(BlockerDoing, SpansReadAsPeopleSayThem) {
  EXPECT_EQ(enrich::span_text(14.2), "14s");
  EXPECT_EQ(enrich::span_text(119.4), "119s");
  EXPECT_EQ(enrich::span_text(180), "3 min");
  EXPECT_EQ(enrich::span_text(9000), "2.5 h");
}
