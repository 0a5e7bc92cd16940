// io-slow against a real PostgreSQL on a real disk throttled in the kernel:
// pgbench at about 1 TPS behind 0.5-2 s fdatasyncs is one slow-I/O episode
// per backend, not a flapping series of io-wait and lwlock-wait (the first
// wait may be one, before a series is seen); a big sort
// spilling to temp files (I/O-heavy, progressing) is nothing.
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;

namespace {

class IoSlowTest : public ClusterTest {};

// pgbench -P 1 lines: "progress: 6.0 s, 2.0 tps, lat ..."; the highest tps seen.
double max_tps(const std::string& log) {
  std::ifstream in(log);
  std::string line;
  double best = 0;
  while (std::getline(in, line)) {
    auto at = line.find(" s, ");
    if (line.rfind("progress:", 0) != 0 || at == std::string::npos) continue;
    best = std::max(best, std::stod(line.substr(at + 4)));
  }
  return best;
}

}  // namespace

TEST_F(IoSlowTest, AThrottledDiskIsOneSlowIoEpisodePerBackend) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("throttle");
  ASSERT_TRUE(s.ok());
  const auto backends = s.pids("BACKEND_PIDS");
  ASSERT_EQ(backends.size(), 2u);
  auto first = w.wait_for(
      [&](const Json& x) {
        return x.value("type", "") == "stall" && x.value("kind", "") == "io-slow" &&
               (x.value("pid", 0) == backends[0] || x.value("pid", 0) == backends[1]);
      },
      10s);
  ASSERT_TRUE(first) << "no io-slow for pgbench's backends\n" << w.dump();
  EXPECT_LE(seconds_between(s.ready(), first->at), 6.0);  // its 5 s window + 1 s
  w.run_for(12s);  // the episode goes on, watched
  // It really crawled: a few transactions a second at most, none stopped for good.
  const double tps = max_tps(s.value("PGBENCH_LOG"));
  EXPECT_LE(tps, 8.0) << "the disk was not slowed down";
  EXPECT_GT(tps, 0.0) << "the disk stopped instead of crawling";
  const auto stalls = w.of_type("stall");  // in the order they were reported
  for (int pid : backends) {
    int episodes = 0, before = 0;
    for (const auto& st : stalls) {
      if (st["pid"] != pid) continue;
      if (st["kind"] != "io-slow") {
        // The first slow wait may outlast io-wait's 1 s before the window
        // shows a series; once the episode is open, it is the one stall.
        EXPECT_EQ(episodes, 0) << "not one cause, one stall: " << st.dump();
        EXPECT_LE(++before, 1) << "a flapping series before the episode: " << st.dump();
        continue;
      }
      ++episodes;
      EXPECT_GE(st["detail"]["io_share"].get<double>(), 0.5) << st.dump();
      EXPECT_GE(st["detail"]["waits"].get<int>(), 3) << st.dump();
      EXPECT_NE(st["summary"].get<std::string>().find("waiting on I/O"), std::string::npos) << st.dump();
    }
    EXPECT_EQ(episodes, 1) << "backend " << pid << ": " << episodes << " io-slow episodes\n" << w.dump();
  }
  s.stop();  // unthrottled: the episodes end
  auto end = w.wait_for(
      [&](const Json& x) { return x.value("type", "") == "stall_end" && x.value("pid", 0) == backends[0]; }, 15s);
  EXPECT_TRUE(end) << "no end once the throttle was removed\n" << w.dump();
  EXPECT_EQ(w.stop(), 0);
}

TEST_F(IoSlowTest, ASortSpillingToTempFilesIsNotSlowIo) {
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  Scenario s("tempsort");
  ASSERT_TRUE(s.ok());
  const int sorter = s.pid("SORTER_PID");
  ASSERT_GT(sorter, 0);
  w.run_for(10s);
  // It was still sorting, into temp files.
  EXPECT_EQ(psql("SELECT state FROM pg_stat_activity WHERE pid = " + std::to_string(sorter)), "active");
  EXPECT_EQ(w.stop(), 0);
  for (const auto& st : w.of_type("stall")) ADD_FAILURE() << "flagged: " << st.dump();
}
