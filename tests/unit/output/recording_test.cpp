// The recording's records, each built in one place, read back by the same
// reader report uses; the folded stacks of a run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "output/folded.h"
#include "output/recording.h"
#include "record/report.h"

using namespace pgstall;

namespace {

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string(name) + "." + std::to_string(getpid()))).string();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

nlohmann::json entries() {
  return nlohmann::json::array(
      {{{"kind", "offcpu"}, {"tgid", 42}, {"pid", 42}, {"backend_type", "client backend"}, {"weight", 5'000'000},
        {"frames", {"main", "ProcSleep", "do_epoll_wait [k]"}}},
       {{"kind", "oncpu"}, {"tgid", 42}, {"pid", 42}, {"backend_type", "client backend"}, {"weight", 3},
        {"frames", {"main", "ExecScan"}}}});
}

}  // namespace

TEST(RecordingWriter, EveryRecordReadsBack) {
  const std::string path = temp_path("pgstall-recording-test");
  std::filesystem::remove(path);
  output::Clock clock(0);
  output::RecordingWriter w;
  ASSERT_TRUE(w.open(path, output::recording_meta({"9.9", {{"lock_sleep_s", 5.0}}, true, 49, true}, clock)));
  model::Process p;
  p.pid = 42;
  p.postmaster = 40;
  p.title.raw = "postgres: app shop [local] idle";
  w.process(1, p);
  w.process(2, p);  // same title: nothing new
  p.title.raw = "postgres: app shop [local] UPDATE";
  w.process(3, p);
  w.maps(4, 42, {{0x1000, 0x2000, 0, "/usr/lib/postgresql/15/bin/postgres"}});
  w.build_ids(5, {{"/usr/lib/postgresql/15/bin/postgres", "abcd"}});
  model::Snapshot s;
  s.pid = 42;
  w.snapshot(6, {s}, clock);
  w.stacks(7, entries());
  w.stacks(8, nlohmann::json::array());  // nothing drained: no record
  w.counters(9, {{"ring_drops", 2, true}, {"syscalls", 10, false}, {"stacks_lost", 0, true}});
  w.event({{"type", "stall"}, {"pid", 42}});
  ASSERT_TRUE(w.close("duration"));
  EXPECT_FALSE(w.failed());
  EXPECT_NE(w.summary().find(" records, "), std::string::npos);

  const auto r = record::load_file(path);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.meta["pgstall"], "9.9");
  EXPECT_EQ(r.meta["oncpu_hz"], 49);
  EXPECT_EQ(r.meta["thresholds"]["lock_sleep_s"], 5.0);
  EXPECT_EQ(r.processes.at(42)["title"], "postgres: app shop [local] UPDATE");
  EXPECT_EQ(r.processes_with_maps, 1u);
  EXPECT_EQ(r.build_ids["/usr/lib/postgresql/15/bin/postgres"], "abcd");
  EXPECT_EQ(r.snapshots, 1u);
  EXPECT_EQ(r.stacks.size(), 2u);
  EXPECT_EQ(r.counters["counters"]["syscalls"], 10);
  EXPECT_EQ(r.counters["lost"], nlohmann::json({{"ring_drops", 2}}));  // only losses that happened
  ASSERT_EQ(r.stalls.size(), 1u);
  EXPECT_NE(r.stalls[0].start_ts, 0u);  // the writer stamped it
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(r.end_reason, "duration");
  std::filesystem::remove(path);
}

TEST(RecordingWriter, NotOpenWritesNothingAndClosesCleanly) {
  output::RecordingWriter w;
  w.event({{"type", "stall"}});
  EXPECT_FALSE(w.is_open());
  EXPECT_TRUE(w.close("interrupted"));
  EXPECT_EQ(w.summary(), "");
  EXPECT_FALSE(w.open("/nonexistent-dir/x.pgstall", {{"pgstall", "t"}}));
}

TEST(FoldedStacks, OffCpuInMicrosecondsOnCpuInSamples) {
  output::FoldedStacks f;
  f.add(entries());
  f.add(entries());
  EXPECT_EQ(f.offcpu_entries(), 2u);
  EXPECT_EQ(f.oncpu_samples(), 6u);
  const std::string path = temp_path("pgstall-folded-test");
  ASSERT_TRUE(f.write(path));
  EXPECT_EQ(slurp(path), "client backend;main;ProcSleep;do_epoll_wait [k] 10000\n");
  EXPECT_EQ(slurp(path + ".oncpu"), "client backend;main;ExecScan 6\n");
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".oncpu");
  EXPECT_EQ(output::FoldedStacks().write("/nonexistent-dir/x.folded").error().message,
            "cannot create /nonexistent-dir/x.folded: directory /nonexistent-dir: No such file or directory");
  // An existing file is never overwritten.
  std::ofstream(path) << "kept\n";
  EXPECT_FALSE(f.write(path));
  EXPECT_EQ(slurp(path), "kept\n");
  std::filesystem::remove(path);
}

// --folded's files are made before the run; an on-CPU one that gets no
// samples is removed, and no temporary is left beside them.
TEST(FoldedStacks, PreparedFilesLeaveNothingExtra) {
  const std::string dir = temp_path("pgstall-folded-dir");
  std::filesystem::create_directory(dir);
  auto files = output::FoldedFiles::create(dir + "/run.folded", true);
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir + "/run.folded"));  // only temporaries while running
  output::FoldedStacks f;
  f.add(nlohmann::json::array({{{"kind", "offcpu"}, {"backend_type", "walwriter"}, {"weight", 2'000'000},
                                {"frames", {"main", "WaitLatch"}}}}));
  ASSERT_TRUE(f.write(std::move(*files)));
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"run.folded"});
  EXPECT_EQ(slurp(dir + "/run.folded"), "walwriter;main;WaitLatch 2000\n");
  std::filesystem::remove_all(dir);
}

// Ring drops per probe and a stall whose input lost records, written by the
// recorder and read back by the report, text and JSON.
TEST(RecordingWriter, TheReportShowsDropsByProbeAndIncompleteStalls) {
  const std::string path = temp_path("pgstall-recording-drops-test");
  std::filesystem::remove(path);
  output::Clock clock(0);
  output::RecordingWriter w;
  ASSERT_TRUE(w.open(path, output::recording_meta({"9.9", {{"lock_sleep_s", 5.0}}, false, 0, true}, clock)));
  w.event({{"type", "stall"}, {"kind", "lock-sleep"}, {"pid", 42}, {"summary", "waits"}, {"duration_s", 5.0},
           {"input_lost", {{"sched_process_fork", 3}}}});
  w.event({{"type", "stall_end"}, {"kind", "lock-sleep"}, {"pid", 42}, {"duration_s", 9.0}, {"woken_by", 41},
           {"input_lost", {{"sched_process_fork", 30}, {"sched_switch", 2}}}});
  w.event({{"type", "stall"}, {"kind", "io-wait"}, {"pid", 43}, {"summary", "in fsync"}, {"duration_s", 2.0}});
  model::RingDrops ring{{{"sched_switch", 2}, {"sched_process_fork", 30}, {"sched_process_exit", 0}}};
  w.counters(9, {{"ring_drops", ring.total(), true}, {"syscalls", 10, false}}, ring);
  ASSERT_TRUE(w.close("duration"));

  const auto r = record::load_file(path);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto j = record::report_json(r, 5);
  EXPECT_EQ(j["lost"], nlohmann::json({{"ring_drops", 32}}));
  EXPECT_EQ(j["ring_drops_by_probe"], nlohmann::json({{"sched_switch", 2}, {"sched_process_fork", 30}}));
  ASSERT_EQ(j["stalls"].size(), 2u);
  // The end's count: the whole stall.
  EXPECT_EQ(j["stalls"][0]["input_incomplete"], nlohmann::json({"sched_process_fork", "sched_switch"}));
  EXPECT_EQ(j["stalls"][0]["input_lost"]["sched_process_fork"], 30);
  EXPECT_FALSE(j["stalls"][1].contains("input_incomplete"));
  const auto text = record::report_text(r, 5);
  EXPECT_NE(text.find("lost: ring_drops=32 (sched_process_fork 30, sched_switch 2)"), std::string::npos) << text;
  EXPECT_NE(text.find("lock-sleep 9.0s — waits [ended, woken by pid 41] (input incomplete: 32 ring records lost: "
                      "sched_process_fork 30, sched_switch 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("io-wait 2.0s — in fsync [still in flight at the end]\n"), std::string::npos) << text;
  std::filesystem::remove(path);
}
