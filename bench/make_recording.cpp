// A synthetic recording as long as asked, for measuring report and
// flamegraph on recordings of a day: once a simulated second, a snapshot of
// every process, a Stacks record drawn from a fixed set of distinct stacks
// and the counters, as `pgstall record` writes them; a stall and its end
// every minute. Deterministic.
//
//   pgstall_make_recording OUT.pgstall SECONDS [PROCESSES]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "record/file.h"

using pgstall::record::Type;

namespace {

nlohmann::json stack_entry(std::mt19937& rng, int pid) {
  static const char* const kLeaves[] = {"ProcSleep", "WaitLatch", "pg_fsync", "FileRead", "WalSndWait",
                                        "XLogFlush", "LWLockAcquire", "pq_recvbuf"};
  const unsigned shape = rng() % 200;  // 200 distinct stacks
  nlohmann::json frames = nlohmann::json::array({"_start", "__libc_start_main", "main", "PostmasterMain",
                                                 "ServerLoop", "BackendStartup", "PostgresMain"});
  for (unsigned d = 0; d < 8 + shape % 12; ++d) frames.push_back("fn_" + std::to_string((shape * 31 + d * 7) % 97));
  frames.push_back(kLeaves[shape % 8]);
  frames.push_back("do_epoll_wait [k]");
  frames.push_back("schedule [k]");
  const bool oncpu = shape % 5 == 0;
  return {{"kind", oncpu ? "oncpu" : "offcpu"},
          {"pid", pid},
          {"tgid", pid},
          {"class", oncpu ? "cpu" : (shape % 3 ? "IO" : "Lock")},
          {"weight", oncpu ? 1 + rng() % 20 : 1000 + rng() % 50'000'000},
          {"count", 1 + rng() % 10},
          {"backend_type", "client backend"},
          {"frames", frames}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT.pgstall SECONDS [PROCESSES]\n", argv[0]);
    return 2;
  }
  const long seconds = std::atol(argv[2]);
  const int procs = argc > 3 ? std::atoi(argv[3]) : 40;
  std::mt19937 rng(12);
  pgstall::record::Writer w;
  if (auto opened = w.open(argv[1], {{"pgstall", "bench"}, {"host", "bench"}, {"kernel", "6.1"},
                                     {"started", "2024-05-01T00:00:00.000Z"}, {"oncpu_hz", 49}, {"stacks", true}});
      !opened) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  uint64_t ts = 1'000'000'000;
  for (int p = 0; p < procs; ++p)
    w.write(Type::Process, {{"ts", ts}, {"pid", 1000 + p}, {"backend_type", "client backend"},
                            {"title", "postgres: app shop [local] idle"}});
  for (long s = 0; s < seconds; ++s, ts += 1'000'000'000) {
    nlohmann::json ps = nlohmann::json::array();
    for (int p = 0; p < procs; ++p)
      ps.push_back({{"pid", 1000 + p}, {"state", "S"}, {"cpu_ns", s * 1000 + p}, {"syscall", "epoll_wait"},
                    {"syscall_s", 0.5}, {"wait_event", "Client:ClientRead"}});
    w.write(Type::Snapshot, {{"ts", ts}, {"at", "2024-05-01T00:00:00.000Z"}, {"processes", ps}});
    nlohmann::json entries = nlohmann::json::array();
    for (int i = 0; i < 25; ++i) entries.push_back(stack_entry(rng, 1000 + static_cast<int>(rng() % procs)));
    w.write(Type::Stacks, {{"ts", ts}, {"entries", entries}});
    w.write(Type::Counters, {{"ts", ts}, {"counters", {{"ring_drops", 0}, {"syscalls", s * 100}}},
                             {"lost", nlohmann::json::object()}});
    if (s % 60 == 30) {
      const int pid = 1000 + static_cast<int>(rng() % procs);
      w.write(Type::Event, {{"type", "stall"}, {"kind", "io-wait"}, {"pid", pid}, {"backend_type", "client backend"},
                            {"since", "2024-05-01T00:00:00.000Z"}, {"duration_s", 5.0}, {"lower_bound", false},
                            {"summary", "in fsync"}, {"ts", ts}, {"detail", {{"user", "app"}, {"database", "shop"}}}});
      w.write(Type::Event, {{"type", "stall_end"}, {"kind", "io-wait"}, {"pid", pid}, {"duration_s", 7.0},
                            {"woken_by", nullptr}, {"ts", ts + 2'000'000'000}});
    }
  }
  if (!w.close({{"reason", "duration"}, {"ts", ts}})) {
    std::fprintf(stderr, "%s\n", w.error().c_str());
    return 1;
  }
  std::printf("%s: %lu records, %.1f MiB\n", argv[1], static_cast<unsigned long>(w.records()),
              static_cast<double>(w.bytes()) / (1 << 20));
  return 0;
}
