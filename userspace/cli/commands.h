#pragma once
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
  std::string lock_sleep = "5s", lwlock_wait = "1s", io_wait = "1s", hot_loop = "3s", cpu_bound = "10s",
              delay_loop = "5s";
  double hot_loop_rate = 5000;
  bool no_block = false;
  std::string syscalls = "auto";
  bool no_usdt = false;
  bool no_wait_events = false;
  std::string dsn;

  void add_to(CLI::App& app);
};

int run_watch(const WatchOptions& o);

}  // namespace pgstall::cli
