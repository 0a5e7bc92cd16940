#include "capture/doctor.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "capture/kernel_btf.h"
#include "capture/pgmem.h"
#include "capture/tracer.h"
#include "model/datadir.h"
#include "model/lockgraph.h"
#include "model/procfs.h"
#include "model/procstate.h"
#include "model/title.h"
#include "model/wait_event.h"
#include "symbols/elf.h"
#include "symbols/elfnotes.h"
#include "util/clock.h"
#include "util/fd.h"

namespace pgstall::capture {
namespace {

namespace doc = model::doctor;

std::optional<int> read_int_file(const char* path) {
  std::ifstream f(path);
  int v = 0;
  if (f >> v) return v;
  return std::nullopt;
}

// The active mode of /sys/kernel/security/lockdown ("none [integrity] confidentiality").
std::string lockdown_mode() {
  std::ifstream f("/sys/kernel/security/lockdown");
  std::string word;
  while (f >> word)
    if (word.size() > 2 && word.front() == '[' && word.back() == ']') return word.substr(1, word.size() - 2);
  return "";
}

doc::PermissionFacts permission_facts() {
  doc::PermissionFacts p;
  p.euid = geteuid();
  std::ifstream status("/proc/self/status");
  std::string line;
  uint64_t eff = 0;
  while (std::getline(status, line))
    if (line.starts_with("CapEff:")) {
      const std::string hex = line.substr(line.find_first_not_of(" \t", 7));
      std::from_chars(hex.data(), hex.data() + hex.size(), eff, 16);
    }
  // linux/capability.h numbers.
  p.cap_sys_ptrace = eff >> 19 & 1;
  p.cap_sys_admin = eff >> 21 & 1;
  p.cap_perfmon = eff >> 38 & 1;
  p.cap_bpf = eff >> 39 & 1;
  p.perf_event_paranoid = read_int_file("/proc/sys/kernel/perf_event_paranoid");
  p.unprivileged_bpf_disabled = read_int_file("/proc/sys/kernel/unprivileged_bpf_disabled");
  p.ptrace_scope = read_int_file("/proc/sys/kernel/yama/ptrace_scope");
  p.lockdown = lockdown_mode();
  rlimit rl{};
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) p.memlock_bytes = rl.rlim_cur;
  return p;
}

// Disk I/O the block tracepoints can see: a nameless file (O_TMPFILE, gone
// at close) written and flushed where disks usually are.
void provoke_block_io() {
  for (const char* dir : {"/var/tmp", "/tmp"}) {
    UniqueFd fd(::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd) continue;
    std::string block(64 * 1024, 'x');
    if (::write(fd.get(), block.data(), block.size()) == static_cast<ssize_t>(block.size()) &&
        ::fdatasync(fd.get()) == 0)
      return;
  }
}

pgstall_thread_state self_seed() {
  pgstall_thread_state seed{};
  seed.flags = PGSTALL_F_TRACKED;
  seed.tgid = static_cast<uint32_t>(getpid());
  seed.off_kstack = seed.off_ustack = PGSTALL_NO_STACK;
  seed.sc_nr = PGSTALL_NO_SYSCALL;
  seed.sleep_sc_nr = PGSTALL_NO_SYSCALL;
  return seed;
}

doc::Feature feature(const char* name, bool required, const char* without, const char* fix) {
  doc::Feature f;
  f.name = name;
  f.required = required;
  f.without = without;
  f.fix = fix;
  return f;
}

// What record and watch use beyond the tracepoints, each tried for real on
// the loaded object: this process tracked in task storage, the ring's
// records from the self-test, one thread's registers through the task
// iterator, and on-CPU samples of this process spinning.
std::vector<doc::Feature> try_features(Tracer& tracer) {
  auto storage = feature("task storage", true, "no per-thread state", "a 5.13+ kernel (docs/KERNEL.md)");
  auto ring = feature("ring buffer", true, "no fork, exit or slow-event records", "a 5.8+ kernel (docs/KERNEL.md)");
  auto iter = feature("task iterator", false, "a stall begun before pgstall has no user stack",
                      "a 6.1+ kernel (docs/KERNEL.md)");
  auto sampling = feature("cpu-clock sampling", false, "record has no on-CPU stacks",
                          "allow perf_event_open (seccomp of a container?)");
  const auto counters = tracer.counters();
  ring.works = counters[PGSTALL_CNT_RING_EVENTS] > 0;
  if (!*ring.works) ring.why = "the self-test's fork and exit left no record in it";
  if (auto regs = tracer.task_user_regs(getpid()); regs && (*regs)[0] != 0) {
    iter.works = true;
  } else {
    iter.works = false;
    iter.why = regs ? "it returned no registers" : regs.error().message;
  }
  const int self = getpid();
  if (auto tracked = tracer.track(self, self_seed()); !tracked) {
    storage.works = false;
    storage.why = tracked.error().message;
    return {storage, ring, iter, sampling};
  }
  storage.works = true;
  if (auto started = tracer.start_sampling(199); !started) {
    sampling.works = false;
    sampling.why = started.error().message;
  } else {
    // Spin until a sample of this process is counted (half a second at most).
    const uint64_t until = monotonic_ns() + 500'000'000ull;
    volatile uint64_t spin = 0;
    while (monotonic_ns() < until && tracer.counters()[PGSTALL_CNT_ONCPU_SAMPLES] == 0)
      for (int i = 0; i < 1'000'000; ++i) spin = spin + i;
    sampling.works = tracer.counters()[PGSTALL_CNT_ONCPU_SAMPLES] > 0;
    if (!*sampling.works) sampling.why = "attached, but no sample of a busy process in 0.5 s";
  }
  tracer.untrack(self);
  return {storage, ring, iter, sampling};
}

// Which map types the kernel has, when the object did not load: says why.
std::vector<doc::Feature> probe_map_types() {
  auto storage = feature("task storage", true, "no per-thread state", "a 5.13+ kernel (docs/KERNEL.md)");
  auto ring = feature("ring buffer", true, "no fork, exit or slow-event records", "a 5.8+ kernel (docs/KERNEL.md)");
  for (auto* f : {&storage, &ring}) {
    const int rc = libbpf_probe_bpf_map_type(f == &storage ? BPF_MAP_TYPE_TASK_STORAGE : BPF_MAP_TYPE_RINGBUF, nullptr);
    if (rc == 1) f->works = true;
    if (rc == 0) {
      f->works = false;
      f->why = "this kernel has no such map type";
    }
  }
  return {storage, ring};
}

Result<std::unique_ptr<Tracer>> kernel_facts(doc::KernelFacts& k, bool root) {
  utsname u{};
  if (uname(&u) == 0) {
    k.release = u.release;
    k.machine = u.machine;
  }
  auto btf = KernelBtf::load();
  k.btf = btf.ok() && access("/sys/kernel/btf/vmlinux", R_OK) == 0;
  if (!btf) k.btf_error = btf.error().message;
  k.tracepoints = Tracer::tracepoint_names();
  if (btf)
    for (const auto& tp : k.tracepoints)
      if (!btf->has_tracepoint(tp)) k.tracepoints_missing.push_back(tp);
  if (!root || !k.btf) {
    for (const char* name : {"task storage", "ring buffer", "task iterator", "cpu-clock sampling"})
      k.features.push_back(feature(name, false, "", ""));  // not tried
    return fail("not loaded");
  }
  // As watch loads it, with record's stacks and sampler too.
  Config cfg;
  cfg.syscalls = SyscallMode::Auto;
  cfg.lwlock_probes = SyscallMode::Auto;
  cfg.stacks = true;
  k.load_tried = true;
  auto opened = Tracer::open(cfg);
  if (!opened) {
    k.load_error = opened.error().message;
    k.features = probe_map_types();
    return opened.error();
  }
  provoke_block_io();
  (*opened)->self_test();
  k.probes = (*opened)->probes();
  k.degradations = (*opened)->degradations();
  k.features = try_features(**opened);
  return opened;
}

// ---- clusters

struct Found {
  std::map<int, model::ProcStat> pg;  // every postgres process
  std::set<int> postmasters;          // those whose parent is not one
};

Found find_postgres() {
  Found f;
  const int self = getpid();
  for (int pid : model::list_pids()) {
    if (pid == self) continue;
    auto st = model::read_proc_stat(pid);
    if (st && model::is_postgres_comm(st->comm)) f.pg.emplace(pid, *st);
  }
  for (const auto& [pid, st] : f.pg)
    if (!f.pg.count(st.ppid)) f.postmasters.insert(pid);
  return f;
}

std::string real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  return real ? real.get() : path;
}

// The postmaster whose data directory is `dir`: by its postmaster.pid; as
// another user, whose -D names it (the directory itself is unreadable).
Result<std::optional<int>> postmaster_of_dir(const std::string& dir, const Found& found, std::string& why) {
  auto d = model::open_data_dir(dir);
  if (d) {
    auto pm = model::running_postmaster(*d);
    if (pm) return std::optional<int>(*pm);
    why = pm.error().message;
    return std::optional<int>();
  }
  if (geteuid() == 0) return d.error();
  const std::string want = real_path(dir);
  for (int pm : found.postmasters)
    if (auto cmd = model::proc_cmdline(pm))
      if (auto arg = model::parse_title(*cmd).data_dir_arg; !arg.empty() && real_path(arg) == want)
        return std::optional<int>(pm);
  return fail(d.error().message + fmt::format(" (as uid {}: run as root)", geteuid()));
}

// The postmasters to check, and the --data-dir targets with none running.
Result<std::set<int>> resolve(const DoctorTargets& t, const Found& found, std::vector<doc::NotRunning>& not_running) {
  if (t.pids.empty() && t.data_dirs.empty()) return found.postmasters;
  std::set<int> out;
  for (int pid : t.pids) {
    auto st = model::read_proc_stat(pid);
    if (!st) return fail(fmt::format("no process with pid {}", pid));
    if (!model::is_postgres_comm(st->comm))
      return fail(fmt::format("pid {} is not a PostgreSQL process (it is '{}')", pid, st->comm));
    out.insert(found.pg.count(st->ppid) ? st->ppid : pid);  // a backend stands for its cluster
  }
  for (const auto& dir : t.data_dirs) {
    std::string why;
    auto pm = postmaster_of_dir(dir, found, why);
    if (!pm) return pm.error();
    if (*pm)
      out.insert(**pm);
    else
      not_running.push_back({dir, why});
  }
  return out;
}

// The child to read a wait event and a PGPROC in: an auxiliary process that
// is always there and has a PGPROC.
std::pair<int, std::string> probe_child(int postmaster, const Found& found) {
  using model::BackendType;
  const BackendType order[] = {BackendType::Checkpointer, BackendType::WalWriter, BackendType::BackgroundWriter,
                               BackendType::AutovacuumLauncher, BackendType::ClientBackend};
  std::map<BackendType, int> children;
  for (const auto& [pid, st] : found.pg)
    if (st.ppid == postmaster)
      if (auto cmd = model::proc_cmdline(pid)) children.emplace(model::parse_title(*cmd).type, pid);
  for (BackendType type : order)
    if (auto it = children.find(type); it != children.end())
      return {it->second, std::string(model::backend_type_name(type))};
  return {0, ""};
}

void binary_facts(doc::ClusterFacts& c, const std::string& path) {
  auto elf = symbols::ElfFile::open(path);
  auto exe = elf ? inspect_executable(*elf) : Result<PgExecutable>(elf.error());
  if (!exe) {
    c.binary_error = exe.error().message;
    return;
  }
  c.has_symbols = exe->has_symbols;
  c.has_symtab = elf->section_address(".symtab").has_value();
  c.build_id = exe->build_id;
  if (c.build_id.size() > 2) {
    const std::string debug =
        fmt::format("/usr/lib/debug/.build-id/{}/{}.debug", c.build_id.substr(0, 2), c.build_id.substr(2));
    if (access(debug.c_str(), R_OK) == 0) c.debug_file = debug;
  }
  c.wait_event_unsupported = unsupported_reason(*exe, c.pg_major).value_or("");
  for (const auto& [name, sites] : symbols::usdt_sites(path, "postgresql")) {
    ++c.usdt_probes;
    c.usdt_sites += sites;
  }
}

void live_reads(doc::ClusterFacts& c, const Found& found) {
  const auto child = probe_child(c.pid, found);
  const int pid = child.first;
  if (!pid) return;
  c.probe_pid = pid;
  c.probe_type = child.second;
  if (!c.wait_event_unsupported.empty()) return;
  WaitEventReader reader;
  c.wait_event_tried = true;
  auto info = reader.read(pid);
  if (!info) {
    c.wait_event_error = info.error().message;
    return;
  }
  auto event = model::decode_wait_event(*info, c.pg_major);
  c.wait_event_read = *info == 0 ? "not waiting" : event ? event->text() : fmt::format("{:#x}", *info);
  const auto layout = model::lock_layout(c.pg_major);
  const auto target = reader.wait_event_target(pid);
  if (!layout || !target) return;
  c.pgproc_tried = true;
  const model::MemReader mem = [pid](uint64_t addr, void* buf, size_t len) {
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
  };
  if (auto read = model::read_lock_wait(mem, pid, *target, *layout); !read) c.pgproc_error = read.error().message;
}

doc::ClusterFacts cluster_facts(int pm, const Found& found, Tracer* tracer) {
  doc::ClusterFacts c;
  c.pid = pm;
  const auto title = model::parse_title(model::proc_cmdline(pm).value_or(""));
  std::string exe_path = fmt::format("/proc/{}/exe", pm);
  if (auto exe = model::read_proc_link(pm, "exe")) {
    c.binary = *exe;
    if (auto cwd = model::cwd_of(pm)) c.data_dir = cwd->path;
  } else {
    // Another user's process: its command line is all there is to read.
    const std::string cmd = model::proc_cmdline(pm).value_or("");
    const std::string argv0 = cmd.substr(0, cmd.find('\0'));
    c.from_cmdline = true;
    c.data_dir = title.data_dir_arg.starts_with("/") ? title.data_dir_arg : "";
    if (argv0.starts_with("/") && access(argv0.c_str(), R_OK) == 0) {
      c.binary = exe_path = argv0;
    } else {
      c.binary_error = fmt::format("/proc/{}/exe not readable as uid {}", pm, geteuid());
    }
  }
  c.pg_major = pg_major_from_path(c.binary);
  if (!c.pg_major && !c.data_dir.empty()) {
    std::ifstream v(c.data_dir + "/PG_VERSION");
    v >> c.pg_major;
  }
  c.wait_event_names = model::wait_events_supported(c.pg_major);
  c.lock_layout = model::lock_layout(c.pg_major).has_value();
  if (c.binary_error.empty()) binary_facts(c, exe_path);
  if (tracer && c.binary_error.empty()) {
    c.usdt_attach_tried = true;
    if (auto attached = tracer->attach_usdt(pm); !attached) c.usdt_error = attached.error().message;
    for (const auto& u : tracer->usdt_probes())
      if (u.binary == c.binary) c.usdt.push_back(u);
  }
  live_reads(c, found);
  return c;
}

}  // namespace

Result<doc::Facts> doctor_facts(const DoctorTargets& targets, const std::string& version) {
  doc::Facts f;
  f.version = version;
  f.targeted = !targets.pids.empty() || !targets.data_dirs.empty();
  f.permissions = permission_facts();
  const Found found = find_postgres();
  auto postmasters = resolve(targets, found, f.not_running);
  if (!postmasters) return postmasters.error();
  const bool root = f.permissions.euid == 0;
  auto tracer = kernel_facts(f.kernel, root);
  // One look again: a postmaster that exited meanwhile is not reported on.
  for (int pm : *postmasters)
    if (!model::gone_or_exiting(pm)) f.clusters.push_back(cluster_facts(pm, found, tracer ? tracer->get() : nullptr));
  return f;
}

}  // namespace pgstall::capture
