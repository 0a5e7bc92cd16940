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
