// Lock tags as lock__wait__start hands them over, in pg_locks' words.
#include <gtest/gtest.h>

#include "model/locktag.h"

using namespace pgstall::model;

TEST(LockTag, ModesByNumber) {
  EXPECT_EQ(lock_mode_text(1), "AccessShareLock");
  EXPECT_EQ(lock_mode_text(5), "ShareLock");
  EXPECT_EQ(lock_mode_text(8), "AccessExclusiveLock");
  EXPECT_EQ(lock_mode_text(0), "mode 0");
  EXPECT_EQ(lock_mode_text(9), "mode 9");
}

TEST(LockTag, FieldsMeanWhatTheTypeSays) {
  LockTag t;
  t.type = "transactionid";
  t.field = {725, 0, 0, 0};
  t.mode = 5;
  EXPECT_EQ(describe_lock(t), "transactionid 725");
  EXPECT_EQ(lock_json(t)["text"], "transactionid 725 ShareLock");
  EXPECT_EQ(lock_json(t)["xid"], 725);
  t.type = "relation";
  t.field = {5, 16384, 0, 0};
  t.mode = 8;
  EXPECT_EQ(describe_lock(t), "relation 5/16384");
  EXPECT_EQ(lock_json(t)["relation"], 16384);
  EXPECT_EQ(lock_json(t)["mode"], "AccessExclusiveLock");
  t.type = "tuple";
  t.field = {5, 16384, 0, 1};
  EXPECT_EQ(describe_lock(t), "tuple 5/16384 (0,1)");
  t.type = "virtualxid";
  t.field = {3, 17, 0, 0};
  EXPECT_EQ(describe_lock(t), "virtualxid 3/17");
}

TEST(LockTag, AdvisoryKeys) {
  LockTag t;
  t.type = "advisory";
  t.field = {5, 0, 4242, 1};  // pg_advisory_lock(4242): bigint key, high word 0
  EXPECT_EQ(describe_lock(t), "advisory 5 key 4242");
  t.field = {5, 1, 2, 1};
  EXPECT_EQ(describe_lock(t), "advisory 5 key 4294967298");
  t.field = {5, 7, static_cast<uint32_t>(-3), 2};  // pg_advisory_lock(7, -3)
  EXPECT_EQ(describe_lock(t), "advisory 5 keys 7,-3");
}

TEST(LockTag, UnknownTypeShowsItsNumber) {
  LockTag t;
  t.type_id = 42;
  t.field = {1, 2, 3, 4};
  EXPECT_EQ(describe_lock(t), "locktag type 42 1 2 3 4");
  EXPECT_TRUE(lock_json(t)["type"].is_null());
}
