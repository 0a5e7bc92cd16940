// The ring's records decoded from hand-made bytes: each tag to its value,
// threads told from processes, short and unknown records counted as bad.
#include <gtest/gtest.h>

#include <cstring>
#include <variant>

#include "capture/ring.h"

using namespace pgstall::capture;

TEST(Ring, RecordsDecodeByTheirTag) {
  pgstall_rec_fork f{};
  f.h.type = PGSTALL_REC_FORK;
  f.h.tgid = 100;
  f.child_pid = 101;
  f.child_tgid = 101;
  auto r = ring::decode(&f, sizeof f);
  ASSERT_TRUE(std::holds_alternative<ring::Fork>(r));
  EXPECT_EQ(std::get<ring::Fork>(r).parent_tgid, 100);
  EXPECT_EQ(std::get<ring::Fork>(r).child_pid, 101);
  EXPECT_FALSE(std::get<ring::Fork>(r).is_thread);
  f.child_tgid = 100;  // a new thread of 100
  EXPECT_TRUE(std::get<ring::Fork>(ring::decode(&f, sizeof f)).is_thread);

  pgstall_rec_offcpu o{};
  o.h.type = PGSTALL_REC_OFFCPU_SLOW;
  o.h.pid = 7;
  o.h.ts_ns = 99;
  o.waker_pid = 4100;
  auto s = std::get<ring::SlowOffcpu>(ring::decode(&o, sizeof o));
  EXPECT_EQ(s.pid, 7);
  EXPECT_EQ(s.end_ns, 99u);
  EXPECT_EQ(s.waker_pid, 4100u);

  pgstall_rec_pg_wait d{};
  d.h.type = PGSTALL_REC_DEADLOCK;
  d.h.pid = 8;
  d.w.lock_type = 5;
  d.w.lock_field[0] = 725;
  std::strcpy(d.w.lwlock_tranche, "WALWrite");
  auto dl = std::get<ring::Deadlock>(ring::decode(&d, sizeof d));
  EXPECT_EQ(dl.wait.lock_field[0], 725u);
  EXPECT_EQ(dl.wait.lwlock_tranche, "WALWrite");

  pgstall_rec_checkpoint c{};
  c.h.type = PGSTALL_REC_CHECKPOINT;
  c.h.tgid = 55;
  c.phase = PGSTALL_CKPT_START;
  c.flags = 4;
  auto ck = std::get<ring::Checkpoint>(ring::decode(&c, sizeof c));
  EXPECT_EQ(ck.tgid, 55);
  EXPECT_EQ(ck.flags, 4u);
}

TEST(Ring, ShortAndUnknownRecordsAreBad) {
  pgstall_rec_checkpoint c{};
  c.h.type = PGSTALL_REC_CHECKPOINT;
  EXPECT_TRUE(std::holds_alternative<ring::Bad>(ring::decode(&c, sizeof c.h)));
  pgstall_rec_hdr h{};
  h.type = 999;
  EXPECT_TRUE(std::holds_alternative<ring::Bad>(ring::decode(&h, sizeof h)));
  EXPECT_TRUE(std::holds_alternative<ring::Bad>(ring::decode(&h, 3)));
  h.type = PGSTALL_REC_EXIT;
  h.pid = 9;
  h.tgid = 8;
  EXPECT_TRUE(std::get<ring::Exit>(ring::decode(&h, sizeof h)).is_thread);
}
