// The BPF side on the real kernel: the skeleton loads, every program attaches
// and fires, and the in-flight state, windows, fork following, ring records
// and block counters say what a traced process really did. Needs root.
// The BpfFallbacks tests run the same checks with the raw_tp twins and the
// task-read prev_state forced: the paths of older kernels, run on this one.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture/tracer.h"
#include "model/syscalls.h"
#include "testutil.h"

using pgstall::capture::Config;
using pgstall::capture::SyscallMode;
using pgstall::capture::Tracer;
using pgstall::test::wait_until;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Tracer> open_tracer(Config cfg = {}) {
  auto t = Tracer::open(cfg);
  EXPECT_TRUE(t) << t.error().message;
  return t ? std::move(*t) : nullptr;
}

// What a kernel without tp_btf for these programs, and without sched_switch's
// prev_state, would load.
Config fallbacks(Config cfg = {}) {
  cfg.force_raw_tp = true;
  cfg.force_task_state = true;
  return cfg;
}

pgstall_thread_state seed_for(int pid) {
  pgstall_thread_state s{};
  s.flags = PGSTALL_F_TRACKED;
  s.tgid = static_cast<uint32_t>(pid);
  s.sc_nr = PGSTALL_NO_SYSCALL;
  s.sleep_sc_nr = PGSTALL_NO_SYSCALL;
  return s;
}

// A child process that waits for a byte on `go`, runs `body`, writes a byte to
// `done`, and repeats until its pipe closes.
struct Child {
  pid_t pid = -1;
  int go = -1, done = -1;
  template <typename F>
  explicit Child(F body) {
    int a[2], b[2];
    EXPECT_EQ(pipe(a), 0);
    EXPECT_EQ(pipe(b), 0);
    pid = fork();
    if (pid == 0) {
      close(a[1]);
      close(b[0]);
      char c;
      while (read(a[0], &c, 1) == 1) {
        body();
        if (write(b[1], "x", 1) != 1) break;
      }
      _exit(0);
    }
    close(a[0]);
    close(b[1]);
    go = a[1];
    done = b[0];
  }
  void step() {
    ASSERT_EQ(write(go, "x", 1), 1);
    char c;
    ASSERT_EQ(read(done, &c, 1), 1);
  }
  void kick() { ASSERT_EQ(write(go, "x", 1), 1); }
  ~Child() {
    close(go);
    close(done);
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
};

// Each check below runs twice: as this kernel loads pgstall (Bpf.*) and with
// the fallbacks of older kernels forced (BpfFallbacks.*).

void loads_attaches_and_every_probe_fires(const Config& cfg) {
  ASSERT_EQ(geteuid(), 0u) << "BPF tests need root";
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  t->self_test();
  for (const auto& p : t->probes()) {
    EXPECT_TRUE(p.attached) << p.name << ": " << p.error;
    if (p.name.find("block_") == std::string::npos) EXPECT_TRUE(p.fired) << p.name << " did not fire";
  }
  auto c = t->counters();
  EXPECT_GT(c[PGSTALL_CNT_SYSCALLS], 0u);
  EXPECT_GT(c[PGSTALL_CNT_SWITCHES], 0u);
  EXPECT_GT(c[PGSTALL_CNT_FORKS], 0u);
  EXPECT_GT(c[PGSTALL_CNT_EXITS], 0u);
  for (int p = 0; p < PGSTALL_RP__MAX; ++p)
    EXPECT_EQ(t->ring_drops()[p], 0u) << pgstall::capture::ring_probe_name(p) << " lost records";
}

void in_flight_syscall_of_a_sleeping_process(const Config& cfg) {
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  Child child([] { std::this_thread::sleep_for(1500ms); });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  const auto kicked = std::chrono::steady_clock::now();
  child.kick();
  std::optional<pgstall_thread_state> st;
  EXPECT_TRUE(wait_until([&] {
    st = t->state(child.pid);
    return st && st->offcpu_since_ns && pgstall::model::syscall_name(st->sc_nr) == "clock_nanosleep";
  })) << "the child was never seen asleep in clock_nanosleep";
  // How long it has been in the syscall is what is checked: let time pass.
  std::this_thread::sleep_until(kicked + 400ms);
  st = t->state(child.pid);
  ASSERT_TRUE(st);
  EXPECT_EQ(pgstall::model::syscall_name(st->sc_nr), "clock_nanosleep");
  EXPECT_NE(st->offcpu_since_ns, 0u);
  EXPECT_EQ(st->oncpu_since_ns, 0u);
  EXPECT_EQ(st->offcpu_state & 1u, 1u) << "expected TASK_INTERRUPTIBLE, got " << st->offcpu_state;
  uint64_t in_for = pgstall::capture::monotonic_ns() - st->sc_start_ns;
  EXPECT_GT(in_for, 300'000'000u);
  EXPECT_LT(in_for, 1'000'000'000u);
  char c;
  ASSERT_EQ(read(child.done, &c, 1), 1);
}

void slow_syscall_and_offcpu_reach_the_ring_with_the_waker(Config cfg) {
  cfg.slow_syscall_ns = 500'000'000;
  cfg.slow_offcpu_ns = 500'000'000;
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  Child child([] { std::this_thread::sleep_for(700ms); });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  child.step();  // sleeps 700 ms; blocked in read before that, woken by us
  std::this_thread::sleep_for(600ms);
  child.step();  // the read it waited in for 600 ms ends: woken by this process
  bool slow_sleep = false, offcpu_by_us = false;
  t->drain([&](const void* data, size_t size) {
    auto* h = static_cast<const pgstall_rec_hdr*>(data);
    if (h->pid != static_cast<uint32_t>(child.pid)) return;
    if (h->type == PGSTALL_REC_SYSCALL_SLOW && size >= sizeof(pgstall_rec_syscall)) {
      auto* r = static_cast<const pgstall_rec_syscall*>(data);
      if (pgstall::model::syscall_name(r->nr) == "clock_nanosleep") {
        slow_sleep = true;
        EXPECT_GE(h->ts_ns - r->start_ns, 650'000'000u);
      }
    }
    if (h->type == PGSTALL_REC_OFFCPU_SLOW && size >= sizeof(pgstall_rec_offcpu)) {
      auto* r = static_cast<const pgstall_rec_offcpu*>(data);
      if (r->waker_pid == static_cast<uint32_t>(getpid())) offcpu_by_us = true;
    }
  });
  EXPECT_TRUE(slow_sleep) << "no slow clock_nanosleep record";
  EXPECT_TRUE(offcpu_by_us) << "no off-CPU record naming this process as the waker";
}

void windows_count_the_mix_and_repeated_calls(const Config& cfg) {
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  constexpr int kCalls = 50000;
  Child child([] {
    for (int i = 0; i < kCalls; ++i) syscall(SYS_getppid);
  });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  uint32_t e1 = t->bump_epoch();
  child.step();
  t->bump_epoch();
  child.kick();  // its read returns in the new epoch: the old window moves to prev
  std::optional<pgstall_thread_state> st;
  wait_until([&] {
    st = t->state(child.pid);
    return st && st->prev.epoch == e1;
  });
  ASSERT_TRUE(st);
  ASSERT_EQ(st->prev.epoch, e1);
  const auto& w = st->prev;
  EXPECT_GE(w.total, static_cast<uint32_t>(kCalls));
  EXPECT_GE(w.repeats, static_cast<uint32_t>(kCalls - 10));
  bool found = false;
  for (const auto& m : w.mix)
    if (m.nr_plus1 && pgstall::model::syscall_name(static_cast<int>(m.nr_plus1) - 1) == "getppid") {
      found = true;
      EXPECT_EQ(m.count, static_cast<uint32_t>(kCalls));
      EXPECT_EQ(m.same_ret, static_cast<uint32_t>(kCalls - 1));
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(w.client_io, 0u);
  char c;
  ASSERT_EQ(read(child.done, &c, 1), 1);
}

// pg_read_file() in a loop, made of the same raw syscalls: the window keeps
// its last calls in order, with their fds, lengths and results.
void windows_keep_the_last_calls_in_order(const Config& cfg) {
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  char path[] = "/tmp/pgstall-seq-XXXXXX";
  const int tmp = mkstemp(path);
  ASSERT_GE(tmp, 0);
  ASSERT_EQ(write(tmp, "15\n", 3), 3);
  close(tmp);
  Child child([&] {
    char buf[4096];
    struct stat sb;
    for (int i = 0; i < 1000; ++i) {
      const long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
      syscall(SYS_newfstatat, fd, "", &sb, AT_EMPTY_PATH);
      syscall(SYS_lseek, fd, 0, SEEK_SET);
      syscall(SYS_read, fd, buf, sizeof buf);
      syscall(SYS_read, fd, buf, sizeof buf);
      syscall(SYS_close, fd);
    }
  });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  uint32_t e1 = t->bump_epoch();
  child.step();
  t->bump_epoch();
  child.kick();
  std::optional<pgstall_thread_state> st;
  wait_until([&] {
    st = t->state(child.pid);
    return st && st->prev.epoch == e1;
  });
  unlink(path);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->prev.epoch, e1);
  const auto& w = st->prev;
  ASSERT_GE(w.total, 6000u);
  // The newest call of the window, then the loop's last turns backwards.
  auto at = [&](uint32_t back) { return w.seq[(w.total - 1 - back) % PGSTALL_SEQ_LEN]; };
  auto name = [](const pgstall_seq_call& c) { return pgstall::model::syscall_name(c.nr); };
  EXPECT_EQ(name(at(0)), "write") << "the child's report to the test ends the window";
  EXPECT_EQ(at(0).ret, 1);
  const char* turn[] = {"openat", "newfstatat", "lseek", "read", "read", "close"};
  for (uint32_t back = 1; back < PGSTALL_SEQ_LEN; ++back)
    EXPECT_EQ(name(at(back)), turn[5 - (back - 1) % 6]) << back << " calls before the last";
  const auto fd = at(1).arg0;  // close(fd)
  EXPECT_GE(fd, 3);
  EXPECT_EQ(at(2).ret, 0) << "read at end of file";
  EXPECT_EQ(at(3).ret, 3) << "read of the file's 3 bytes";
  EXPECT_EQ(at(3).arg0, fd);
  EXPECT_EQ(at(3).arg2, 4096u);
  EXPECT_EQ(at(6).ret, fd) << "openat returned the fd the turn used";
  EXPECT_EQ(at(6).arg0, AT_FDCWD);
  char c;
  ASSERT_EQ(read(child.done, &c, 1), 1);
}

// Forks a child that runs `body` and exits, and waits for it.
template <typename F>
void fork_and_wait(F body) {
  pid_t g = fork();
  if (g == 0) {
    body();
    _exit(0);
  }
  waitpid(g, nullptr, 0);
}

void forked_children_are_tracked_by_the_kernel(const Config& cfg) {
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  Child child([] { fork_and_wait([] { std::this_thread::sleep_for(300ms); }); });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  child.step();
  int grandchild = 0;
  t->drain([&](const void* data, size_t) {
    auto* h = static_cast<const pgstall_rec_hdr*>(data);
    if (h->type == PGSTALL_REC_FORK && h->pid == static_cast<uint32_t>(child.pid))
      grandchild = static_cast<int>(static_cast<const pgstall_rec_fork*>(data)->child_pid);
  });
  EXPECT_GT(grandchild, 0) << "no fork record from the tracked child";
  auto c = t->counters();
  EXPECT_GE(c[PGSTALL_CNT_FORKS], 1u);
  EXPECT_GE(c[PGSTALL_CNT_EXITS], 1u);
}

// A tracked process' child execs and exits with a code: both reach the ring.
void exec_and_exit_reach_the_ring(const Config& cfg) {
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  Child child([] {
    fork_and_wait([] {
      execl("/bin/sh", "sh", "-c", "exit 3", static_cast<char*>(nullptr));
      _exit(127);
    });
  });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  child.step();
  uint32_t grandchild = 0, exec_pid = 0;
  int exit_code = -1;
  t->drain([&](const void* data, size_t size) {
    auto* h = static_cast<const pgstall_rec_hdr*>(data);
    if (h->type == PGSTALL_REC_FORK && h->pid == static_cast<uint32_t>(child.pid))
      grandchild = static_cast<const pgstall_rec_fork*>(data)->child_pid;
    if (h->type == PGSTALL_REC_EXEC && h->pid == grandchild) exec_pid = h->pid;
    if (h->type == PGSTALL_REC_EXIT && h->pid == grandchild && size >= sizeof(pgstall_rec_exit))
      exit_code = static_cast<const pgstall_rec_exit*>(data)->exit_code;
  });
  ASSERT_GT(grandchild, 0u) << "no fork record from the tracked child";
  EXPECT_EQ(exec_pid, grandchild) << "no exec record from the tracked grandchild";
  EXPECT_EQ(exit_code, 3 << 8) << "exit record with the kernel's exit code (status 3)";
  auto c = t->counters();
  EXPECT_GE(c[PGSTALL_CNT_EXECS], 1u);
  EXPECT_GE(c[PGSTALL_CNT_EXITS], 1u);
}

// A full ring loses records, each counted under the probe that lost it:
// with a 4 KiB ring and nothing drained, 200 forks and exits of a tracked
// process overflow it, and every fork and exit the kernel counted is either
// a record in the ring or a drop of its probe.
void a_full_ring_counts_each_lost_record_under_its_probe(Config cfg) {
  cfg.ring_bytes = 4096;
  cfg.slow_offcpu_ns = 3600'000'000'000ull;  // no long-sleep records in the way
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  constexpr uint64_t kForks = 200;
  Child child([] {
    for (uint64_t i = 0; i < kForks; ++i) fork_and_wait([] {});
  });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  child.step();
  const auto counted = t->counters();
  const auto drops = t->ring_drops();
  uint64_t forks = 0, exits = 0, other = 0;
  t->drain([&](const void* data, size_t) {
    auto* h = static_cast<const pgstall_rec_hdr*>(data);
    if (h->type == PGSTALL_REC_FORK) ++forks;
    else if (h->type == PGSTALL_REC_EXIT) ++exits;
    else ++other;
  });
  EXPECT_EQ(counted[PGSTALL_CNT_FORKS], kForks);
  EXPECT_EQ(counted[PGSTALL_CNT_EXITS], kForks);
  EXPECT_GT(drops[PGSTALL_RP_FORK], 0u) << "a 4 KiB ring took " << forks << " fork records and lost none";
  EXPECT_GT(drops[PGSTALL_RP_EXIT], 0u) << "a 4 KiB ring took " << exits << " exit records and lost none";
  EXPECT_EQ(forks + drops[PGSTALL_RP_FORK], kForks);
  EXPECT_EQ(exits + drops[PGSTALL_RP_EXIT], kForks);
  EXPECT_LT(forks + exits + other, kForks) << "more records than a 4 KiB ring holds";
  for (int p = 0; p < PGSTALL_RP__MAX; ++p)
    if (p != PGSTALL_RP_FORK && p != PGSTALL_RP_EXIT) EXPECT_EQ(drops[p], 0u) << pgstall::capture::ring_probe_name(p);
  // What is printed: ring_drops is the sum of the per-probe counts.
  pgstall::model::RingDrops named;
  uint64_t ring_drops = 0;
  for (const auto& c : pgstall::capture::named_counters(*t, &named))
    if (c.name == "ring_drops") ring_drops = c.value;
  EXPECT_EQ(ring_drops, named.total());
  EXPECT_EQ(named.of("sched_process_fork"), drops[PGSTALL_RP_FORK]);
  EXPECT_EQ(named.of("sched_process_exit"), drops[PGSTALL_RP_EXIT]);
}

void block_requests_are_counted_and_timed(const Config& cfg) {
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  auto before = t->counters();
  // fsync of fresh data on the root filesystem forces block requests.
  char path[] = "/var/tmp/pgstall-bpf-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<char> buf(1 << 20, 'x');
  for (int i = 0; i < 4; ++i) ASSERT_EQ(write(fd, buf.data(), buf.size()), static_cast<ssize_t>(buf.size()));
  ASSERT_EQ(fsync(fd), 0);
  close(fd);
  unlink(path);
  auto after = t->counters();
  EXPECT_GT(after[PGSTALL_CNT_BLOCK_ISSUE], before[PGSTALL_CNT_BLOCK_ISSUE]);
  EXPECT_GT(after[PGSTALL_CNT_BLOCK_COMPLETE], before[PGSTALL_CNT_BLOCK_COMPLETE]);
  uint64_t total = 0;
  for (auto v : t->block_histogram()) total += v;
  EXPECT_GT(total, 0u);
}

// Auto mode starts without the syscall tracepoints; the scheduler hook still
// says which syscall a sleeping thread is in, with its arguments.
void sleeping_syscall_known_without_syscall_tracing(Config cfg) {
  cfg.syscalls = SyscallMode::Auto;
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->syscall_tracing());
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  // The child blocks reading the pipe: read(p[0], ...) in state S.
  Child child([&] {
    char c;
    if (read(p[0], &c, 1) != 1) _exit(1);
  });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  const auto before = t->counters()[PGSTALL_CNT_SYSCALLS];
  child.kick();
  std::optional<pgstall_thread_state> st;
  auto sleeps_reading = [&](bool data_pipe) {
    return wait_until([&] {
      st = t->state(child.pid);
      return st && !st->oncpu_since_ns && pgstall::model::syscall_name(st->sleep_sc_nr) == "read" &&
             (st->sleep_sc_args[0] == static_cast<uint64_t>(p[0])) == data_pipe;
    });
  };
  sleeps_reading(true);
  ASSERT_TRUE(st);
  EXPECT_EQ(pgstall::model::syscall_name(st->sleep_sc_nr), "read");
  EXPECT_EQ(st->sleep_sc_args[0], static_cast<uint64_t>(p[0]));
  EXPECT_EQ(st->sleep_sc_args[2], 1u);  // count
  EXPECT_EQ(st->sc_nr, PGSTALL_NO_SYSCALL) << "sys_enter ran although it is not attached";
  EXPECT_EQ(st->oncpu_since_ns, 0u);
  EXPECT_EQ(t->counters()[PGSTALL_CNT_SYSCALLS], before);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  char c;
  ASSERT_EQ(read(child.done, &c, 1), 1);
  // Now it sleeps reading its command pipe, not the data pipe.
  sleeps_reading(false);
  ASSERT_TRUE(st);
  EXPECT_EQ(pgstall::model::syscall_name(st->sleep_sc_nr), "read");
  EXPECT_NE(st->sleep_sc_args[0], static_cast<uint64_t>(p[0]));
  close(p[0]);
  close(p[1]);
}

void syscall_programs_attach_and_detach_on_demand(Config cfg) {
  cfg.syscalls = SyscallMode::Auto;
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  int on_demand = 0;
  for (const auto& p : t->probes()) {
    if (!p.on_demand) continue;
    ++on_demand;
    EXPECT_FALSE(p.attached) << p.name;
  }
  EXPECT_EQ(on_demand, 2);
  constexpr int kCalls = 3000;
  Child child([] {
    for (int i = 0; i < kCalls; ++i) syscall(SYS_getppid);
  });
  ASSERT_OK(t->track(child.pid, seed_for(child.pid)));
  auto calls = [&] { return t->state(child.pid).value_or(pgstall_thread_state{}).nr_syscalls; };

  child.step();
  EXPECT_EQ(calls(), 0u) << "counted while detached";

  const uint32_t gen = t->sc_gen();
  ASSERT_TRUE(t->set_syscall_tracing(true));
  EXPECT_EQ(t->sc_gen(), gen + 1);
  for (const auto& p : t->probes())
    if (p.on_demand) EXPECT_TRUE(p.attached) << p.name;
  child.step();
  const uint64_t traced = calls();
  EXPECT_GE(traced, static_cast<uint64_t>(kCalls));
  EXPECT_LT(traced, static_cast<uint64_t>(kCalls) + 20);
  EXPECT_EQ(t->state(child.pid)->sc_gen, t->sc_gen());

  EXPECT_FALSE(t->set_syscall_tracing(false));
  for (const auto& p : t->probes())
    if (p.on_demand) EXPECT_FALSE(p.attached) << p.name;
  child.step();
  EXPECT_LE(calls(), traced + 2) << "counted after detach";
}

}  // namespace

TEST(Bpf, LoadsAttachesAndEveryProbeFires) { loads_attaches_and_every_probe_fires({}); }
TEST(Bpf, InFlightSyscallOfASleepingProcess) { in_flight_syscall_of_a_sleeping_process({}); }
TEST(Bpf, SlowSyscallAndOffCpuReachTheRingWithTheWaker) { slow_syscall_and_offcpu_reach_the_ring_with_the_waker({}); }
TEST(Bpf, WindowsCountTheMixAndRepeatedCalls) { windows_count_the_mix_and_repeated_calls({}); }
TEST(Bpf, WindowsKeepTheLastCallsInOrder) { windows_keep_the_last_calls_in_order({}); }
TEST(Bpf, ForkedChildrenAreTrackedByTheKernel) { forked_children_are_tracked_by_the_kernel({}); }
TEST(Bpf, ExecAndExitReachTheRing) { exec_and_exit_reach_the_ring({}); }
TEST(Bpf, AFullRingCountsEachLostRecordUnderItsProbe) { a_full_ring_counts_each_lost_record_under_its_probe({}); }
TEST(Bpf, BlockRequestsAreCountedAndTimed) { block_requests_are_counted_and_timed({}); }
TEST(Bpf, SleepingSyscallKnownWithoutSyscallTracing) { sleeping_syscall_known_without_syscall_tracing({}); }
TEST(Bpf, SyscallProgramsAttachAndDetachOnDemand) { syscall_programs_attach_and_detach_on_demand({}); }

TEST(Bpf, NeverModeLeavesSyscallProgramsUnloaded) {
  Config cfg;
  cfg.syscalls = SyscallMode::Never;
  auto t = open_tracer(cfg);
  ASSERT_TRUE(t);
  for (const auto& p : t->probes())
    if (p.name.find("/sys_e") != std::string::npos) {
      EXPECT_FALSE(p.loaded) << p.name;
      EXPECT_NE(p.error.find("never"), std::string::npos) << p.error;
    }
  EXPECT_FALSE(t->set_syscall_tracing(true));
  EXPECT_FALSE(t->syscall_tracing());
}

// This kernel needs no fallback: pgstall says nothing about one.
TEST(Bpf, ACurrentKernelNeedsNoFallback) {
  auto t = open_tracer();
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->degradations().empty()) << t->degradations().front();
  for (const auto& p : t->probes()) EXPECT_EQ(p.name.rfind("tp_btf/", 0), 0u) << p.name;
}

// The raw_tp twins (and sched_switch's prev_state read from the task) load,
// attach, fire and give the same results; pgstall says it runs on them.
TEST(BpfFallbacks, TheTwinsLoadInsteadAndPgstallSaysSo) {
  auto t = open_tracer(fallbacks());
  ASSERT_TRUE(t);
  std::vector<std::string> raw;
  for (const auto& p : t->probes())
    if (p.name.rfind("raw_tp/", 0) == 0) raw.push_back(p.name);
  EXPECT_EQ(raw, (std::vector<std::string>{"raw_tp/sched_process_exit", "raw_tp/sched_process_exec",
                                           "raw_tp/sys_enter", "raw_tp/sys_exit", "raw_tp/block_rq_issue",
                                           "raw_tp/block_rq_complete"}));
  std::string said;
  for (const auto& d : t->degradations()) said += d + "\n";
  EXPECT_NE(said.find("raw_tp fallback for sched_process_exit, sched_process_exec, sys_enter, sys_exit, "
                      "block_rq_issue, block_rq_complete"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("prev_state is read from the task"), std::string::npos) << said;
}
TEST(BpfFallbacks, LoadsAttachesAndEveryProbeFires) { loads_attaches_and_every_probe_fires(fallbacks()); }
TEST(BpfFallbacks, InFlightSyscallOfASleepingProcess) { in_flight_syscall_of_a_sleeping_process(fallbacks()); }
TEST(BpfFallbacks, SlowSyscallAndOffCpuReachTheRingWithTheWaker) {
  slow_syscall_and_offcpu_reach_the_ring_with_the_waker(fallbacks());
}
TEST(BpfFallbacks, WindowsCountTheMixAndRepeatedCalls) { windows_count_the_mix_and_repeated_calls(fallbacks()); }
TEST(BpfFallbacks, WindowsKeepTheLastCallsInOrder) { windows_keep_the_last_calls_in_order(fallbacks()); }
TEST(BpfFallbacks, ForkedChildrenAreTrackedByTheKernel) { forked_children_are_tracked_by_the_kernel(fallbacks()); }
TEST(BpfFallbacks, ExecAndExitReachTheRing) { exec_and_exit_reach_the_ring(fallbacks()); }
TEST(BpfFallbacks, AFullRingCountsEachLostRecordUnderItsProbe) {
  a_full_ring_counts_each_lost_record_under_its_probe(fallbacks());
}
TEST(BpfFallbacks, BlockRequestsAreCountedAndTimed) { block_requests_are_counted_and_timed(fallbacks()); }
TEST(BpfFallbacks, SleepingSyscallKnownWithoutSyscallTracing) {
  sleeping_syscall_known_without_syscall_tracing(fallbacks());
}
TEST(BpfFallbacks, SyscallProgramsAttachAndDetachOnDemand) {
  syscall_programs_attach_and_detach_on_demand(fallbacks());
}
