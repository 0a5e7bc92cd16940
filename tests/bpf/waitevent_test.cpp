// The wait event read from a backend's memory equals what pg_stat_activity
// says for the same pid at the same moment, for every process of the test
// cluster (background processes, an idle session, pg_sleep, a lock waiter).
// Needs root and the test cluster.
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "../integration/harness.h"
#include "capture/pgmem.h"
#include "model/wait_event.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

// pid -> "Type:Event" ("" when not waiting), from pg_stat_activity.
std::map<int, std::string> activity() {
  std::map<int, std::string> out;
  std::istringstream in(psql(
      "SELECT pid, coalesce(wait_event_type, ''), coalesce(wait_event, '') FROM pg_stat_activity "
      "WHERE pid <> pg_backend_pid()"));
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find('|'), b = line.rfind('|');
    if (a == std::string::npos || a == b) continue;
    std::string type = line.substr(a + 1, b - a - 1), event = line.substr(b + 1);
    out[std::stoi(line.substr(0, a))] = type.empty() ? "" : type + ":" + event;
  }
  return out;
}

}  // namespace

TEST(WaitEvent, EqualsPgStatActivityForEveryProcess) {
  ASSERT_EQ(geteuid(), 0u) << "needs root";
  auto env = cluster_env(true);
  ASSERT_FALSE(env["PGSTALL_PGDATA"].empty());
  Scenario lock("rowlock");
  ASSERT_TRUE(lock.ok());
  Scenario healthy("healthy", "PGSTALL_HEALTHY_SECONDS=20");  // idle, idle in transaction, pg_sleep
  ASSERT_TRUE(healthy.ok());
  std::this_thread::sleep_for(500ms);

  pgstall::capture::WaitEventReader reader;
  std::map<int, std::string> mismatches;
  std::set<std::string> seen;
  // Values move (a walwriter wakes, pgbench's backends go from ClientRead to
  // DataFileRead and back many times a second): a pid counts as agreeing when
  // one of up to 20 back-to-back comparisons agrees.
  std::set<int> agreed;
  for (int attempt = 0; attempt < 20 && (attempt < 3 || !mismatches.empty()); ++attempt) {
    for (const auto& [pid, theirs] : activity()) {
      if (agreed.count(pid)) continue;
      auto info = reader.read(pid);
      if (!info) {
        mismatches[pid] = "unreadable: " + info.error().message;
        continue;
      }
      auto ours = pgstall::model::decode_wait_event(*info, 15);
      std::string text = ours ? ours->text() : "";
      if (text == theirs) {
        agreed.insert(pid);
        mismatches.erase(pid);
        seen.insert(text);
      } else {
        mismatches[pid] = "pgstall " + text + " vs pg_stat_activity " + theirs;
      }
    }
  }
  for (const auto& [pid, why] : mismatches) ADD_FAILURE() << "pid " << pid << ": " << why;
  // The interesting ones were really there.
  for (const char* w : {"Lock:transactionid", "Client:ClientRead", "Timeout:PgSleep"})
    EXPECT_TRUE(seen.count(w)) << w << " not among the agreed wait events";
  // And at least one background process's main loop (autovacuum launcher,
  // walwriter, background writer, ...).
  bool activity = false;
  for (const auto& w : seen) activity |= w.rfind("Activity:", 0) == 0;
  EXPECT_TRUE(activity) << "no Activity:* wait event among the agreed ones";
  EXPECT_GE(agreed.size(), 8u);
}
