#pragma once
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pgstall::cli {

struct WatchOptions {
  std::vector<int> pids;
  std::vector<std::string> data_dirs;
  std::string duration;
  bool json = false;
  bool plain = false;
  std::string interval = "100ms";
  std::string ring_size = "4MiB";  // the BPF ring buffer (testing, overload studies)
  // Detector thresholds as typed, by key ("lock_sleep_s" -> "2s"); flags
  // generated from the detector registry.
  std::map<std::string, std::string> thresholds;
  bool no_block = false;
  std::string syscalls = "auto";
  bool no_usdt = false;
  bool no_wait_events = false;
  bool queries = false;
  std::string lwlock_probes = "auto";
  std::string dsn;
  std::string folded;  // --folded FILE: off-CPU and on-CPU stacks, folded, at the end
  // record: the same loop, written to a file with stacks.
  bool record = false;
  std::string output;
  bool until_stall_ends = false;
  int oncpu_hz = 49;
  bool no_stacks = false;

  void add_to(CLI::App& app);
  void add_record_to(CLI::App& app);
};

int run_watch(const WatchOptions& o);

struct ReportOptions {
  std::string file;
  bool json = false;
  int top = 10;
  int pid = 0;  // 0: every process
  void add_to(CLI::App& app);
};
int run_report(const ReportOptions& o);

struct FlamegraphOptions {
  std::string file, kind = "offcpu", format = "svg", output;
  int pid = 0;
  void add_to(CLI::App& app);
};
int run_flamegraph(const FlamegraphOptions& o);

struct DoctorOptions {
  std::vector<int> pids;
  std::vector<std::string> data_dirs;
  bool json = false;
  void add_to(CLI::App& app);
};
int run_doctor(const DoctorOptions& o);

}  // namespace pgstall::cli
