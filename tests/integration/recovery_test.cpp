// Crash recovery on a slow disk, for real: the startup process replays WAL
// at a few read IOPS. It is one slow-I/O episode (after at most one io-wait
// while the first long read is all that is known), and every line on it says
// where recovery is: the segment it replays, for how long.
#include <fstream>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

TEST(RecoveryTest, CrashRecoveryOnASlowDiskIsOneEpisodeWithItsProgress) {
  ASSERT_EQ(geteuid(), 0u) << "integration tests need root (BPF, cgroups, loop devices)";
  auto env = cluster_env(true);
  ASSERT_FALSE(env["PGSTALL_PGDATA"].empty());
  Scenario s("slowrecovery");
  ASSERT_TRUE(s.ok());
  const int startup = s.pid("STARTUP_PID");
  ASSERT_GT(startup, 0);
  {
    std::ifstream f("/proc/" + std::to_string(startup) + "/cmdline");
    std::string title((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_NE(title.find("startup recovering"), std::string::npos) << "not replaying WAL: " << title;
  }

  Watch w({"--data-dir", env["PGSTALL_PGDATA"]});
  ASSERT_TRUE(w.started()) << w.dump();
  auto hit = w.wait_for(is_stall("io-slow", startup), 10s);
  ASSERT_TRUE(hit) << "no io-slow for the startup process " << startup << "\n" << w.dump();
  const auto& d = hit->json["detail"];
  EXPECT_FALSE(d["recovery"].value("segment", "").empty()) << d.dump();
  EXPECT_NE(hit->json["summary"].get<std::string>().find("; recovery: replaying "), std::string::npos)
      << hit->json.dump();
  w.run_for(6s);  // recovery goes on, watched
  int slow = 0, io_wait = 0;
  for (const auto& st : w.of_type("stall")) {
    if (st["pid"] != startup) continue;
    if (st["kind"] == "io-slow") ++slow;
    else if (st["kind"] == "io-wait") ++io_wait;
    else ADD_FAILURE() << "not one cause, one stall: " << st.dump();
  }
  EXPECT_EQ(slow, 1) << w.dump();
  EXPECT_LE(io_wait, 1) << "a flapping series of io-wait\n" << w.dump();

  s.stop();  // unthrottled: recovery ends, the startup process exits
  auto end = w.wait_for(
      [&](const Json& x) {
        return x.value("type", "") == "stall_end" && x.value("pid", 0) == startup && x.value("kind", "") == "io-slow";
      },
      60s);
  EXPECT_TRUE(end) << "no end once recovery could go on\n" << w.dump();
  EXPECT_EQ(w.stop(), 0);
  EXPECT_EQ(psql("SELECT 1"), "1") << "the cluster was not left usable";
}
