// PostgreSQL's USDT probes on the real server: attached in Debian's postgres
// by /proc/PID/exe, resolved to sites, and a real row-lock wait shows its tag
// and mode in the waiter's in-flight state. Needs root and the test cluster.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../integration/harness.h"
#include "capture/tracer.h"
#include "testutil.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

TEST(Usdt, ContentionProbesAttachAndALockWaitCarriesItsTag) {
  ASSERT_EQ(geteuid(), 0u) << "needs root";
  auto env = cluster_env(true);
  ASSERT_FALSE(env["PGSTALL_PGDATA"].empty());
  const int pm = postmaster_pid(env);
  ASSERT_GT(pm, 0);

  pgstall::capture::Config cfg;
  cfg.syscalls = pgstall::capture::SyscallMode::Never;
  auto opened = pgstall::capture::Tracer::open(cfg);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& t = *opened;
  ASSERT_OK(t->attach_usdt(pm));
  std::vector<std::string> names;
  for (const auto& p : t->usdt_probes()) {
    names.push_back(p.name);
    EXPECT_TRUE(p.attached) << p.name << ": " << p.error;
    EXPECT_GT(p.sites, 0) << p.name;
  }
  // The contention probes, then the checkpoint's (checkpoint__done as a plain uprobe).
  EXPECT_EQ(names, (std::vector<std::string>{"lock__wait__start", "lock__wait__done", "lwlock__wait__start",
                                             "lwlock__wait__done", "deadlock__found", "checkpoint__start",
                                             "buffer__checkpoint__start", "buffer__checkpoint__sync__start",
                                             "buffer__checkpoint__done", "checkpoint__done"}));
  // Attaching again for the same executable is a no-op.
  ASSERT_OK(t->attach_usdt(pm));
  EXPECT_EQ(t->usdt_probes().size(), names.size());

  // Track the whole cluster from the postmaster down: new backends inherit it.
  pgstall_thread_state seed{};
  seed.flags = PGSTALL_F_TRACKED;
  seed.tgid = static_cast<uint32_t>(pm);
  seed.sc_nr = PGSTALL_NO_SYSCALL;
  seed.sleep_sc_nr = PGSTALL_NO_SYSCALL;
  ASSERT_OK(t->track(pm, seed));

  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
  ASSERT_GT(waiter, 0);
  ASSERT_TRUE(t->adopt(waiter));
  auto st = t->state(waiter);
  ASSERT_TRUE(st) << "waiter " << waiter << " not tracked by the kernel";
  EXPECT_NE(st->pg.lock_since_ns, 0u) << "lock__wait__start did not fire";
  EXPECT_EQ(st->pg.lock_type, 5u) << "PG 15 LOCKTAG_TRANSACTION is 5";
  EXPECT_EQ(st->pg.lock_mode, 5) << "ShareLock";
  auto xid = psql("SELECT backend_xid FROM pg_stat_activity WHERE pid = " + std::to_string(holder));
  EXPECT_EQ(std::to_string(st->pg.lock_field[0]), xid);
  EXPECT_GT(t->counters()[PGSTALL_CNT_LOCK_WAITS], 0u);

  s.stop();  // the holder commits: lock__wait__done clears it
  pgstall::test::wait_until([&] {
    auto after = t->state(waiter);
    return !after || after->pg.lock_since_ns == 0;
  });
  // The waiter's session may have ended; if not, its wait is over.
  if (auto after = t->state(waiter)) EXPECT_EQ(after->pg.lock_since_ns, 0u);
}
