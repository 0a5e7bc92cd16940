// The hot-loop detector's in-kernel decisions (bpf/logic.h), compiled here as
// C++: windows swapped at an epoch bump, the syscall mix and its overflow,
// the sequence of the last calls, same-return and same-call counting (a path
// by its text), client traffic.
#include <sys/syscall.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "logic.h"

namespace {

struct Call {
  int nr;
  __u64 args[4];
  long ret;
};

pgstall_thread_state fresh() {
  pgstall_thread_state st;
  std::memset(&st, 0, sizeof st);
  st.sc_nr = PGSTALL_NO_SYSCALL;
  return st;
}

// What sys_exit does with a completed call: the arguments sys_enter saved,
// the text of its path argument (when it has one) hashed, then the count.
void complete(pgstall_thread_state& st, uint32_t epoch, const Call& c, const char* path = nullptr) {
  std::memcpy(st.sc_args, c.args, sizeof st.sc_args);
  const __u64 hash = path ? pgstall_path_hash(path, static_cast<long>(std::strlen(path)) + 1) : 0;
  pgstall_count_syscall(&st, epoch, c.nr, c.ret, hash);
}

const pgstall_mix_slot* slot_of(const pgstall_window& w, int nr) {
  for (const auto& s : w.mix)
    if (s.nr_plus1 == static_cast<uint32_t>(nr) + 1) return &s;
  return nullptr;
}

}  // namespace

TEST(BpfLogic, EpochBumpMovesTheFinishedWindowToPrev) {
  auto st = fresh();
  for (int i = 0; i < 3; ++i) complete(st, 1, {SYS_read, {3, 0, 8192, 0}, 8192});
  EXPECT_EQ(st.cur.epoch, 1u);
  EXPECT_EQ(st.cur.total, 3u);
  EXPECT_EQ(st.prev.total, 0u) << "no bump yet: nothing moved";

  complete(st, 2, {SYS_lseek, {3, 0, 0, 0}, 0});
  EXPECT_EQ(st.prev.epoch, 1u);
  EXPECT_EQ(st.prev.total, 3u);
  ASSERT_NE(slot_of(st.prev, SYS_read), nullptr);
  EXPECT_EQ(slot_of(st.prev, SYS_read)->count, 3u);
  EXPECT_EQ(st.cur.epoch, 2u);
  EXPECT_EQ(st.cur.total, 1u) << "the new window starts empty";
  EXPECT_EQ(slot_of(st.cur, SYS_read), nullptr);

  // A thread idle for several epochs: its last window, not an empty one, is prev.
  pgstall_window_at(&st, 5);
  EXPECT_EQ(st.prev.epoch, 2u);
  EXPECT_EQ(st.prev.total, 1u);
  // The same epoch again swaps nothing.
  pgstall_window_at(&st, 5);
  EXPECT_EQ(st.prev.epoch, 2u);
  EXPECT_EQ(st.cur.epoch, 5u);
}

TEST(BpfLogic, RepeatsCountOnlyTheSameNumberArgumentsAndResult) {
  auto st = fresh();
  const Call same{SYS_lseek, {7, 0, 0, 0}, 0};
  for (int i = 0; i < 5; ++i) complete(st, 1, same);
  EXPECT_EQ(st.cur.repeats, 4u) << "the first call has nothing to repeat";

  const uint32_t before = st.cur.repeats;
  complete(st, 1, {SYS_lseek, {7, 0, 0, 0}, -22});  // another result
  complete(st, 1, {SYS_lseek, {7, 8192, 0, 0}, 8192});  // another argument
  complete(st, 1, {SYS_lseek, {7, 0, 0, 1}, 0});  // the fourth argument counts too
  complete(st, 1, {SYS_read, {7, 0, 0, 0}, 0});  // another syscall
  EXPECT_EQ(st.cur.repeats, before);

  // A scan reading advancing offsets never repeats.
  auto scan = fresh();
  for (int i = 0; i < 100; ++i) complete(scan, 1, {SYS_pread64, {5, 0, 8192, static_cast<__u64>(i) * 8192}, 8192});
  EXPECT_EQ(scan.cur.repeats, 0u);
}

TEST(BpfLogic, RepeatsRememberTheLastEightCalls) {
  auto st = fresh();
  const Call a{SYS_read, {3, 0, 1, 0}, 1};
  complete(st, 1, a);
  for (int i = 0; i < PGSTALL_FP_RING - 1; ++i) complete(st, 1, {SYS_read, {3, 0, 1, 0}, 100 + i});
  complete(st, 1, a);  // seven others since: still remembered
  EXPECT_EQ(st.cur.repeats, 1u);
  for (int i = 0; i < PGSTALL_FP_RING; ++i) complete(st, 1, {SYS_read, {3, 0, 1, 0}, 200 + i});
  complete(st, 1, a);  // eight others since: forgotten
  EXPECT_EQ(st.cur.repeats, 1u);
}

TEST(BpfLogic, ANinthDistinctSyscallGoesToOther) {
  auto st = fresh();
  const int nrs[] = {SYS_openat, SYS_newfstatat, SYS_lseek, SYS_read, SYS_close, SYS_getppid, SYS_kill, SYS_futex};
  static_assert(sizeof nrs / sizeof nrs[0] == PGSTALL_MIX_SLOTS);
  for (int nr : nrs) complete(st, 1, {nr, {}, 0});
  EXPECT_EQ(st.cur.other, 0u);
  complete(st, 1, {SYS_write, {}, 0});
  complete(st, 1, {SYS_write, {}, 0});
  EXPECT_EQ(st.cur.other, 2u) << "no slot for write, however often it comes";
  EXPECT_EQ(slot_of(st.cur, SYS_write), nullptr);
  EXPECT_EQ(st.cur.total, 10u) << "calls in other still count in the total";
  complete(st, 1, {SYS_read, {}, 0});
  EXPECT_EQ(slot_of(st.cur, SYS_read)->count, 2u) << "a number with a slot keeps counting there";
  for (int i = 0; i < PGSTALL_MIX_SLOTS; ++i)
    EXPECT_EQ(st.cur.mix[i].nr_plus1, static_cast<uint32_t>(nrs[i]) + 1) << "slots in order of first call";
}

TEST(BpfLogic, TheSequenceKeepsTheLastCallsInOrder) {
  auto st = fresh();
  // pg_read_file() in a loop, as strace shows it: six calls a turn.
  const Call turn[] = {{SYS_openat, {static_cast<__u64>(-100), 0x5000, 0, 0}, 9},
                       {SYS_newfstatat, {9, 0x5100, 0x7000, 0x1000}, 0},
                       {SYS_lseek, {9, 0, 0, 0}, 0},
                       {SYS_read, {9, 0x6000, 4096, 0}, 3},
                       {SYS_read, {9, 0x6000, 4096, 0}, 0},
                       {SYS_close, {9, 0, 0, 0}, 0}};
  for (int i = 0; i < 3; ++i) complete(st, 1, turn[i]);
  EXPECT_EQ(st.cur.seq[0].nr, SYS_openat);
  EXPECT_EQ(st.cur.seq[0].arg0, -100) << "AT_FDCWD, as an int";
  EXPECT_EQ(st.cur.seq[0].ret, 9);
  EXPECT_EQ(st.cur.seq[2].nr, SYS_lseek);
  EXPECT_EQ(st.cur.seq[3].nr, 0) << "nothing recorded past the calls made";

  for (int i = 3; i < 6 * 5; ++i) complete(st, 1, turn[i % 6]);
  ASSERT_EQ(st.cur.total, 30u);
  // Call i of the window sits at seq[i % PGSTALL_SEQ_LEN]: the last 16 are calls 14..29.
  for (uint32_t i = 30 - PGSTALL_SEQ_LEN; i < 30; ++i) {
    const auto& c = st.cur.seq[i % PGSTALL_SEQ_LEN];
    const auto& want = turn[i % 6];
    EXPECT_EQ(c.nr, want.nr) << "call " << i;
    EXPECT_EQ(c.ret, want.ret) << "call " << i;
    EXPECT_EQ(c.arg0, static_cast<int32_t>(want.args[0])) << "call " << i;
    EXPECT_EQ(c.arg2, static_cast<uint32_t>(want.args[2])) << "call " << i;
  }

  // An epoch bump moves the sequence with its window; the new one starts empty.
  complete(st, 2, {SYS_getppid, {}, 1});
  EXPECT_EQ(st.prev.total, 30u);
  EXPECT_EQ(st.prev.seq[29 % PGSTALL_SEQ_LEN].nr, SYS_close);
  EXPECT_EQ(st.cur.seq[0].nr, SYS_getppid);
  EXPECT_EQ(st.cur.seq[1].nr, 0);
}

TEST(BpfLogic, TheSequenceTruncatesResultsAndArgumentsTo32Bits) {
  auto st = fresh();
  complete(st, 1, {SYS_lseek, {3, 0, 2, 0}, (1L << 32) + 8192});  // SEEK_END of a 4 GB file
  complete(st, 1, {SYS_openat, {static_cast<__u64>(-100), 0, 0, 0}, -2});
  complete(st, 1, {SYS_read, {0x100000005ULL, 0, (1ULL << 32) + 65536, 0}, 65536});
  EXPECT_EQ(st.cur.seq[0].ret, 8192);
  EXPECT_EQ(st.cur.seq[1].ret, -2) << "an error stays an error";
  EXPECT_EQ(st.cur.seq[2].arg0, 5);
  EXPECT_EQ(st.cur.seq[2].arg2, 65536u);
}

TEST(BpfLogic, SameReturnCountsCallsThatReturnedWhatThePreviousOneDid) {
  auto st = fresh();
  for (int i = 0; i < 4; ++i) complete(st, 1, {SYS_openat, {}, -2});  // ENOENT, again and again
  const auto* open = slot_of(st.cur, SYS_openat);
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->count, 4u);
  EXPECT_EQ(open->same_ret, 3u);
  EXPECT_EQ(open->last_ret, -2);

  // Alternating results never count; another number in between does not break the run.
  auto alt = fresh();
  for (int i = 0; i < 6; ++i) complete(alt, 1, {SYS_read, {}, i % 2 ? 0 : 8192});
  EXPECT_EQ(slot_of(alt.cur, SYS_read)->same_ret, 0u);
  complete(alt, 1, {SYS_lseek, {}, 0});
  complete(alt, 1, {SYS_read, {}, 0});  // as the last read (i = 5) returned
  EXPECT_EQ(slot_of(alt.cur, SYS_read)->same_ret, 1u) << "compared with the last read, not the last call";
}

TEST(BpfLogic, SocketSendAndReceiveAreClientTraffic) {
  for (int nr : {SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg}) EXPECT_TRUE(pgstall_sc_is_client_io(nr)) << nr;
  for (int nr : {SYS_read, SYS_write, SYS_accept, SYS_shutdown, SYS_epoll_pwait, SYS_futex})
    EXPECT_FALSE(pgstall_sc_is_client_io(nr)) << nr;
  auto st = fresh();
  complete(st, 1, {SYS_recvfrom, {}, 5});
  complete(st, 1, {SYS_sendto, {}, 5});
  complete(st, 1, {SYS_epoll_pwait, {}, 1});
  EXPECT_EQ(st.cur.client_io, 2u);
  EXPECT_EQ(st.cur.total, 3u);
}

TEST(BpfLogic, APathCountsByItsTextNotItsBuffer) {
  EXPECT_EQ(pgstall_sc_path_arg(SYS_openat), 1);
  EXPECT_EQ(pgstall_sc_path_arg(SYS_newfstatat), 1);
  EXPECT_EQ(pgstall_sc_path_arg(SYS_open), 0);
  EXPECT_EQ(pgstall_sc_path_arg(SYS_read), -1);
  EXPECT_EQ(pgstall_sc_path_arg(SYS_lseek), -1);

  // pg_read_file() in a loop passes the same name in a new buffer each turn.
  auto st = fresh();
  const __u64 at_fdcwd = static_cast<__u64>(-100);
  complete(st, 1, {SYS_openat, {at_fdcwd, 0x5000, 0, 0}, 9}, "PG_VERSION");
  complete(st, 1, {SYS_openat, {at_fdcwd, 0x9000, 0, 0}, 9}, "PG_VERSION");
  EXPECT_EQ(st.cur.repeats, 1u) << "the same file from another buffer is the same call";
  complete(st, 1, {SYS_openat, {at_fdcwd, 0x9000, 0, 0}, 9}, "postgresql.conf");
  EXPECT_EQ(st.cur.repeats, 1u) << "another file from the same buffer is not";
  // Unreadable text (hash 0): the address counts, as for any other argument.
  complete(st, 1, {SYS_openat, {at_fdcwd, 0x9000, 0, 0}, 9});
  complete(st, 1, {SYS_openat, {at_fdcwd, 0x9000, 0, 0}, 9});
  EXPECT_EQ(st.cur.repeats, 2u);
  // The sequence keeps the real arguments.
  EXPECT_EQ(st.cur.seq[0].arg0, -100);

  // Hashed up to the NUL, at most PGSTALL_PATH_LEN bytes.
  const char a[] = "base/5/1259\0junk", b[] = "base/5/1259\0other";
  EXPECT_EQ(pgstall_path_hash(a, 12), pgstall_path_hash(b, 12));
  EXPECT_NE(pgstall_path_hash("base/5/1259", 12), pgstall_path_hash("base/5/1249", 12));
  std::string longer(PGSTALL_PATH_LEN + 10, 'x'), other = longer;
  other.back() = 'y';
  EXPECT_EQ(pgstall_path_hash(longer.c_str(), PGSTALL_PATH_LEN), pgstall_path_hash(other.c_str(), PGSTALL_PATH_LEN));
}

TEST(BpfLogic, TheFingerprintDependsOnEveryInput) {
  const __u64 args[4] = {1, 2, 3, 4};
  const __u64 base = pgstall_fingerprint(17, args, 0);
  EXPECT_EQ(pgstall_fingerprint(17, args, 0), base);
  EXPECT_NE(pgstall_fingerprint(18, args, 0), base);
  EXPECT_NE(pgstall_fingerprint(17, args, 1), base);
  for (int i = 0; i < 4; ++i) {
    __u64 other[4] = {1, 2, 3, 4};
    other[i] ^= 1;
    EXPECT_NE(pgstall_fingerprint(17, other, 0), base) << "argument " << i;
  }
}
