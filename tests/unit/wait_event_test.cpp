#include "model/wait_event.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgstall::model {
namespace {

constexpr uint32_t kLWLock = 0x01000000, kLock = 0x03000000, kBufferPin = 0x04000000, kActivity = 0x05000000,
                   kClient = 0x06000000, kExtension = 0x07000000, kIPC = 0x08000000, kTimeout = 0x09000000,
                   kIO = 0x0A000000, kInjectionPoint = 0x0B000000;

std::string decoded(uint32_t info, int major) {
  const auto ev = decode_wait_event(info, major);
  return ev ? ev->text() : "<nullopt>";
}

bool decoded_known(uint32_t info, int major) {
  const auto ev = decode_wait_event(info, major);
  return ev && ev->known;
}

// Expected values below are enum positions counted in each major's sources:
// pgstat.h (13), utils/wait_event.h (14-16), wait_event_names.txt sorted by
// symbol (17), lwlocknames.txt / lwlocklist.h + BuiltinTrancheIds, LockTagType.

TEST(WaitEventPg13, KnownValues) {
  EXPECT_EQ(decoded(kClient | 0, 13), "Client:ClientRead");
  EXPECT_EQ(decoded(kClient | 6, 13), "Client:WalReceiverWaitStart");  // Client in 13, IPC from 14
  EXPECT_EQ(decoded(kIO | 13, 13), "IO:DataFileRead");
  EXPECT_EQ(decoded(kIO | 67, 13), "IO:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 8, 13), "LWLock:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 10, 13), "LWLock:Checkpoint");  // CheckpointLock, gone in 14
  EXPECT_EQ(decoded(kLWLock | 48, 13), "LWLock:XactBuffer");  // first builtin tranche
  EXPECT_EQ(decoded(kLWLock | 62, 13), "LWLock:LockManager");
  EXPECT_EQ(decoded(kLWLock | 72, 13), "LWLock:PerXactPredicateList");
  EXPECT_EQ(decoded(kLWLock | 73, 13), "LWLock:extension tranche 73");
  EXPECT_EQ(decoded(kLock | 5, 13), "Lock:transactionid");
  EXPECT_EQ(decoded(kActivity | 4, 13), "Activity:CheckpointerMain");
  EXPECT_EQ(decoded(kActivity | 7, 13), "Activity:PgStatMain");
  EXPECT_EQ(decoded(kTimeout | 1, 13), "Timeout:PgSleep");
  EXPECT_EQ(decoded(kTimeout | 5, 13), "Timeout:RegisterSyncRequest");  // appended by a minor
  EXPECT_EQ(decoded(kIPC | 0, 13), "IPC:BackupWaitWalArchive");
  EXPECT_EQ(decoded(kIO | 68, 13), "IO:event 0x44");
}

TEST(WaitEventPg14, KnownValues) {
  EXPECT_EQ(decoded(kClient | 0, 14), "Client:ClientRead");
  EXPECT_EQ(decoded(kIPC | 6, 14), "IPC:BufferIO");
  EXPECT_EQ(decoded(kIPC | 45, 14), "IPC:WalReceiverWaitStart");
  EXPECT_EQ(decoded(kIO | 15, 14), "IO:DataFileRead");
  EXPECT_EQ(decoded(kIO | 69, 14), "IO:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 8, 14), "LWLock:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 10, 14), "LWLock:unassigned tranche 10");
  EXPECT_EQ(decoded(kLWLock | 55, 14), "LWLock:WALInsert");
  EXPECT_EQ(decoded(kLWLock | 56, 14), "LWLock:BufferContent");
  EXPECT_EQ(decoded(kLWLock | 72, 14), "LWLock:extension tranche 72");
  EXPECT_EQ(decoded(kLock | 5, 14), "Lock:transactionid");
  EXPECT_EQ(decoded(kActivity | 12, 14), "Activity:WalWriterMain");
  EXPECT_EQ(decoded(kTimeout | 1, 14), "Timeout:PgSleep");
  EXPECT_EQ(decoded(kTimeout | 5, 14), "Timeout:CheckpointWriteDelay");
}

TEST(WaitEventPg15, KnownValues) {
  EXPECT_EQ(decoded(kClient | 0, 15), "Client:ClientRead");
  EXPECT_EQ(decoded(kIO | 17, 15), "IO:DataFileRead");
  EXPECT_EQ(decoded(kIO | 72, 15), "IO:WALWrite");
  EXPECT_EQ(decoded(kIO | 73, 15), "IO:VersionFileSync");  // appended by a minor
  EXPECT_EQ(decoded(kLWLock | 8, 15), "LWLock:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 55, 15), "LWLock:WALInsert");
  EXPECT_EQ(decoded(kLWLock | 60, 15), "LWLock:BufferMapping");
  EXPECT_EQ(decoded(kLWLock | 61, 15), "LWLock:LockManager");
  EXPECT_EQ(decoded(kLWLock | 74, 15), "LWLock:PgStatsData");
  EXPECT_EQ(decoded(kLWLock | 75, 15), "LWLock:extension tranche 75");
  EXPECT_EQ(decoded(kLock | 5, 15), "Lock:transactionid");
  EXPECT_EQ(decoded(kLock | 1, 15), "Lock:extend");
  EXPECT_EQ(decoded(kActivity | 2, 15), "Activity:BgWriterHibernate");
  EXPECT_EQ(decoded(kActivity | 3, 15), "Activity:BgWriterMain");
  EXPECT_EQ(decoded(kActivity | 4, 15), "Activity:CheckpointerMain");
  EXPECT_EQ(decoded(kActivity | 1, 15), "Activity:AutoVacuumMain");
  EXPECT_EQ(decoded(kActivity | 11, 15), "Activity:WalWriterMain");
  EXPECT_EQ(decoded(kTimeout | 2, 15), "Timeout:PgSleep");
  EXPECT_EQ(decoded(kIPC | 47, 15), "IPC:SyncRep");
  EXPECT_EQ(decoded(kBufferPin, 15), "BufferPin:BufferPin");
  EXPECT_EQ(decoded(kExtension, 15), "Extension:Extension");
}

TEST(WaitEventPg16, KnownValues) {
  EXPECT_EQ(decoded(kClient | 0, 16), "Client:ClientRead");
  EXPECT_EQ(decoded(kIO | 21, 16), "IO:DSMAllocate");
  EXPECT_EQ(decoded(kIO | 73, 16), "IO:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 8, 16), "LWLock:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 76, 16), "LWLock:LogicalRepLauncherHash");
  EXPECT_EQ(decoded(kLWLock | 77, 16), "LWLock:extension tranche 77");
  EXPECT_EQ(decoded(kLock | 5, 16), "Lock:transactionid");
  EXPECT_EQ(decoded(kLock | 11, 16), "Lock:applytransaction");
  EXPECT_EQ(decoded(kActivity | 7, 16), "Activity:LogicalParallelApplyMain");
  EXPECT_EQ(decoded(kTimeout | 2, 16), "Timeout:PgSleep");
  EXPECT_EQ(decoded(kTimeout | 6, 16), "Timeout:SpinDelay");
}

TEST(WaitEventPg17, KnownValues) {
  EXPECT_EQ(decoded(kClient | 0, 17), "Client:ClientRead");
  EXPECT_EQ(decoded(kClient | 7, 17), "Client:WalSenderWaitForWal");
  // Generated names: mechanical CamelCase of the symbol.
  EXPECT_EQ(decoded(kIO | 76, 17), "IO:WalWrite");
  EXPECT_EQ(decoded(kIO | 17, 17), "IO:DataFileRead");
  // Sorted by symbol: BUFFILE_TRUNCATE before BUFFILE_WRITE.
  EXPECT_EQ(decoded(kIO | 4, 17), "IO:BuffileTruncate");
  EXPECT_EQ(decoded(kIO | 5, 17), "IO:BuffileWrite");
  // uc() sort: WALSENDER_* before WAL_*.
  EXPECT_EQ(decoded(kIO | 63, 17), "IO:WalsenderTimelineHistoryRead");
  EXPECT_EQ(decoded(kIO | 64, 17), "IO:WalBootstrapSync");
  EXPECT_EQ(decoded(kLWLock | 8, 17), "LWLock:WALWrite");
  EXPECT_EQ(decoded(kLWLock | 11, 17), "LWLock:unassigned tranche 11");  // XactSLRULock became a tranche
  EXPECT_EQ(decoded(kLWLock | 52, 17), "LWLock:SerialControl");
  EXPECT_EQ(decoded(kLWLock | 53, 17), "LWLock:XactBuffer");
  EXPECT_EQ(decoded(kLWLock | 66, 17), "LWLock:LockManager");
  EXPECT_EQ(decoded(kLWLock | 90, 17), "LWLock:XactSLRU");
  EXPECT_EQ(decoded(kLWLock | 91, 17), "LWLock:ParallelVacuumDSA");
  EXPECT_EQ(decoded(kLWLock | 92, 17), "LWLock:extension tranche 92");
  EXPECT_EQ(decoded(kLock | 5, 17), "Lock:transactionid");
  EXPECT_EQ(decoded(kActivity | 1, 17), "Activity:AutovacuumMain");
  EXPECT_EQ(decoded(kActivity | 14, 17), "Activity:WalSummarizerWal");
  EXPECT_EQ(decoded(kTimeout | 2, 17), "Timeout:PgSleep");
  EXPECT_EQ(decoded(kIPC | 37, 17), "IPC:MultixactCreation");
}

TEST(WaitEvent, SameNumberDiffersByMajor) {
  EXPECT_EQ(decoded(kTimeout | 1, 14), "Timeout:PgSleep");
  EXPECT_EQ(decoded(kTimeout | 1, 15), "Timeout:CheckpointWriteDelay");
  EXPECT_EQ(decoded(kActivity | 7, 14), "Activity:PgStatMain");
  EXPECT_EQ(decoded(kActivity | 7, 15), "Activity:RecoveryWalStream");
  EXPECT_EQ(decoded(kIO | 72, 15), "IO:WALWrite");
  EXPECT_EQ(decoded(kIO | 72, 16), "IO:WALSyncMethodAssign");
}

TEST(WaitEvent, NotWaitingAndUnsupportedMajors) {
  for (int major = 13; major <= 17; ++major) {
    EXPECT_TRUE(wait_events_supported(major));
    EXPECT_FALSE(decode_wait_event(0, major).has_value());
  }
  for (int major : {0, 9, 12, 18, 19, -1}) {
    SCOPED_TRACE(major);
    EXPECT_FALSE(wait_events_supported(major));
    EXPECT_FALSE(decode_wait_event(kClient, major).has_value());
    EXPECT_TRUE(wait_event_table(WaitClass::IO, major).empty());
    EXPECT_FALSE(lock_tag_type_name(0, major).has_value());
  }
}

TEST(WaitEvent, UnknownClassAndEventArePlaceholders) {
  auto ev = decode_wait_event(0x02000001, 15);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->text(), "class 0x02:event 0x1");
  EXPECT_FALSE(ev->known);
  EXPECT_EQ(decoded(0xFF123456, 16), "class 0xff:event 0x123456");
  EXPECT_EQ(decoded(kInjectionPoint | 1, 16), "class 0x0b:event 0x1");  // no such class before 17

  ev = decode_wait_event(kIO | 0x4f, 15);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->text(), "IO:event 0x4f");
  EXPECT_FALSE(ev->known);
  EXPECT_EQ(decoded(kLock | 12, 15), "Lock:event 0xc");
  EXPECT_EQ(decoded(kActivity | 0xFFFF, 17), "Activity:event 0xffff");

  // Reserved bits 16-23: the server's enum switch matches nothing...
  EXPECT_EQ(decoded(kActivity | 0x010004, 15), "Activity:event 0x10004");
  // ...while LWLock and Lock look at the low 16 bits only.
  EXPECT_EQ(decoded(kLWLock | 0x010008, 15), "LWLock:WALWrite");
}

TEST(WaitEvent, KnownFlag) {
  EXPECT_TRUE(decoded_known(kLWLock | 8, 15));
  EXPECT_FALSE(decoded_known(kLWLock | 0, 15));   // never-assigned slot
  EXPECT_FALSE(decoded_known(kLWLock | 75, 15));  // extension tranche
  EXPECT_FALSE(decoded_known(kLWLock | 400, 17));
  EXPECT_TRUE(decoded_known(kClient | 0, 17));
}

TEST(WaitEvent, BufferPinExtensionInjectionPoint) {
  for (int major = 13; major <= 16; ++major) {
    // 13-16 name every event of these classes after the class.
    EXPECT_EQ(decoded(kBufferPin | 3, major), "BufferPin:BufferPin");
    EXPECT_EQ(decoded(kExtension | 3, major), "Extension:Extension");
    EXPECT_TRUE(decoded_known(kExtension | 3, major));
  }
  EXPECT_EQ(decoded(kBufferPin, 17), "BufferPin:BufferPin");
  EXPECT_EQ(decoded(kBufferPin | 1, 17), "BufferPin:event 0x1");
  EXPECT_EQ(decoded(kExtension, 17), "Extension:Extension");
  EXPECT_EQ(decoded(kExtension | 3, 17), "Extension:custom event 3");
  EXPECT_FALSE(decoded_known(kExtension | 3, 17));
  EXPECT_EQ(decoded(kInjectionPoint | 2, 17), "InjectionPoint:custom event 2");
}

TEST(WaitEvent, Text) {
  WaitEvent ev{"LWLock", "WALWrite"};
  EXPECT_EQ(ev.text(), "LWLock:WALWrite");
  EXPECT_TRUE(ev.known);
}

// Every table: no empty names except the LWLock gaps the sources leave, no
// duplicates, no whitespace; sizes as counted in the sources.
TEST(WaitEventTables, WellFormed) {
  struct Expect {
    int major;
    std::set<size_t> lwlock_gaps;
    size_t lwlock, lock, activity, client, ipc, timeout, io;
  } expects[] = {
      {13, {0, 45}, 73, 11, 13, 9, 42, 6, 68},
      {14, {0, 10, 45}, 72, 11, 13, 8, 47, 7, 74},
      {15, {0, 10, 45}, 75, 11, 12, 8, 51, 8, 74},
      {16, {0, 10, 45}, 77, 12, 13, 8, 53, 9, 75},
      {17, {0, 10, 11, 12, 14, 15, 26, 31, 38, 42, 45}, 92, 12, 16, 9, 57, 10, 77},
  };
  const WaitClass classes[] = {WaitClass::LWLock, WaitClass::Lock,    WaitClass::Activity, WaitClass::Client,
                               WaitClass::IPC,    WaitClass::Timeout, WaitClass::IO};
  for (const auto& e : expects) {
    const size_t sizes[] = {e.lwlock, e.lock, e.activity, e.client, e.ipc, e.timeout, e.io};
    for (size_t c = 0; c < std::size(classes); ++c) {
      SCOPED_TRACE("major " + std::to_string(e.major) + " class " + std::to_string(static_cast<int>(classes[c])));
      const auto table = wait_event_table(classes[c], e.major);
      EXPECT_EQ(table.size(), sizes[c]);
      std::set<std::string_view> seen;
      for (size_t id = 0; id < table.size(); ++id) {
        const std::string_view name = table[id];
        if (name.empty()) {
          EXPECT_EQ(classes[c], WaitClass::LWLock) << "empty name at " << id;
          EXPECT_TRUE(e.lwlock_gaps.count(id)) << "unexpected gap at " << id;
          continue;
        }
        EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
        for (char ch : name) EXPECT_FALSE(std::isspace(static_cast<unsigned char>(ch))) << name;
      }
      if (classes[c] == WaitClass::LWLock)
        for (size_t gap : e.lwlock_gaps) EXPECT_TRUE(gap < table.size() && table[gap].empty()) << gap;
    }
    EXPECT_TRUE(wait_event_table(WaitClass::BufferPin, e.major).empty());
    EXPECT_TRUE(wait_event_table(WaitClass::Extension, e.major).empty());
  }
}

// Every named id decodes to its table entry and is marked known.
TEST(WaitEventTables, DecodeMatchesTables) {
  const std::pair<WaitClass, uint32_t> classes[] = {
      {WaitClass::LWLock, kLWLock}, {WaitClass::Lock, kLock}, {WaitClass::Activity, kActivity},
      {WaitClass::Client, kClient}, {WaitClass::IPC, kIPC},   {WaitClass::Timeout, kTimeout},
      {WaitClass::IO, kIO},
  };
  for (int major = 13; major <= 17; ++major) {
    for (const auto& [cls, base] : classes) {
      const auto table = wait_event_table(cls, major);
      for (uint32_t id = 0; id < table.size(); ++id) {
        if (table[id].empty()) continue;
        const auto ev = decode_wait_event(base | id, major);
        ASSERT_TRUE(ev);
        EXPECT_EQ(ev->name, table[id]);
        EXPECT_TRUE(ev->known);
      }
      // One past the end is never a name.
      EXPECT_FALSE(decoded_known(base | static_cast<uint32_t>(table.size()), major));
    }
  }
}

TEST(LockNames, Modes) {
  EXPECT_FALSE(lock_mode_name(0));
  EXPECT_EQ(lock_mode_name(1), "AccessShareLock");
  EXPECT_EQ(lock_mode_name(3), "RowExclusiveLock");
  EXPECT_EQ(lock_mode_name(4), "ShareUpdateExclusiveLock");
  EXPECT_EQ(lock_mode_name(7), "ExclusiveLock");
  EXPECT_EQ(lock_mode_name(8), "AccessExclusiveLock");
  EXPECT_FALSE(lock_mode_name(9));
  EXPECT_FALSE(lock_mode_name(-1));
}

TEST(LockNames, TagTypes) {
  const std::vector<std::string_view> common = {
      "relation",   "extend",    "frozenid", "page",     "tuple",    "transactionid",
      "virtualxid", "spectoken", "object",   "userlock", "advisory",
  };
  for (int major = 13; major <= 17; ++major) {
    SCOPED_TRACE(major);
    for (size_t i = 0; i < common.size(); ++i) EXPECT_EQ(lock_tag_type_name(static_cast<uint8_t>(i), major), common[i]);
    if (major >= 16)
      EXPECT_EQ(lock_tag_type_name(11, major), "applytransaction");
    else
      EXPECT_FALSE(lock_tag_type_name(11, major));
    EXPECT_FALSE(lock_tag_type_name(12, major));
    EXPECT_FALSE(lock_tag_type_name(255, major));
  }
}

}  // namespace
}  // namespace pgstall::model
