#pragma once
// Kernel side of pgstall, from C++: open the one skeleton, configure it,
// probe what the kernel supports, load, attach each program on its own (a
// missing tracepoint degrades, it does not abort), verify the probes fire,
// and read the in-flight state. Every libbpf object is owned (RAII): nothing
// leaks on an error path, and the destructor has nothing to do by hand.
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "capture/abi.h"
#include "model/probes.h"
#include "util/clock.h"
#include "util/fd.h"
#include "util/result.h"

struct pgstall_bpf;
struct bpf_link;
struct bpf_program;
struct ring_buffer;

namespace pgstall::capture {

class KernelBtf;

// The syscall tracepoints run on every syscall of the machine, the costliest
// probes pgstall has. Auto attaches them only while some tracked thread is
// busy on CPU (the hot-loop and cpu-bound detectors need its syscall mix);
// sleeping stalls are seen without them.
enum class SyscallMode { Auto, Always, Never };

struct Config {
  uint64_t slow_syscall_ns = 1'000'000'000;  // completed syscalls longer than this reach the ring
  uint64_t slow_offcpu_ns = 1'000'000'000;   // completed off-CPU periods longer than this too
  uint32_t ring_bytes = 4u << 20;
  bool block = true;                          // block-layer probes
  SyscallMode syscalls = SyscallMode::Always;
  bool usdt = true;  // PostgreSQL's USDT probes (lock, LWLock, deadlock), where the binary has them
  // query__start/done too (--queries): the statement each backend runs. Off
  // by default: a probe hit per statement, and the text can hold personal data.
  bool queries = false;
  // lwlock__wait__start/done fire at every LWLock wait, thousands a second
  // on a busy writer, each a breakpoint trap (tens of µs in a VM). Auto:
  // attached only while some backend sits in an LWLock wait (the session
  // steers it, from the wait events); Always: from the start; Never.
  SyscallMode lwlock_probes = SyscallMode::Always;
  // Flame-graph stacks (record): kernel and user stacks at every switch-out
  // to sleep, off-CPU time aggregated by stack in the kernel; and the
  // on-CPU sampler, started with start_sampling().
  bool stacks = false;
  // Tests, to run the fallbacks on a kernel that needs none: load the raw_tp
  // twin of every program that has one (sys_enter, sys_exit, exec, exit,
  // block), as where tp_btf programs do not load; read sched_switch's
  // prev_state from the task, as before 5.18.
  bool force_raw_tp = false;
  bool force_task_state = false;
};

// Owners of libbpf objects, each freed once with its own call.
struct SkelDeleter {
  void operator()(pgstall_bpf* s) const;
};
struct LinkDeleter {
  void operator()(::bpf_link* l) const;
};
struct RingDeleter {
  void operator()(::ring_buffer* r) const;
};
using UniqueLink = std::unique_ptr<::bpf_link, LinkDeleter>;

// Counter names as reports print them, and which counters mean data was lost.
const char* counter_name(int c);
bool counter_is_loss(int c);
// The probe a ring_drops slot (enum pgstall_ring_probe) counts for.
std::string_view ring_probe_name(int p);

using model::Probe;
using model::UsdtProbe;

class Tracer {
 public:
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Probes BTF for each tracepoint, loads and attaches what the kernel has.
  // Fails only when a required probe cannot work.
  static Result<std::unique_ptr<Tracer>> open(const Config& cfg);

  // The tracepoints its programs use ("sched_switch", ...), read from the BPF
  // object opened but not loaded: no root needed (doctor, as any user).
  static std::vector<std::string> tracepoint_names();

  const std::vector<Probe>& probes() const { return probes_; }
  // What this kernel made pgstall do differently, one sentence each for the
  // operator (a raw_tp fallback, a value read another way, a feature
  // missing); empty on a current kernel.
  const std::vector<std::string>& degradations() const { return degradations_; }

  // Tracks process `pid` (by pidfd), seeding its in-flight state (pass what
  // /proc says it is doing now). Children it forks later are tracked by the kernel.
  Result<void> track(int pid, const pgstall_thread_state& seed);
  // Adopts a process the kernel already tracks (a child seen in a fork record).
  bool adopt(int pid);
  void untrack(int pid);
  bool tracked(int pid) const;
  // Processes track() or adopt() could not follow for lack of resources
  // (file descriptors, kernel memory), each pid once (it is retried at every
  // rescan); a process already gone is not counted.
  uint64_t untracked() const { return untracked_.size(); }
  // Children seen forking that had exited before they could be adopted:
  // the ring was drained late (a busy machine, a blocked loop), or they
  // lived only a moment (a refused connection). Nothing of them is shown.
  uint64_t gone_before_read() const { return gone_before_read_; }
  std::optional<pgstall_thread_state> state(int pid) const;

  // Attaches or detaches the syscall tracepoints (only those loaded). Returns
  // whether syscall tracing is on afterwards.
  bool set_syscall_tracing(bool on);
  bool syscall_tracing() const { return syscall_tracing_; }
  SyscallMode syscall_mode() const { return mode_; }
  // Bumped at each attach: a thread's sc_* fields are current only when its
  // sc_gen equals this and tracing is on.
  uint32_t sc_gen() const;

  // Attaches the contention USDT probes in the postgres executable of `pid`
  // (by /proc/PID/exe, so a binary replaced by a package upgrade is still the
  // one running), once per executable; pid -1 in the kernel covers every
  // process of it. Fails when nothing attached.
  Result<void> attach_usdt(int pid);
  const std::vector<UsdtProbe>& usdt_probes() const { return usdt_; }
  // The user stack recorded at an LWLock wait's start (pgstall_pg_wait
  // .lwlock_stack_id): return addresses, innermost first; empty when gone.
  std::vector<uint64_t> user_stack(int32_t id) const;
  bool usdt_enabled() const { return usdt_on_; }
  // Asks for the LWLock probes on or off, in every postgres binary attached
  // so far. Done on a thread of its own, never waited for: attaching writes
  // a breakpoint into every process mapping the binary (each one's mmap
  // lock), detaching waits for an RCU tasks-trace grace period; with 500
  // backends exiting at once each took up to 8 s here, and the watch read
  // nothing meanwhile. lwlock_probes_on() says when it is done.
  void set_lwlock_probes(bool on);
  bool lwlock_probes_wanted() const { return lwlock_want_; }
  bool lwlock_probes_on() const { return lwlock_on_.load(std::memory_order_acquire); }
  SyscallMode lwlock_mode() const { return lwlock_mode_; }
  // When they were last attached (CLOCK_MONOTONIC): an LWLock wait start
  // before it was stored by an earlier attachment, whose end may have been
  // missed since.
  uint64_t lwlock_attached_ns() const { return lwlock_attached_ns_.load(std::memory_order_acquire); }
  bool queries_enabled() const { return queries_; }

  // Stacks (Config::stacks): cpu-clock sampling at hz on every CPU, postgres
  // threads only.
  Result<void> start_sampling(int hz);
  // Moves the aggregated weights out of the kernel. Lossless: the programs
  // add to one of two buffers; this drains the one they left a drain ago
  // and swaps. everything: both (at the end).
  void drain_stacks(StackDrain& out, bool everything = false);
  // A task's saved user registers (pc, sp, frame pointer), read now by a
  // task iterator attached for that one thread (never stops it).
  Result<std::array<uint64_t, 3>> task_user_regs(int tid) const;
  // A stack's return addresses, innermost first (empty: gone or none).
  std::vector<uint64_t> stack(int32_t id) const;
  // Frees the slots of stacks whose frames are kept, except those an
  // aggregation entry still refers to.
  void forget_stacks(std::set<int32_t> ids);
  bool stacks_enabled() const { return stacks_on_; }

  // Window epochs: bumping starts a new syscall-mix window in every thread.
  uint32_t epoch() const;
  uint32_t bump_epoch();

  // Drains the ring; the callback sees each record (type tag first).
  int drain(const std::function<void(const void* data, size_t size)>& cb);

  // Per-CPU counters summed (indexed by pgstall_counter). The kernel
  // leaves PGSTALL_CNT_RING_DROPS at 0: ring_drops() has them, per probe.
  std::array<uint64_t, PGSTALL_CNT__MAX> counters() const;
  // Ring records lost, per probe (indexed by pgstall_ring_probe).
  std::array<uint64_t, PGSTALL_RP__MAX> ring_drops() const;
  std::vector<pgstall_blk_inflight> block_inflight() const;
  std::array<uint64_t, PGSTALL_BLK_HIST_SLOTS> block_histogram() const;

  // Tracks this process for a moment, makes a syscall, a context switch and a
  // fork, and checks each probe saw it. Marks Probe::fired.
  void self_test();
  // Children the self-test forked (tracked for a moment: not postgres).
  const std::vector<int>& self_test_pids() const { return self_test_pids_; }

 private:
  Tracer() = default;
  Result<void> configure(const Config& cfg);
  Result<void> choose_programs(const Config& cfg);
  Result<void> set_variants(const Config& cfg, const KernelBtf* k);
  Result<void> choose_tracepoints(const Config& cfg, const KernelBtf* k);
  Result<void> attach_all();
  bool attach_one(size_t i);
  bool is_syscall_probe(size_t i) const;

  // Declared first, destroyed last: links refer to its programs (USDT links
  // to its USDT manager too).
  std::unique_ptr<pgstall_bpf, SkelDeleter> skel_;
  std::vector<Probe> probes_;
  std::vector<::bpf_program*> progs_;  // by probe index: the variant loaded (tp_btf or raw_tp)
  std::vector<UniqueLink> links_;      // by probe index, empty when detached
  std::vector<UniqueLink> usdt_links_;
  std::vector<UsdtProbe> usdt_;
  std::vector<std::pair<uint64_t, uint64_t>> usdt_binaries_;  // (dev, inode) attached
  bool usdt_on_ = false;
  bool queries_ = false;
  bool stacks_on_ = false;
  std::vector<int> self_test_pids_;
  SyscallMode lwlock_mode_ = SyscallMode::Always;
  // The LWLock switch (set_lwlock_probes): the main thread asks (lwlock_want_,
  // and lwlock_asked_ under req_mu_), the worker does. usdt_mu_ guards what
  // both touch: libbpf's USDT manager (every USDT attach and detach),
  // lwlock_links_ and usdt_exe_fds_.
  void lwlock_worker();
  void switch_lwlock_probes(bool on);
  std::mutex usdt_mu_;
  std::mutex req_mu_;
  std::condition_variable req_cv_;
  bool lwlock_asked_ = false, lwlock_done_ = false, lwlock_stop_ = false;  // under req_mu_
  bool lwlock_want_ = false;  // main thread only
  std::thread lwlock_thread_;
  std::atomic<bool> lwlock_on_{false};
  std::atomic<uint64_t> lwlock_attached_ns_{0};
  std::vector<UniqueLink> lwlock_links_;
  std::vector<UniqueFd> usdt_exe_fds_;  // each attached binary, open: attachable later even if replaced
  std::vector<UniqueLink> sample_links_;  // each owns its perf event fd: libbpf closes it at detach
  SyscallMode mode_ = SyscallMode::Always;
  bool syscall_tracing_ = false;
  std::unordered_map<int, UniqueFd> pidfds_;  // pid -> pidfd
  std::set<int> untracked_;
  uint64_t gone_before_read_ = 0;
  std::vector<std::string> degradations_;
  std::string task_regs_missing_;  // why task_user_regs() cannot work here; empty: it can
  std::function<void(const void*, size_t)> cb_;
  // Last, destroyed first: it calls back into cb_.
  std::unique_ptr<::ring_buffer, RingDeleter> ring_;
};

using pgstall::monotonic_ns;

// Every counter, named, summed over CPUs. ring_drops is the sum of the
// per-probe counts read in the same call; `drops`, when given, gets those.
std::vector<model::Counter> named_counters(const Tracer& tracer, model::RingDrops* drops = nullptr);
// The per-probe counts as named values.
model::RingDrops named_ring_drops(const std::array<uint64_t, PGSTALL_RP__MAX>& counts);

}  // namespace pgstall::capture
