// The shared-memory lock walk on a synthetic memory image laid out as
// PostgreSQL 15 lays out PGPROC, LOCK and PROCLOCK.
#include "model/lockgraph.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

namespace pgstall::model {
namespace {

// Sparse memory: bytes at addresses; a read of any unwritten byte fails.
class Image {
 public:
  template <typename T>
  void put(uint64_t addr, T v) {
    unsigned char b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    for (size_t i = 0; i < sizeof v; ++i) mem_[addr + i] = b[i];
  }
  MemReader reader() const {
    return [this](uint64_t addr, void* buf, size_t len) {
      auto* out = static_cast<unsigned char*>(buf);
      for (size_t i = 0; i < len; ++i) {
        auto it = mem_.find(addr + i);
        if (it == mem_.end()) return false;
        out[i] = it->second;
      }
      return true;
    };
  }

 private:
  std::map<uint64_t, unsigned char> mem_;
};

const LockLayout L = *lock_layout(15);

struct Proc {
  uint64_t addr;
  int pid;
};

void put_proc(Image& m, Proc p, uint32_t xid, uint64_t wait_lock, int mode, uint64_t group = 0) {
  m.put<uint32_t>(p.addr + L.proc_xid, xid);
  m.put<int32_t>(p.addr + L.proc_pid, p.pid);
  m.put<uint64_t>(p.addr + L.proc_wait_lock, wait_lock);
  m.put<int32_t>(p.addr + L.proc_wait_lock_mode, mode);
  m.put<uint64_t>(p.addr + L.proc_lock_group_leader, group);
}

uint64_t we_target(Proc p) { return p.addr + L.proc_wait_event_info; }

// A LOCK at `lock` whose holder list links the PROCLOCKs given, in order.
struct Holding {
  uint64_t proclock;
  Proc proc;
  uint32_t hold_mask;
  uint64_t group = 0;  // 0: its own PGPROC leads its group
};
void put_lock(Image& m, uint64_t lock, std::array<uint32_t, 4> f, uint8_t type, const std::vector<Holding>& hs) {
  m.put<uint32_t>(lock + 0, f[0]);
  m.put<uint32_t>(lock + 4, f[1]);
  m.put<uint32_t>(lock + 8, f[2]);
  m.put<uint16_t>(lock + 12, static_cast<uint16_t>(f[3]));
  m.put<uint8_t>(lock + 14, type);
  m.put<uint8_t>(lock + 15, 0);
  const uint64_t head = lock + L.lock_proclocks;
  std::vector<uint64_t> nodes;
  for (const auto& h : hs) nodes.push_back(h.proclock + L.proclock_lock_link);
  m.put<uint64_t>(head + 8, nodes.empty() ? head : nodes.front());
  for (size_t i = 0; i < hs.size(); ++i) {
    const auto& h = hs[i];
    m.put<uint64_t>(h.proclock + 0, lock);
    m.put<uint64_t>(h.proclock + L.proclock_my_proc, h.proc.addr);
    m.put<uint64_t>(h.proclock + L.proclock_group_leader, h.group ? h.group : h.proc.addr);
    m.put<uint32_t>(h.proclock + L.proclock_hold_mask, h.hold_mask);
    m.put<uint64_t>(nodes[i] + 8, i + 1 < nodes.size() ? nodes[i + 1] : head);
  }
}

// The LOCK's wait queue: these PGPROCs in queue order, linked through
// PGPROC.links.
void put_queue(Image& m, uint64_t lock, const std::vector<Proc>& q) {
  const uint64_t head = lock + L.lock_wait_procs;
  m.put<uint64_t>(head + 8, q.empty() ? head : q.front().addr + L.proc_links);
  for (size_t i = 0; i < q.size(); ++i)
    m.put<uint64_t>(q[i].addr + L.proc_links + 8, i + 1 < q.size() ? q[i + 1].addr + L.proc_links : head);
}

constexpr uint32_t bit(int mode) { return 1u << mode; }

const Proc waiter{0x7f0000001000, 4101}, holder{0x7f0000002000, 4100}, other{0x7f0000003000, 4102};
constexpr uint64_t kLock = 0x7f0000100000;

TEST(LockGraph, NotWaitingReadsTheXidOnly) {
  Image m;
  put_proc(m, waiter, 735, 0, 0);
  auto r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->waiting);
  EXPECT_EQ(r->xid, 735u);
  EXPECT_TRUE(r->blockers.empty());
}

TEST(LockGraph, RowLockWaiterBlockedByTheXidHolder) {
  Image m;
  put_proc(m, waiter, 0, kLock, 5 /* ShareLock */);
  put_proc(m, holder, 735, 0, 0);
  // transactionid 735: the holder has ExclusiveLock; the waiter's own
  // PROCLOCK holds nothing yet.
  put_lock(m, kLock, {735, 0, 0, 0}, 5,
           {{0x7f0000200000, holder, bit(7)}, {0x7f0000200100, waiter, 0}});
  put_queue(m, kLock, {waiter});
  auto r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->waiting);
  EXPECT_EQ(r->tag.field[0], 735u);
  EXPECT_EQ(r->tag.type_id, 5u);  // LOCKTAG_TRANSACTION in 15
  EXPECT_EQ(r->tag.mode, 5);
  ASSERT_EQ(r->blockers.size(), 1u);
  EXPECT_EQ(r->blockers[0].pid, holder.pid);
  EXPECT_EQ(r->blockers[0].hold_mask, bit(7));
  EXPECT_EQ(r->holders_seen, 2u);
}

TEST(LockGraph, CompatibleHoldersAndOwnLockGroupDoNotBlock) {
  Image m;
  // Waiter wants AccessExclusive on a relation: every holder conflicts with
  // that, except its own and its lock group's.
  const Proc worker{0x7f0000004000, 4103};
  put_proc(m, waiter, 0, kLock, 8);
  put_proc(m, holder, 0, 0, 0);
  put_proc(m, other, 0, 0, 0);
  put_proc(m, worker, 0, 0, 0, waiter.addr);
  put_lock(m, kLock, {5, 16384, 0, 0}, 0,
           {{0x7f0000200000, holder, bit(1)},
            {0x7f0000200100, waiter, bit(1)},
            {0x7f0000200200, worker, bit(1), waiter.addr},
            {0x7f0000200300, other, bit(3)}});
  put_queue(m, kLock, {waiter});
  auto r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->blockers.size(), 2u);
  EXPECT_EQ(r->blockers[0].pid, holder.pid);
  EXPECT_EQ(r->blockers[1].pid, other.pid);

  // Wanting AccessShare instead: RowExclusive and AccessShare holders are fine.
  put_proc(m, waiter, 0, kLock, 1);
  r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->blockers.empty());
}

TEST(LockGraph, SomeoneElsesPgprocIsRejected) {
  Image m;
  put_proc(m, waiter, 0, 0, 0);
  auto r = read_lock_wait(m.reader(), 9999, we_target(waiter), L);
  EXPECT_FALSE(r);
  EXPECT_NE(r.error().message.find("not its PGPROC"), std::string::npos) << r.error().message;
  // Before InitProcess my_wait_event_info points at a local: nothing there.
  r = read_lock_wait(m.reader(), waiter.pid, 0x1000, L);
  EXPECT_FALSE(r);
  EXPECT_NE(r.error().message.find("not readable"), std::string::npos) << r.error().message;
}

TEST(LockGraph, TornOrUnreadableListsAreErrorsNotHangs) {
  Image m;
  put_proc(m, waiter, 0, kLock, 5);
  put_proc(m, holder, 735, 0, 0);
  put_lock(m, kLock, {735, 0, 0, 0}, 5, {{0x7f0000200000, holder, bit(7)}});
  put_queue(m, kLock, {waiter});
  // The holder's node now points at itself: a list caught mid-update.
  const uint64_t node = 0x7f0000200000 + L.proclock_lock_link;
  m.put<uint64_t>(node + 8, node);
  auto r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  EXPECT_FALSE(r);
  EXPECT_NE(r.error().message.find("changed while read"), std::string::npos) << r.error().message;

  // A next pointer into unmapped memory.
  m.put<uint64_t>(node + 8, 0x7f0000900000);
  r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  EXPECT_FALSE(r);
  EXPECT_NE(r.error().message.find("not readable"), std::string::npos) << r.error().message;

  // A waitLock that is not a pointer.
  put_proc(m, waiter, 0, 0x7f0000100003, 5);
  r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  EXPECT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a pointer"), std::string::npos) << r.error().message;
}

// The issue's queue: R holds AccessShareLock (a COPY whose client stopped
// reading), A waits for AccessExclusiveLock (ALTER TABLE), readers W1 and W2
// want AccessShareLock behind A. Like pg_blocking_pids(): A is blocked by R;
// each reader by A (queued ahead, wanting a conflicting mode), not by R (its
// mode does not conflict) nor by the other reader.
const Proc root{0x7f0000005000, 4200}, alter{0x7f0000006000, 4201}, r1{0x7f0000007000, 4202},
    r2{0x7f0000008000, 4203};

Image issue_queue() {
  Image m;
  put_proc(m, root, 0, 0, 0);
  put_proc(m, alter, 0, kLock, 8);
  put_proc(m, r1, 0, kLock, 1);
  put_proc(m, r2, 0, kLock, 1);
  put_lock(m, kLock, {5, 16384, 0, 0}, 0,
           {{0x7f0000200000, root, bit(1)},
            {0x7f0000200100, alter, 0},
            {0x7f0000200200, r1, 0},
            {0x7f0000200300, r2, 0}});
  put_queue(m, kLock, {alter, r1, r2});
  return m;
}

TEST(LockGraph, AWaiterQueuedAheadWithAConflictingRequestBlocks) {
  const Image m = issue_queue();
  auto a = read_lock_wait(m.reader(), alter.pid, we_target(alter), L);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->blockers.size(), 1u);
  EXPECT_EQ(a->blockers[0].pid, root.pid);
  EXPECT_EQ(a->blockers[0].hold_mask, bit(1));
  EXPECT_FALSE(a->blockers[0].queued());
  EXPECT_EQ(a->queue_position, 0u);
  for (Proc reader : {r1, r2}) {
    auto r = read_lock_wait(m.reader(), reader.pid, we_target(reader), L);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->blockers.size(), 1u) << reader.pid;
    EXPECT_EQ(r->blockers[0].pid, alter.pid);
    EXPECT_TRUE(r->blockers[0].queued());
    EXPECT_EQ(r->blockers[0].wants, 8);
    EXPECT_EQ(r->blockers[0].hold_mask, 0u);
    EXPECT_EQ(r->holders_seen, 4u);
  }
  auto last = read_lock_wait(m.reader(), r2.pid, we_target(r2), L);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->queue_position, 2u);
}

// pg_blocking_pids() lists blockers in the order of the LOCK's PROCLOCKs,
// holders and queued waiters mixed: so do we.
TEST(LockGraph, BlockersComeInProclockOrderHoldersAndQueuedMixed) {
  Image m;
  put_proc(m, alter, 0, kLock, 8);
  put_proc(m, waiter, 0, kLock, 5 /* ShareLock */);
  put_proc(m, holder, 0, 0, 0);
  // alter's PROCLOCK comes first in the list, the holder's second.
  put_lock(m, kLock, {5, 16384, 0, 0}, 0,
           {{0x7f0000200000, alter, 0}, {0x7f0000200100, holder, bit(3)}, {0x7f0000200200, waiter, 0}});
  put_queue(m, kLock, {alter, waiter});
  auto r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->blockers.size(), 2u);
  EXPECT_EQ(r->blockers[0].pid, alter.pid);
  EXPECT_EQ(r->blockers[0].wants, 8);
  EXPECT_EQ(r->blockers[1].pid, holder.pid);  // RowExclusiveLock conflicts with ShareLock
  EXPECT_FALSE(r->blockers[1].queued());
}

TEST(LockGraph, QueuedWaitersThatDoNotConflictOrShareItsLockGroupDoNotBlock) {
  Image m;
  const Proc worker{0x7f0000004000, 4103};
  put_proc(m, worker, 0, kLock, 8, waiter.addr);  // its own parallel worker, ahead
  put_proc(m, other, 0, kLock, 1);                // ahead, wants AccessShareLock
  put_proc(m, waiter, 0, kLock, 3);               // wants RowExclusiveLock
  put_lock(m, kLock, {5, 16384, 0, 0}, 0,
           {{0x7f0000200000, worker, 0, waiter.addr}, {0x7f0000200100, other, 0}, {0x7f0000200200, waiter, 0}});
  put_queue(m, kLock, {worker, other, waiter});
  auto r = read_lock_wait(m.reader(), waiter.pid, we_target(waiter), L);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->blockers.empty());
  EXPECT_EQ(r->queue_position, 2u);
}

TEST(LockGraph, TornWaitQueuesAreErrorsNotWrongPids) {
  const uint64_t head = kLock + L.lock_wait_procs;
  auto expect_error = [](const Image& m, const char* what) {
    auto r = read_lock_wait(m.reader(), r1.pid, we_target(r1), L);
    ASSERT_FALSE(r) << "blockers: " << (r ? r->blockers.size() : 0);
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  };
  {
    // The node ahead was just removed: its links read NULL.
    Image m = issue_queue();
    m.put<uint64_t>(alter.addr + L.proc_links + 8, 0);
    expect_error(m, "changed while read");
  }
  {
    // The queue reaches its head without the waiter in it.
    Image m = issue_queue();
    m.put<uint64_t>(alter.addr + L.proc_links + 8, head);
    expect_error(m, "changed while read");
  }
  {
    // A node ahead loops on itself: the walk is bounded.
    Image m = issue_queue();
    m.put<uint64_t>(alter.addr + L.proc_links + 8, alter.addr + L.proc_links);
    expect_error(m, "changed while read");
  }
  {
    // A PGPROC in this queue that waits for another lock.
    Image m = issue_queue();
    m.put<uint64_t>(alter.addr + L.proc_wait_lock, kLock + 0x1000);
    expect_error(m, "changed while read");
  }
  {
    // A queued PGPROC that cannot be read.
    Image m = issue_queue();
    m.put<uint64_t>(head + 8, 0x7f0000900000);
    expect_error(m, "not readable");
  }
}

// Granted while read: the queue no longer holds it and its waitLock is
// cleared. That is the end of its wait, not a torn list.
TEST(LockGraph, GrantedWhileReadIsNotWaitingNotAnError) {
  Image m = issue_queue();
  const uint64_t head = kLock + L.lock_wait_procs;
  const MemReader base = m.reader();
  bool granted = false;
  const MemReader racing = [&](uint64_t addr, void* buf, size_t len) {
    if (addr == head + 8 && !granted) {
      // ProcWakeup between our read of waitLock and of the queue.
      granted = true;
      m.put<uint64_t>(r1.addr + L.proc_wait_lock, 0);
      m.put<uint64_t>(alter.addr + L.proc_links + 8, r2.addr + L.proc_links);
      m.put<uint64_t>(r1.addr + L.proc_links + 8, 0);
    }
    return base(addr, buf, len);
  };
  auto r = read_lock_wait(racing, r1.pid, we_target(r1), L);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->waiting);
  EXPECT_TRUE(r->blockers.empty());
}

TEST(LockGraph, OnlyMeasuredLayouts) {
  EXPECT_TRUE(lock_layout(15));
  for (int v : {13, 14, 16, 17, 18}) EXPECT_FALSE(lock_layout(v)) << v;
}

TEST(LockConflicts, TheTableIsSymmetricAndMatchesTheDocs) {
  for (int a = 1; a <= 8; ++a)
    for (int b = 1; b <= 8; ++b)
      EXPECT_EQ(bool(lock_conflicts(a) & (1u << b)), bool(lock_conflicts(b) & (1u << a))) << a << " " << b;
  EXPECT_EQ(lock_conflicts(1), 1u << 8);                    // AccessShare: only AccessExclusive
  EXPECT_EQ(lock_conflicts(8), 0x1FEu);                     // AccessExclusive: everything
  EXPECT_FALSE(lock_conflicts(3) & (1u << 3));              // RowExclusive does not conflict with itself
  EXPECT_TRUE(lock_conflicts(4) & (1u << 4));               // ShareUpdateExclusive does
  EXPECT_EQ(lock_conflicts(0), 0u);
  EXPECT_EQ(lock_conflicts(9), 0u);
  EXPECT_EQ(lock_mask_text((1u << 3) | (1u << 7)), "RowExclusiveLock, ExclusiveLock");
}

}  // namespace
}  // namespace pgstall::model
