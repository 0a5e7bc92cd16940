#include "capture/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include <spdlog/spdlog.h>

#include "symbols/elfnotes.h"
#include "capture/kernel_btf.h"
#include "pgstall.skel.h"

namespace pgstall::capture {
namespace {

int libbpf_to_spdlog(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  std::string_view msg(buf, n > 0 ? std::min<size_t>(n, sizeof buf - 1) : 0);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  if (level == LIBBPF_WARN)
    spdlog::debug("libbpf: {}", msg);  // libbpf warns on every probed-and-skipped program
  else
    spdlog::trace("libbpf: {}", msg);
  return 0;
}

struct UsdtSpec {
  bpf_program* (*prog)(pgstall_bpf*);
  const char* name;
  // A plain uprobe at each site, arguments unread: for probes whose argument
  // specs libbpf 1.1 cannot attach (RIP-relative memory operands).
  bool plain = false;
  // Statement probes: only with Config::queries (they fire on every statement).
  bool queries = false;
  // LWLock probes: attached per Config::lwlock_probes.
  bool lwlock = false;
};
// Contention probes only: lock__acquire-style probes fire on every acquire.
const UsdtSpec kUsdt[] = {
    {[](pgstall_bpf* s) { return s->progs.pgstall_lock_wait_start; }, "lock__wait__start"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_lock_wait_done; }, "lock__wait__done"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_lwlock_wait_start; }, "lwlock__wait__start", false, false, true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_lwlock_wait_done; }, "lwlock__wait__done", false, false, true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_deadlock_found; }, "deadlock__found"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_checkpoint_start; }, "checkpoint__start"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_checkpoint_write_start; }, "buffer__checkpoint__start"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_checkpoint_sync_start; }, "buffer__checkpoint__sync__start"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_checkpoint_buffers_done; }, "buffer__checkpoint__done"},
    {[](pgstall_bpf* s) { return s->progs.pgstall_checkpoint_done; }, "checkpoint__done", true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_query_start; }, "query__start", false, true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_query_done; }, "query__done", false, true},
};

struct ProbeSpec {
  bpf_program* (*prog)(pgstall_bpf*);  // tp_btf
  // Its raw_tp twin, for kernels where tp_btf programs do not load; nullptr
  // where the program needs a trusted pointer to a task other than the
  // current one (bpf/sched.bpf.c says why).
  bpf_program* (*raw)(pgstall_bpf*);
  const char* purpose;
  bool required;
};

// One row per BPF program: what it is for and whether watch can live without it.
const ProbeSpec kProbes[] = {
    {[](pgstall_bpf* s) { return s->progs.pgstall_sched_switch; }, nullptr, "off-CPU / on-CPU time, task state",
     true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_fork; }, nullptr, "follow new backends", true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_exit; }, [](pgstall_bpf* s) { return s->progs.pgstall_exit_raw; },
     "notice exited processes", true},
    {[](pgstall_bpf* s) { return s->progs.pgstall_exec; }, [](pgstall_bpf* s) { return s->progs.pgstall_exec_raw; },
     "notice exec of tracked processes", false},
    {[](pgstall_bpf* s) { return s->progs.pgstall_sched_waking; }, nullptr, "who woke a waiter", false},
    {[](pgstall_bpf* s) { return s->progs.pgstall_sys_enter; },
     [](pgstall_bpf* s) { return s->progs.pgstall_sys_enter_raw; },
     "in-flight syscalls (io-wait by syscall, lwlock-wait, hot-loop)", false},
    {[](pgstall_bpf* s) { return s->progs.pgstall_sys_exit; },
     [](pgstall_bpf* s) { return s->progs.pgstall_sys_exit_raw; }, "syscall mix and rates (hot-loop)", false},
    {[](pgstall_bpf* s) { return s->progs.pgstall_block_rq_issue; },
     [](pgstall_bpf* s) { return s->progs.pgstall_block_rq_issue_raw; }, "block requests in flight", false},
    {[](pgstall_bpf* s) { return s->progs.pgstall_block_rq_complete; },
     [](pgstall_bpf* s) { return s->progs.pgstall_block_rq_complete_raw; }, "block latency histogram", false},
};

// "tp_btf/sched_switch" -> "sched_switch"
std::string tracepoint_of(const std::string& section) { return section.substr(section.find('/') + 1); }

Result<void> set_autoload(bpf_program* prog, bool on) {
  if (int rc = bpf_program__set_autoload(prog, on); rc != 0)
    return fail(fmt::format("cannot {} the BPF program {}: {}", on ? "enable" : "disable", bpf_program__name(prog),
                            strerror(-rc)));
  return {};
}

Result<void> set_max_entries(bpf_map* map, uint32_t n) {
  if (int rc = bpf_map__set_max_entries(map, n); rc != 0)
    return fail(fmt::format("cannot size the BPF map {} to {}: {}", bpf_map__name(map), n, strerror(-rc)));
  return {};
}

int ring_cb(void* ctx, void* data, size_t size) {
  auto* cb = static_cast<std::function<void(const void*, size_t)>*>(ctx);
  if (*cb) (*cb)(data, size);
  return 0;
}

// A pidfd per tracked process here, and another per backend in the
// wait-event reader: 500 backends take over 1,000 descriptors, and the
// usual soft limit is 1,024 (systemd's default for services too). The hard
// limit is ours to use; what is still short is counted (processes_untracked).
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t was = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
    spdlog::debug("open files limit raised from {} to {}", was, lim.rlim_max);
  else
    spdlog::debug("cannot raise the open files limit from {}: {}", was, strerror(errno));
}

// A process that could not be tracked for a reason other than being gone
// (ESRCH from pidfd_open; ENOENT from the task storage: reaped since the
// pidfd was opened) or not being a process (EINVAL: a thread id) is a loss.
bool lost_track(int err) { return err != ESRCH && err != ENOENT && err != EINVAL; }

}  // namespace

void SkelDeleter::operator()(pgstall_bpf* s) const { pgstall_bpf__destroy(s); }
void LinkDeleter::operator()(::bpf_link* l) const { bpf_link__destroy(l); }
void RingDeleter::operator()(::ring_buffer* r) const { ring_buffer__free(r); }

Tracer::~Tracer() {
  if (!lwlock_thread_.joinable()) return;
  {
    std::lock_guard lk(req_mu_);
    lwlock_stop_ = true;
  }
  req_cv_.notify_one();
  lwlock_thread_.join();
}

std::vector<std::string> Tracer::tracepoint_names() {
  std::vector<std::string> out;
  libbpf_set_print(libbpf_to_spdlog);
  std::unique_ptr<pgstall_bpf, SkelDeleter> skel(pgstall_bpf__open());
  if (!skel) return out;
  for (const auto& spec : kProbes) out.push_back(tracepoint_of(bpf_program__section_name(spec.prog(skel.get()))));
  return out;
}

Result<std::unique_ptr<Tracer>> Tracer::open(const Config& cfg) {
  libbpf_set_print(libbpf_to_spdlog);
  raise_fd_limit();
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return fail(
        "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): pgstall's tp_btf "
        "programs need CONFIG_DEBUG_INFO_BTF=y");
  std::unique_ptr<Tracer> t(new Tracer());
  t->mode_ = cfg.syscalls;
  t->skel_.reset(pgstall_bpf__open());
  if (!t->skel_) return fail(fmt::format("cannot open the BPF object: {}", strerror(errno)));
  if (auto r = t->configure(cfg); !r) return r.error();
  if (auto r = t->choose_programs(cfg); !r) return r.error();
  t->usdt_on_ = cfg.usdt;
  t->queries_ = cfg.usdt && cfg.queries;
  t->lwlock_mode_ = cfg.lwlock_probes;
  for (const auto& u : kUsdt)
    if (!cfg.usdt || (u.queries && !t->queries_))
      if (auto r = set_autoload(u.prog(t->skel_.get()), false); !r) return r.error();

  if (int rc = pgstall_bpf__load(t->skel_.get()); rc != 0)
    return fail(fmt::format(
        "loading the BPF programs failed ({}); run with -v for the verifier log. "
        "Are you root (CAP_BPF + CAP_PERFMON)?",
        strerror(-rc)));
  if (auto r = t->attach_all(); !r) return r.error();

  t->ring_.reset(ring_buffer__new(bpf_map__fd(t->skel_->maps.events), ring_cb, &t->cb_, nullptr));
  if (!t->ring_) return fail(fmt::format("cannot open the BPF ring buffer: {}", strerror(errno)));
  return t;
}

// Settings and map sizes, between open and load.
Result<void> Tracer::configure(const Config& cfg) {
  pgstall_bpf* s = skel_.get();
  s->rodata->slow_syscall_ns = cfg.slow_syscall_ns;
  s->rodata->slow_offcpu_ns = cfg.slow_offcpu_ns;
  if (auto r = set_max_entries(s->maps.events, cfg.ring_bytes); !r) return r;
  stacks_on_ = cfg.stacks;
  if (cfg.stacks) {
    s->rodata->offcpu_stacks = 1;
    return {};
  }
  // Not recording: the flame-graph maps shrink to nothing, the sampler stays unloaded.
  for (bpf_map* m : {s->maps.stacks, s->maps.offcpu_agg0, s->maps.offcpu_agg1, s->maps.oncpu_agg0, s->maps.oncpu_agg1})
    if (auto r = set_max_entries(m, 1); !r) return r;
  return set_autoload(s->progs.pgstall_oncpu_sample, false);
}

// Which programs load, and which variant of each, from what the kernel's BTF
// says; what that costs goes to degradations_.
Result<void> Tracer::choose_programs(const Config& cfg) {
  auto kernel = KernelBtf::load();
  if (!kernel) spdlog::debug("{}: assuming a current kernel, the load will tell", kernel.error().message);
  const KernelBtf* k = kernel ? &*kernel : nullptr;
  if (auto r = set_variants(cfg, k); !r) return r;
  return choose_tracepoints(cfg, k);
}

// The signature and helper differences of core_fixes.bpf.h, as rodata flags.
// k: nullptr when the kernel's BTF cannot be read (assume a current kernel).
Result<void> Tracer::set_variants(const Config& cfg, const KernelBtf* k) {
  pgstall_bpf* s = skel_.get();
  const bool prev_state_arg = !cfg.force_task_state && (!k || k->tracepoint_args("sched_switch") >= 4);
  s->rodata->sched_switch_has_prev_state = prev_state_arg;
  if (!prev_state_arg)
    degradations_.push_back(fmt::format(
        "sched_switch's prev_state is read from the task{}: a wake-up racing the switch can make a sleep look "
        "like a preemption",
        cfg.force_task_state ? " (forced)" : " (kernel < 5.18: the tracepoint does not pass it)"));
  s->rodata->block_rq_issue_has_queue = k && k->tracepoint_arg_struct("block_rq_issue", 0) == "request_queue";
  const bool pt_regs = !k || k->has_enum_value("bpf_func_id", "BPF_FUNC_task_pt_regs");
  s->rodata->has_task_pt_regs = pt_regs;
  if (!pt_regs) {
    task_regs_missing_ = "this kernel has no bpf_task_pt_regs (5.15+)";
    degradations_.push_back(
        "no bpf_task_pt_regs (kernel < 5.15): the syscall a sleeping thread is in is unknown while the syscall "
        "tracepoints are detached, and a stall that began before pgstall has no user stack");
    return set_autoload(s->progs.pgstall_task_regs, false);
  }
  // Before 6.1 a task iterator ignores the thread it is given and walks them
  // all: it would hand back another thread's registers.
  if (k && !k->has_member("bpf_iter_link_info", "task")) {
    task_regs_missing_ = "this kernel's task iterator cannot be limited to one thread (6.1+)";
    degradations_.push_back(
        "the task iterator cannot be limited to one thread (kernel < 6.1): a stall that began before pgstall "
        "has no user stack");
  }
  return {};
}

// Each tracepoint program: loaded or not, tp_btf or its raw_tp twin.
Result<void> Tracer::choose_tracepoints(const Config& cfg, const KernelBtf* k) {
  pgstall_bpf* s = skel_.get();
  std::vector<std::string> raw;  // tracepoints whose raw_tp twin is loaded
  std::string tp_btf_error;
  for (const auto& spec : kProbes) {
    bpf_program* prog = spec.prog(s);
    bpf_program* twin = spec.raw ? spec.raw(s) : nullptr;
    Probe p;
    p.name = bpf_program__section_name(prog);
    const std::string tp = tracepoint_of(p.name);
    p.purpose = spec.purpose;
    p.required = spec.required;
    p.on_demand = cfg.syscalls == SyscallMode::Auto && p.name.find("/sys_e") != std::string::npos;
    bool block = p.name.find("block_") != std::string::npos;
    bool use_twin = false;
    if (block && !cfg.block) {
      p.error = "disabled (--no-block)";
    } else if (cfg.syscalls == SyscallMode::Never && p.name.find("/sys_e") != std::string::npos) {
      p.error = "disabled (--syscalls never)";
    } else if (k && !k->has_tracepoint(tp)) {
      p.error = "this kernel has no such tracepoint";
    } else if (twin && cfg.force_raw_tp) {
      use_twin = true;
    } else if (auto loads = k ? k->loads_tp_btf(tp) : Result<void>(); !loads) {
      if (tp_btf_error.empty()) tp_btf_error = loads.error().message;
      if (twin)
        use_twin = true;
      else
        p.error = loads.error().message +
                  "; there is no raw_tp fallback: it needs the task storage of a task other than the current "
                  "one, which only a tp_btf (BTF-typed) task pointer gives (docs/KERNEL.md)";
    }
    if (use_twin) {
      raw.push_back(tp);
      p.name = bpf_program__section_name(twin);
    }
    p.loaded = p.error.empty();
    if (auto r = set_autoload(prog, p.loaded && !use_twin); !r) return r;
    if (twin)
      if (auto r = set_autoload(twin, p.loaded && use_twin); !r) return r;
    if (p.required && !p.loaded)
      return fail(fmt::format("required probe {} is unavailable: {}", p.name, p.error));
    progs_.push_back(use_twin ? twin : prog);
    probes_.push_back(std::move(p));
  }
  if (!raw.empty())
    degradations_.push_back(fmt::format(
        "raw_tp fallback for {}: {}; they read their arguments with bpf_probe_read_kernel, a little slower per event",
        fmt::join(raw, ", "), cfg.force_raw_tp ? "forced" : tp_btf_error));
  return {};
}

bool Tracer::is_syscall_probe(size_t i) const { return probes_[i].name.find("/sys_e") != std::string::npos; }

bool Tracer::attach_one(size_t i) {
  Probe& p = probes_[i];
  if (!p.loaded) return false;
  if (links_[i]) return true;
  UniqueLink link(bpf_program__attach(progs_[i]));
  if (!link) {
    p.error = fmt::format("attach failed: {}", strerror(errno));
    return false;
  }
  p.error.clear();
  p.attached = true;
  links_[i] = std::move(link);
  return true;
}

Result<void> Tracer::attach_all() {
  links_.resize(probes_.size());
  for (size_t i = 0; i < probes_.size(); ++i) {
    Probe& p = probes_[i];
    if (!p.loaded || p.on_demand) continue;
    if (!attach_one(i) && p.required)
      return fail(fmt::format("required probe {} could not attach: {}", p.name, p.error));
  }
  if (mode_ == SyscallMode::Always) {
    __atomic_add_fetch(&skel_->bss->sc_gen, 1, __ATOMIC_RELAXED);
    syscall_tracing_ = true;
    for (size_t i = 0; i < probes_.size(); ++i)
      if (is_syscall_probe(i) && !probes_[i].attached) syscall_tracing_ = false;
  }
  return {};
}

bool Tracer::set_syscall_tracing(bool on) {
  if (on == syscall_tracing_) return syscall_tracing_;
  if (on) {
    for (size_t i = 0; i < probes_.size(); ++i)
      if (is_syscall_probe(i) && !probes_[i].loaded) return syscall_tracing_ = false;  // kernel lacks them, or never
    // A new generation first: sc_* left behind by the last attach period
    // (an exit missed while detached) stop counting as current.
    __atomic_add_fetch(&skel_->bss->sc_gen, 1, __ATOMIC_RELAXED);
    bool all = true;
    for (size_t i = 0; i < probes_.size(); ++i)
      if (is_syscall_probe(i)) all = attach_one(i) && all;
    if (!all) {
      spdlog::warn("syscall tracepoints could not attach; hot-loop and cpu-bound stay blind");
      on = false;
    }
  }
  if (!on) {
    for (size_t i = 0; i < probes_.size(); ++i) {
      if (!is_syscall_probe(i) || !links_[i]) continue;
      links_[i].reset();
      probes_[i].attached = false;
    }
  }
  syscall_tracing_ = on;
  return on;
}

Result<void> Tracer::attach_usdt(int pid) {
  if (!usdt_on_) return fail("USDT disabled (--no-usdt)");
  std::lock_guard usdt(usdt_mu_);  // the LWLock worker may be switching its probes
  const std::string exe = fmt::format("/proc/{}/exe", pid);
  struct stat sb {};
  if (stat(exe.c_str(), &sb) != 0) return fail(fmt::format("cannot read {}: {}", exe, strerror(errno)));
  std::pair<uint64_t, uint64_t> id{sb.st_dev, sb.st_ino};
  for (const auto& b : usdt_binaries_)
    if (b == id) return {};  // this executable is done: pid -1 covers all its processes
  char target[PATH_MAX] = {};
  ssize_t n = readlink(exe.c_str(), target, sizeof target - 1);
  std::string shown = n > 0 ? std::string(target, n) : exe;
  auto sites = symbols::usdt_sites(exe, "postgresql");
  int attached = 0;
  std::string first_error;
  for (const auto& u : kUsdt) {
    if (u.queries && !queries_) continue;
    UsdtProbe p;
    p.name = u.name;
    p.binary = shown;
    if (auto it = sites.find(u.name); it != sites.end()) p.sites = it->second;
    if (p.sites == 0) {
      p.error = "not in this binary (built without --enable-dtrace?)";
    } else if (u.lwlock && lwlock_mode_ != SyscallMode::Always) {
      p.on_demand = lwlock_mode_ == SyscallMode::Auto;
      p.error = p.on_demand ? "attached while a backend waits on an LWLock" : "disabled (--lwlock-probes never)";
      if (lwlock_on_) {  // on already, for another binary: this one too
        if (UniqueLink link{bpf_program__attach_usdt(u.prog(skel_.get()), -1, exe.c_str(), "postgresql", u.name,
                                                     nullptr)}) {
          lwlock_links_.push_back(std::move(link));
          p.attached = true;
        } else {
          spdlog::debug("attaching {} in {} failed: {}", u.name, shown, strerror(errno));
        }
      }
    } else if (u.plain) {
      for (uint64_t off : symbols::usdt_file_offsets(exe, "postgresql", u.name)) {
        if (UniqueLink link{bpf_program__attach_uprobe(u.prog(skel_.get()), false, -1, exe.c_str(), off)}) {
          usdt_links_.push_back(std::move(link));
          p.attached = true;
        } else if (p.error.empty()) {
          p.error = fmt::format("uprobe at file offset {:#x} failed: {}", off, strerror(errno));
        }
      }
      if (p.attached) {
        ++attached;
      } else {
        if (p.error.empty()) p.error = "no file offset for its sites";
        if (first_error.empty()) first_error = p.error;
      }
    } else if (UniqueLink link{
                   bpf_program__attach_usdt(u.prog(skel_.get()), -1, exe.c_str(), "postgresql", u.name, nullptr)}) {
      usdt_links_.push_back(std::move(link));
      p.attached = true;
      if (u.lwlock) lwlock_on_.store(true, std::memory_order_release);
      ++attached;
    } else {
      p.error = fmt::format("attach failed: {}", strerror(errno));
      if (first_error.empty()) first_error = p.error;
    }
    usdt_.push_back(std::move(p));
  }
  usdt_binaries_.push_back(id);
  if (UniqueFd fd{::open(exe.c_str(), O_RDONLY | O_CLOEXEC)})
    usdt_exe_fds_.push_back(std::move(fd));
  else  // the LWLock probes attached on demand later find it by path only
    spdlog::debug("cannot keep {} open: {}", exe, strerror(errno));
  if (lwlock_mode_ == SyscallMode::Always && !lwlock_attached_ns_) lwlock_attached_ns_.store(monotonic_ns());
  if (attached == 0)
    return fail(first_error.empty() ? fmt::format("{} has no USDT probes", shown)
                                    : fmt::format("no USDT probe attached in {}: {}", shown, first_error));
  return {};
}

namespace {

// A stack-trace map's entry: return addresses up to the first zero.
std::vector<uint64_t> read_stack(int map_fd, int32_t id, size_t depth) {
  std::vector<uint64_t> ips(depth), out;
  if (id < 0) return out;
  const uint32_t key = static_cast<uint32_t>(id);
  if (bpf_map_lookup_elem(map_fd, &key, ips.data()) != 0) return out;
  for (uint64_t ip : ips) {
    if (!ip) break;
    out.push_back(ip);
  }
  return out;
}

}  // namespace

std::vector<uint64_t> Tracer::user_stack(int32_t id) const {
  return read_stack(bpf_map__fd(skel_->maps.user_stacks), id, PGSTALL_USTACK_DEPTH);
}

uint32_t Tracer::sc_gen() const { return __atomic_load_n(&skel_->bss->sc_gen, __ATOMIC_RELAXED); }

Result<void> Tracer::track(int pid, const pgstall_thread_state& seed) {
  if (pidfds_.count(pid)) return {};
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    if (lost_track(errno)) untracked_.insert(pid);
    return fail(fmt::format("pidfd_open({}): {}", pid, strerror(errno)));
  }
  const int key = pidfd.get();
  int rc = bpf_map_update_elem(bpf_map__fd(skel_->maps.thread_states), &key, &seed, BPF_NOEXIST);
  if (rc != 0 && errno != EEXIST) {
    if (lost_track(errno)) untracked_.insert(pid);
    return fail(fmt::format("cannot track pid {}: {}", pid, strerror(errno)));
  }
  pidfds_.emplace(pid, std::move(pidfd));
  return {};
}

bool Tracer::adopt(int pid) {
  if (pidfds_.count(pid)) return true;
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    if (lost_track(errno)) untracked_.insert(pid);  // out of descriptors: counted, never silent
    if (errno == ESRCH) ++gone_before_read_;         // gone already: counted too
    return false;                                    // or a thread (not a process)
  }
  pidfds_.emplace(pid, std::move(pidfd));
  return true;
}

void Tracer::untrack(int pid) {
  auto it = pidfds_.find(pid);
  if (it == pidfds_.end()) return;
  const int key = it->second.get();
  // ENOENT: the process exited and its storage went with it.
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.thread_states), &key) != 0 && errno != ENOENT)
    spdlog::debug("untracking pid {}: {}", pid, strerror(errno));
  pidfds_.erase(it);
}

bool Tracer::tracked(int pid) const { return pidfds_.count(pid) != 0; }

std::optional<pgstall_thread_state> Tracer::state(int pid) const {
  auto it = pidfds_.find(pid);
  if (it == pidfds_.end()) return std::nullopt;
  pgstall_thread_state st{};
  const int key = it->second.get();
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.thread_states), &key, &st) != 0)
    return std::nullopt;
  return st;
}

uint32_t Tracer::epoch() const { return __atomic_load_n(&skel_->bss->epoch, __ATOMIC_RELAXED); }

uint32_t Tracer::bump_epoch() {
  return __atomic_add_fetch(&skel_->bss->epoch, 1, __ATOMIC_RELAXED);
}

int Tracer::drain(const std::function<void(const void*, size_t)>& cb) {
  cb_ = cb;
  int n = ring_buffer__consume(ring_.get());
  cb_ = nullptr;
  return n;
}

namespace {
// Sums each slot of a per-CPU u64 array map over the CPUs.
template <size_t N>
std::array<uint64_t, N> sum_percpu(const bpf_map* map) {
  std::array<uint64_t, N> out{};
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
  for (uint32_t k = 0; k < N; ++k) {
    if (bpf_map_lookup_elem(bpf_map__fd(map), &k, vals.data()) != 0) continue;
    for (auto v : vals) out[k] += v;
  }
  return out;
}
}  // namespace

std::array<uint64_t, PGSTALL_CNT__MAX> Tracer::counters() const {
  return sum_percpu<PGSTALL_CNT__MAX>(skel_->maps.counters);
}

std::array<uint64_t, PGSTALL_RP__MAX> Tracer::ring_drops() const {
  return sum_percpu<PGSTALL_RP__MAX>(skel_->maps.ring_drops);
}

std::vector<pgstall_blk_inflight> Tracer::block_inflight() const {
  std::vector<pgstall_blk_inflight> out;
  int fd = bpf_map__fd(skel_->maps.blk_inflight);
  uint64_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    pgstall_blk_inflight v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) out.push_back(v);
    key = next;
    prev = &key;
    if (out.size() > 100000) break;
  }
  return out;
}

std::array<uint64_t, PGSTALL_BLK_HIST_SLOTS> Tracer::block_histogram() const {
  return sum_percpu<PGSTALL_BLK_HIST_SLOTS>(skel_->maps.blk_hist);
}

void Tracer::self_test() {
  // Probes attached on demand are checked too: attached for the test only.
  const bool was_tracing = syscall_tracing_;
  bool on_demand = false;
  for (const auto& p : probes_) on_demand |= p.on_demand && p.loaded;
  if (on_demand) set_syscall_tracing(true);
  auto before = counters();
  pgstall_thread_state seed{};
  seed.flags = PGSTALL_F_TRACKED;
  seed.tgid = static_cast<uint32_t>(getpid());
  seed.off_kstack = seed.off_ustack = PGSTALL_NO_STACK;
  seed.sc_nr = PGSTALL_NO_SYSCALL;
  int self = getpid();
  if (auto r = track(self, seed); !r) {
    spdlog::warn("probe self-test could not run: {}", r.error().message);
    return;
  }
  (void)getppid();
  usleep(2000);  // sleeps: a context switch
  pid_t child = fork();
  if (child == 0) {
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(0);
  }
  if (child > 0) {
    waitpid(child, nullptr, 0);
    self_test_pids_.push_back(child);
  }
  usleep(1000);
  untrack(self);
  drain([](const void*, size_t) {});  // the self-test's own records
  auto after = counters();
  auto moved = [&](pgstall_counter c) { return after[c] > before[c]; };
  for (auto& p : probes_) {
    if (!p.attached) continue;
    const std::string& n = p.name;
    if (n.find("sys_enter") != std::string::npos || n.find("sys_exit") != std::string::npos)
      p.fired = moved(PGSTALL_CNT_SYSCALLS);
    else if (n.find("sched_switch") != std::string::npos)
      p.fired = moved(PGSTALL_CNT_SWITCHES);
    else if (n.find("sched_waking") != std::string::npos)
      p.fired = moved(PGSTALL_CNT_WAKEUPS);
    else if (n.find("process_fork") != std::string::npos)
      p.fired = moved(PGSTALL_CNT_FORKS);
    else if (n.find("process_exec") != std::string::npos)
      p.fired = moved(PGSTALL_CNT_EXECS);
    else if (n.find("process_exit") != std::string::npos)
      p.fired = moved(PGSTALL_CNT_EXITS);
    else if (n.find("block_rq_issue") != std::string::npos)
      p.fired = after[PGSTALL_CNT_BLOCK_ISSUE] > 0;  // needs disk traffic: judged later too
    else if (n.find("block_rq_complete") != std::string::npos)
      p.fired = after[PGSTALL_CNT_BLOCK_COMPLETE] > 0;
  }
  if (on_demand && !was_tracing) set_syscall_tracing(false);
}

}  // namespace pgstall::capture

namespace pgstall::capture {

const char* counter_name(int c) {
  // On the enum, so that -Wswitch names a counter added without a name here.
  switch (static_cast<pgstall_counter>(c)) {
    case PGSTALL_CNT_SYSCALLS: return "syscalls";
    case PGSTALL_CNT_SWITCHES: return "switches";
    case PGSTALL_CNT_WAKEUPS: return "wakeups";
    case PGSTALL_CNT_FORKS: return "forks";
    case PGSTALL_CNT_EXITS: return "exits";
    case PGSTALL_CNT_EXECS: return "execs";
    case PGSTALL_CNT_BLOCK_ISSUE: return "block_issued";
    case PGSTALL_CNT_BLOCK_COMPLETE: return "block_completed";
    case PGSTALL_CNT_RING_EVENTS: return "ring_records";
    case PGSTALL_CNT_RING_DROPS: return "ring_drops";
    case PGSTALL_CNT_STORAGE_FAILS: return "untracked_children";
    case PGSTALL_CNT_BLOCK_MAP_FULL: return "block_requests_unrecorded";
    case PGSTALL_CNT_LOCK_WAITS: return "lock_waits";
    case PGSTALL_CNT_LWLOCK_WAITS: return "lwlock_waits";
    case PGSTALL_CNT_DEADLOCKS: return "deadlocks";
    case PGSTALL_CNT_USTACK_LOST: return "user_stacks_lost";
    case PGSTALL_CNT_STACKS_LOST: return "stacks_lost";
    case PGSTALL_CNT_AGG_FULL: return "stack_weights_lost";
    case PGSTALL_CNT_ONCPU_SAMPLES: return "oncpu_samples";
    case PGSTALL_CNT__MAX: break;
  }
  return "unknown";
}

std::string_view ring_probe_name(int p) {
  namespace rp = model::ring_probe;
  switch (static_cast<pgstall_ring_probe>(p)) {
    case PGSTALL_RP_SCHED_SWITCH: return rp::kSchedSwitch;
    case PGSTALL_RP_FORK: return rp::kFork;
    case PGSTALL_RP_EXIT: return rp::kExit;
    case PGSTALL_RP_EXEC: return rp::kExec;
    case PGSTALL_RP_SYS_EXIT: return rp::kSysExit;
    case PGSTALL_RP_LOCK_WAIT_DONE: return rp::kLockWaitDone;
    case PGSTALL_RP_LWLOCK_WAIT_DONE: return rp::kLwlockWaitDone;
    case PGSTALL_RP_DEADLOCK: return rp::kDeadlock;
    case PGSTALL_RP_CHECKPOINT: return rp::kCheckpoint;
    case PGSTALL_RP__MAX: break;
  }
  return "unknown";
}

model::RingDrops named_ring_drops(const std::array<uint64_t, PGSTALL_RP__MAX>& counts) {
  model::RingDrops d;
  for (int i = 0; i < PGSTALL_RP__MAX; ++i) d.by_probe.emplace_back(ring_probe_name(i), counts[i]);
  return d;
}

std::vector<model::Counter> named_counters(const Tracer& tracer, model::RingDrops* drops) {
  std::vector<model::Counter> out;
  auto c = tracer.counters();
  const auto ring = named_ring_drops(tracer.ring_drops());
  c[PGSTALL_CNT_RING_DROPS] = ring.total();  // the kernel counts them per probe only
  for (int i = 0; i < PGSTALL_CNT__MAX; ++i) out.push_back({counter_name(i), c[i], counter_is_loss(i)});
  if (drops) *drops = ring;
  // Userspace's own: postgres processes that could not be tracked (out of
  // file descriptors, or the kernel refused their task storage).
  out.push_back({"processes_untracked", tracer.untracked(), true});
  // Not a loss: the kernel followed them; they were gone when looked at.
  out.push_back({"processes_gone_unread", tracer.gone_before_read(), false});
  return out;
}

bool counter_is_loss(int c) {
  return c == PGSTALL_CNT_RING_DROPS || c == PGSTALL_CNT_STORAGE_FAILS || c == PGSTALL_CNT_BLOCK_MAP_FULL ||
         c == PGSTALL_CNT_USTACK_LOST || c == PGSTALL_CNT_STACKS_LOST || c == PGSTALL_CNT_AGG_FULL;
}

void Tracer::set_lwlock_probes(bool on) {
  if (lwlock_mode_ != SyscallMode::Auto || on == lwlock_want_) return;
  lwlock_want_ = on;
  // What watch says it uses (the start event, doctor): asked for, not yet
  // necessarily done. The main thread alone writes usdt_ (attach_usdt too).
  for (auto& p : usdt_)
    if (p.on_demand) p.attached = on && p.sites > 0;
  {
    std::lock_guard lk(req_mu_);
    lwlock_asked_ = on;
  }
  if (!lwlock_thread_.joinable()) lwlock_thread_ = std::thread([this] { lwlock_worker(); });
  req_cv_.notify_one();
}

void Tracer::lwlock_worker() {
  std::unique_lock lk(req_mu_);
  for (;;) {
    req_cv_.wait(lk, [this] { return lwlock_stop_ || lwlock_asked_ != lwlock_done_; });
    if (lwlock_stop_) return;
    const bool on = lwlock_asked_;
    lk.unlock();
    switch_lwlock_probes(on);
    lk.lock();
    lwlock_done_ = on;
  }
}

void Tracer::switch_lwlock_probes(bool on) {
  std::lock_guard usdt(usdt_mu_);
  if (!on) {
    lwlock_on_.store(false, std::memory_order_release);
    lwlock_links_.clear();
    return;
  }
  bool any = false;
  for (const auto& fd : usdt_exe_fds_) {
    // The binary by its open descriptor: the one running, even if an
    // upgrade has replaced the file since.
    const std::string path = fmt::format("/proc/self/fd/{}", fd.get());
    for (const auto& u : kUsdt) {
      if (!u.lwlock) continue;
      if (UniqueLink link{
              bpf_program__attach_usdt(u.prog(skel_.get()), -1, path.c_str(), "postgresql", u.name, nullptr)}) {
        lwlock_links_.push_back(std::move(link));
        any = true;
      } else {
        spdlog::debug("attaching {} on demand failed: {}", u.name, strerror(errno));
      }
    }
  }
  if (any) {
    lwlock_attached_ns_.store(monotonic_ns(), std::memory_order_release);
    lwlock_on_.store(true, std::memory_order_release);
  }
}

Result<std::array<uint64_t, 3>> Tracer::task_user_regs(int tid) const {
  if (!task_regs_missing_.empty()) return fail(task_regs_missing_);
  if (bpf_program__fd(skel_->progs.pgstall_task_regs) < 0) return fail("the task iterator is not loaded");
  union bpf_iter_link_info info {};
  info.task.tid = static_cast<__u32>(tid);
  LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
  UniqueLink link(bpf_program__attach_iter(skel_->progs.pgstall_task_regs, &opts));
  if (!link) return fail(fmt::format("task iterator: {}", strerror(errno)));
  UniqueFd fd(bpf_iter_create(bpf_link__fd(link.get())));
  if (!fd) return fail(fmt::format("task iterator: {}", strerror(errno)));
  std::array<uint64_t, 3> regs{};
  ssize_t n = read(fd.get(), regs.data(), sizeof regs);
  if (n == static_cast<ssize_t>(sizeof regs)) return regs;
  return fail(n < 0 ? fmt::format("task iterator read: {}", strerror(errno)) : "no such task");
}

Result<void> Tracer::start_sampling(int hz) {
  if (!stacks_on_) return fail("stacks were not enabled when the probes were loaded");
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu < 0) return fail(fmt::format("cannot count the possible CPUs: {}", strerror(-ncpu)));
  for (int cpu = 0; cpu < ncpu; ++cpu) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = static_cast<uint64_t>(hz);
    UniqueFd fd(static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)));
    if (!fd) {
      if (errno == ENODEV) continue;  // a possible CPU that is not online
      return fail(fmt::format("perf_event_open(cpu-clock, cpu {}): {}", cpu, strerror(errno)));
    }
    UniqueLink link(bpf_program__attach_perf_event(skel_->progs.pgstall_oncpu_sample, fd.get()));
    if (!link) return fail(fmt::format("attaching the on-CPU sampler on cpu {}: {}", cpu, strerror(errno)));
    fd.release();  // the link closes it at detach (libbpf's perf link owns its event)
    sample_links_.push_back(std::move(link));
  }
  if (sample_links_.empty()) return fail("no CPU to sample on");
  return {};
}

namespace {

template <typename K, typename F>
void for_each_key(int fd, F&& f) {
  K key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    f(next);
    key = next;
    prev = &key;
  }
}

template <typename K, typename V>
void drain_map(int fd, std::vector<std::pair<K, V>>& out) {
  std::vector<K> keys;
  for_each_key<K>(fd, [&](const K& k) { keys.push_back(k); });
  for (const auto& k : keys) {
    V v{};
    if (bpf_map_lookup_elem(fd, &k, &v) == 0) out.emplace_back(k, v);
    bpf_map_delete_elem(fd, &k);
  }
}

}  // namespace

void Tracer::drain_stacks(StackDrain& out, bool everything) {
  if (!stacks_on_) return;
  // Drain the buffer the programs left one drain ago (quiet since), then
  // hand them the drained one. At the end, both.
  auto drain_gen = [&](uint32_t g) {
    drain_map(bpf_map__fd(g ? skel_->maps.offcpu_agg1 : skel_->maps.offcpu_agg0), out.offcpu);
    drain_map(bpf_map__fd(g ? skel_->maps.oncpu_agg1 : skel_->maps.oncpu_agg0), out.oncpu);
  };
  const uint32_t active = skel_->bss->agg_gen & 1;
  drain_gen(active ^ 1);
  __atomic_store_n(&skel_->bss->agg_gen, active ^ 1, __ATOMIC_SEQ_CST);
  if (everything) {
    struct timespec ts = {0, 20'000'000};  // programs that read the old value finish
    nanosleep(&ts, nullptr);
    drain_gen(active);
  }
}

std::vector<uint64_t> Tracer::stack(int32_t id) const {
  if (!stacks_on_) return {};
  return read_stack(bpf_map__fd(skel_->maps.stacks), id, PGSTALL_STACK_DEPTH);
}

void Tracer::forget_stacks(std::set<int32_t> ids) {
  if (!stacks_on_) return;
  // Entries still in either aggregation buffer refer to their stacks: keep those.
  auto keep = [&](const auto& key) {
    ids.erase(key.kstack);
    ids.erase(key.ustack);
  };
  for (bpf_map* m : {skel_->maps.offcpu_agg0, skel_->maps.offcpu_agg1})
    for_each_key<pgstall_offcpu_key>(bpf_map__fd(m), keep);
  for (bpf_map* m : {skel_->maps.oncpu_agg0, skel_->maps.oncpu_agg1})
    for_each_key<pgstall_oncpu_key>(bpf_map__fd(m), keep);
  for (int32_t id : ids) {
    if (id < 0) continue;
    const uint32_t key = static_cast<uint32_t>(id);
    bpf_map_delete_elem(bpf_map__fd(skel_->maps.stacks), &key);
  }
}

}  // namespace pgstall::capture
