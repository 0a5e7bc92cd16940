#include "model/doctor.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pgstall::model::doctor {
namespace {

constexpr const char* kRunAsRoot = "run as root: sudo pgstall doctor";
constexpr const char* kKernelDoc = "docs/KERNEL.md says which kernel has it";

// "tp_btf/sched_switch" -> "sched_switch"
std::string short_name(const std::string& probe) { return probe.substr(probe.find('/') + 1); }

bool is_block(const Probe& p) { return p.name.find("block_") != std::string::npos; }

// Attached (or attachable on demand) and seen to fire in the self-test; a
// block probe that attached needs disk I/O to fire, which the check may not see.
bool probe_works(const Probe& p) { return p.fired || (is_block(p) && p.attached); }

Check probe_check(const Probe& p) {
  const std::string name = short_name(p.name);
  const Level level = p.required ? Level::Fail : Level::Warn;
  if (!p.loaded || (!p.attached && !p.fired)) {
    const std::string why = p.error.empty() ? "not attached" : p.error;
    const std::string fix = p.error.find("disabled") != std::string::npos ? ""
                            : p.error.find("no such tracepoint") != std::string::npos
                                ? std::string("a kernel with this tracepoint (") + kKernelDoc + ")"
                                : "pgstall doctor -vv shows libbpf's reason; " + std::string(kKernelDoc);
    return {name, level, fmt::format("{}: no {}", why, p.purpose), fix};
  }
  return {name, level, fmt::format("attached but did not fire in the self-test: {} may be missing", p.purpose),
          "none known: report it with pgstall doctor -vv's output"};
}

void tracepoint_checks(const KernelFacts& k, std::vector<Check>& out) {
  size_t working = 0;
  bool block_unseen = false, raw_tp = false;
  std::vector<Check> failing;
  for (const auto& p : k.probes) {
    if (probe_works(p)) {
      ++working;
      block_unseen |= is_block(p) && !p.fired;
      raw_tp |= p.name.starts_with("raw_tp/");
    } else {
      failing.push_back(probe_check(p));
    }
  }
  std::string detail = fmt::format("{} of {} load, attach and fire ({})", working, k.probes.size(),
                                   raw_tp ? "tp_btf, raw_tp fallbacks" : "tp_btf");
  if (block_unseen) detail += "; block: attached, no disk I/O seen";
  out.push_back({"tracepoints", failing.empty() ? Level::Ok : Level::Warn, detail, ""});
  for (auto& c : failing) out.push_back(std::move(c));
}

void feature_checks(const KernelFacts& k, bool root, std::vector<Check>& out) {
  std::vector<std::string> working, untried;
  for (const auto& f : k.features) {
    if (!f.works) {
      untried.push_back(f.name);
    } else if (*f.works) {
      working.push_back(f.name);
    } else {
      std::string detail = f.why;
      if (!f.without.empty()) detail += ": " + f.without;
      out.push_back({f.name, f.required ? Level::Fail : Level::Warn, detail, f.fix});
    }
  }
  if (!working.empty()) out.push_back({"BPF", Level::Ok, fmt::format("{}", fmt::join(working, ", ")), ""});
  if (!untried.empty())
    out.push_back({"BPF", Level::Skip, fmt::format("{}: not tried ({})", fmt::join(untried, ", "),
                                                   root ? "the BPF object did not load" : "needs root"),
                   root ? "" : kRunAsRoot});
}

}  // namespace

const char* level_name(Level l) {
  switch (l) {
    case Level::Ok: return "ok";
    case Level::Note: return "note";
    case Level::Skip: return "skip";
    case Level::Warn: return "warn";
    case Level::Fail: return "FAIL";
  }
  return "?";
}

std::vector<Check> kernel_checks(const KernelFacts& k, bool root) {
  std::vector<Check> out;
  if (k.btf)
    out.push_back({"BTF", Level::Ok, "/sys/kernel/btf/vmlinux", ""});
  else
    out.push_back({"BTF", Level::Fail,
                   k.btf_error.empty() ? "the kernel exposes no BTF (/sys/kernel/btf/vmlinux)" : k.btf_error,
                   "a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's, Ubuntu's, RHEL 8.2+'s are)"});
  if (!k.tracepoints_missing.empty())
    out.push_back({"tracepoints", Level::Warn,
                   fmt::format("not in this kernel: {}", fmt::join(k.tracepoints_missing, ", ")),
                   std::string("a kernel with them (") + kKernelDoc + ")"});
  if (!k.load_tried) {
    out.push_back({"tracepoints", Level::Skip,
                   fmt::format("{} of {} in the kernel's BTF; not loaded ({})",
                               k.tracepoints.size() - k.tracepoints_missing.size(), k.tracepoints.size(),
                               root ? "no BTF" : "needs root"),
                   root ? "" : kRunAsRoot});
  } else if (!k.load_error.empty()) {
    out.push_back({"BPF load", Level::Fail, k.load_error,
                   std::string("pgstall doctor -vv shows the verifier's log; ") + kKernelDoc});
  } else {
    tracepoint_checks(k, out);
  }
  for (const auto& d : k.degradations)
    out.push_back({"degraded", Level::Warn, d, std::string("a newer kernel (") + kKernelDoc + ")"});
  feature_checks(k, root, out);
  out.push_back({"kprobes, fentry", Level::Ok, "not used (tracepoints, tp_btf and USDT uprobes instead)", ""});
  return out;
}

std::vector<Check> permission_checks(const PermissionFacts& p) {
  std::vector<Check> out;
  std::vector<std::string> caps;
  if (p.cap_bpf) caps.push_back("CAP_BPF");
  if (p.cap_perfmon) caps.push_back("CAP_PERFMON");
  // CAP_SYS_ADMIN stands in for the two where they are missing (before 5.8).
  if (p.cap_sys_admin && !(p.cap_bpf && p.cap_perfmon)) caps.push_back("CAP_SYS_ADMIN");
  if (p.cap_sys_ptrace) caps.push_back("CAP_SYS_PTRACE");
  const std::string lockdown = p.lockdown.empty() ? "unknown" : p.lockdown;
  if (p.euid != 0) {
    out.push_back({"root", Level::Fail,
                   fmt::format("uid {}: watch needs root (BPF, other users' /proc and memory)", p.euid),
                   kRunAsRoot});
  } else if (!(p.cap_bpf && p.cap_perfmon) && !p.cap_sys_admin) {
    out.push_back({"root", Level::Fail,
                   fmt::format("uid 0 without CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN (has: {}): a restricted container?",
                               caps.empty() ? "none" : fmt::format("{}", fmt::join(caps, " "))),
                   "grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE, or run it on the host"});
  } else if (!p.cap_sys_ptrace) {
    out.push_back({"root", Level::Warn, "no CAP_SYS_PTRACE: wait events and lock holders cannot be read",
                   "grant CAP_SYS_PTRACE"});
  } else {
    out.push_back({"root", Level::Ok, fmt::format("uid 0, {}; lockdown {}", fmt::join(caps, " "), lockdown), ""});
  }
  if (p.lockdown == "confidentiality")
    out.push_back({"lockdown", Level::Warn,
                   "confidentiality: BPF may not read kernel memory (raw_tp fallbacks, kernel stacks)",
                   "boot with lockdown=integrity or none"});
  if (p.ptrace_scope && *p.ptrace_scope >= 3)
    out.push_back({"ptrace_scope", Level::Warn,
                   "kernel.yama.ptrace_scope=3: no one may read another process' memory: no wait events, no lock "
                   "holders",
                   "reboot with kernel.yama.ptrace_scope=1 (3 cannot be lowered while running)"});
  // As root none of these takes anything away (ptrace_scope 3 aside): said
  // for the operator comparing hosts. Absent ones (no Yama) are left out.
  std::vector<std::string> sysctls;
  for (const auto& [name, value] : {std::pair{"ptrace_scope", p.ptrace_scope},
                                    std::pair{"perf_event_paranoid", p.perf_event_paranoid},
                                    std::pair{"unprivileged_bpf_disabled", p.unprivileged_bpf_disabled}})
    if (value) sysctls.push_back(fmt::format("{} {}", name, *value));
  if (!sysctls.empty()) out.push_back({"sysctl", Level::Ok, fmt::format("{}", fmt::join(sysctls, ", ")), ""});
  return out;
}

std::string debug_symbols_fix(const ClusterFacts& c) {
  const auto at = c.binary.find("/postgresql/");
  if (c.pg_major > 0 && at != std::string::npos && c.binary.starts_with("/usr/lib/postgresql/"))
    return fmt::format("install postgresql-{}-dbgsym (from debian-debug or apt.postgresql.org)", c.pg_major);
  if (c.pg_major > 0 && c.binary.starts_with("/usr/pgsql-"))
    return fmt::format("install postgresql{}-server-debuginfo", c.pg_major);
  return c.build_id.empty() ? "install the debug info of this postgres binary"
                            : fmt::format("put its debug info at /usr/lib/debug/.build-id/{}/{}.debug",
                                          c.build_id.substr(0, 2), c.build_id.substr(2));
}

namespace {

void usdt_check(const ClusterFacts& c, bool root, std::vector<Check>& out) {
  if (!c.binary_error.empty()) return;  // said by the server line
  if (c.usdt_probes == 0) {
    out.push_back({"USDT", Level::Warn,
                   "none in this binary (built without --enable-dtrace): lock tags and LWLock tranches from wait "
                   "events only; no deadlocks, no checkpoint phases",
                   "a PostgreSQL built with --enable-dtrace (Debian's and PGDG's packages are)"});
    return;
  }
  const std::string in_binary = fmt::format("{} probes in the binary", c.usdt_probes);
  if (!c.usdt_attach_tried) {
    out.push_back({"USDT", Level::Skip,
                   fmt::format("{}; attach not tried ({})", in_binary, root ? "the BPF object did not load" : "needs root"),
                   root ? "" : kRunAsRoot});
    return;
  }
  int used = 0, attached = 0, on_demand = 0;
  std::string first_error;
  for (const auto& u : c.usdt) {
    if (u.sites == 0) continue;  // absent from this build: said per probe in watch's start event
    ++used;
    if (u.on_demand) ++on_demand;
    else if (u.attached) ++attached;
    else if (first_error.empty()) first_error = u.name + ": " + u.error;
  }
  if (!c.usdt_error.empty() || attached == 0) {
    out.push_back({"USDT", Level::Warn,
                   fmt::format("{}, none attached: {}", in_binary, c.usdt_error.empty() ? first_error : c.usdt_error),
                   "pgstall doctor -vv shows libbpf's reason"});
  } else if (!first_error.empty()) {
    out.push_back({"USDT", Level::Warn,
                   fmt::format("{}; {} of {} pgstall uses attach; {}", in_binary, attached, used - on_demand,
                               first_error),
                   "pgstall doctor -vv shows libbpf's reason"});
  } else {
    out.push_back({"USDT", Level::Ok,
                   fmt::format("{}; {} attach{}", in_binary, attached,
                               on_demand ? fmt::format(", {} LWLock ones on demand", on_demand) : ""),
                   ""});
  }
}

// Whether watch (as root) reads them. A read that failed for want of root
// says nothing about root's.
bool wait_events_work(const ClusterFacts& c, bool root) {
  return c.binary_error.empty() && c.wait_event_unsupported.empty() && c.wait_event_names &&
         (!root || !c.wait_event_tried || c.wait_event_error.empty());
}

bool lock_holders_work(const ClusterFacts& c, bool root) {
  return wait_events_work(c, root) && c.lock_layout && (!root || !c.pgproc_tried || c.pgproc_error.empty());
}

void wait_event_check(const ClusterFacts& c, bool root, std::vector<Check>& out) {
  if (!c.binary_error.empty()) return;
  if (!c.wait_event_unsupported.empty()) {
    out.push_back({"wait events", Level::Warn, c.wait_event_unsupported,
                   c.pg_major > 0 && c.pg_major < 14
                       ? "PostgreSQL 14 or later"
                       : "a postgres binary that exports my_wait_event_info (14+, .dynsym kept)"});
  } else if (!c.wait_event_names) {
    out.push_back({"wait events", Level::Warn,
                   c.pg_major ? fmt::format("no event names for PostgreSQL {} (13-17 known): shown as numbers",
                                            c.pg_major)
                              : "PostgreSQL version unknown (no PG_VERSION read): events shown as numbers",
                   c.pg_major ? fmt::format("a pgstall that knows PostgreSQL {}", c.pg_major) : kRunAsRoot});
  } else if (!c.wait_event_tried) {
    out.push_back({"wait events", Level::Skip, "my_wait_event_info exported; no child process to read it in",
                   "check again once the server has started"});
  } else if (!c.wait_event_error.empty()) {
    // As another user the reason is always the same (and long): said short.
    out.push_back({"wait events", root ? Level::Warn : Level::Skip,
                   root ? c.wait_event_error : "my_wait_event_info exported; not read (needs root)",
                   root ? "CAP_SYS_PTRACE, and kernel.yama.ptrace_scope below 3" : kRunAsRoot});
  } else {
    out.push_back({"wait events", Level::Ok,
                   fmt::format("from memory ({} {}: {})", c.probe_type, c.probe_pid, c.wait_event_read), ""});
  }
}

void lock_holder_check(const ClusterFacts& c, bool root, std::vector<Check>& out) {
  if (!c.binary_error.empty() || !c.wait_event_unsupported.empty()) return;
  if (!c.lock_layout) {
    out.push_back({"lock holders", Level::Warn,
                   fmt::format("no PGPROC layout for PostgreSQL {} (measured: 15): lock waits show holder "
                               "candidates only",
                               c.pg_major ? std::to_string(c.pg_major) : "?"),
                   "watch --dsn '...' adds pg_blocking_pids() while SQL still answers"});
  } else if (!c.pgproc_tried) {
    out.push_back({"lock holders", Level::Skip, "PGPROC offsets not checked (no wait event read)",
                   root ? "" : kRunAsRoot});
  } else if (!c.pgproc_error.empty()) {
    out.push_back({"lock holders", Level::Warn,
                   fmt::format("PostgreSQL {} offsets do not fit this build: {}", c.pg_major, c.pgproc_error),
                   "watch --dsn '...' adds pg_blocking_pids(); report it with postgres --version"});
  } else {
    out.push_back({"lock holders", Level::Ok,
                   fmt::format("from shared memory (PostgreSQL {} offsets fit pid {})", c.pg_major, c.probe_pid),
                   ""});
  }
}

void symbol_check(const ClusterFacts& c, std::vector<Check>& out) {
  if (!c.binary_error.empty()) return;
  if (!c.debug_file.empty())
    out.push_back({"symbols", Level::Ok, "debug info " + c.debug_file, ""});
  else if (c.has_symtab)
    out.push_back({"symbols", Level::Ok, ".symtab (every function named)", ""});
  else if (c.has_symbols)
    out.push_back({"symbols", Level::Note, ".dynsym only: static functions show as postgres+0xOFF in stacks",
                   debug_symbols_fix(c)});
  else
    out.push_back({"symbols", Level::Warn, "no symbol table: user stacks show as offsets only", debug_symbols_fix(c)});
}

}  // namespace

std::vector<Check> cluster_checks(const ClusterFacts& c, bool root) {
  std::vector<Check> out;
  const std::string version = c.pg_major ? fmt::format("PostgreSQL {}", c.pg_major) : "PostgreSQL ?";
  if (!c.binary_error.empty())
    out.push_back({"server", root ? Level::Warn : Level::Skip,
                   fmt::format("{}, binary unreadable: {}", version, c.binary_error),
                   root ? "" : kRunAsRoot});
  else
    out.push_back({"server", Level::Ok,
                   fmt::format("{}, {}{}", version, c.binary, c.from_cmdline ? " (from argv)" : ""), ""});
  usdt_check(c, root, out);
  wait_event_check(c, root, out);
  lock_holder_check(c, root, out);
  symbol_check(c, out);
  return out;
}

std::string cluster_mode(const ClusterFacts& c, bool root) {
  if (!c.binary_error.empty() && !root) return "unknown (its binary is read as root)";
  const bool usdt = c.binary_error.empty() && c.usdt_probes > 0 &&
                    (!c.usdt_attach_tried || (c.usdt_error.empty() &&
                                              std::any_of(c.usdt.begin(), c.usdt.end(),
                                                          [](const UsdtProbe& u) { return u.attached; })));
  std::vector<std::string> used = {"tracepoints"}, without;
  (usdt ? used : without).push_back("USDT");
  (wait_events_work(c, root) ? used : without).push_back("wait events");
  (lock_holders_work(c, root) ? used : without).push_back("lock holders");
  std::string mode = fmt::format("{}{}", root ? "" : "as root: ", fmt::join(used, " + "));
  return without.empty() ? mode + " (full)" : fmt::format("{}; without {}", mode, fmt::join(without, ", "));
}

Report judge(Facts facts) {
  Report r;
  const bool root = facts.permissions.euid == 0;
  r.kernel = kernel_checks(facts.kernel, root);
  r.permissions = permission_checks(facts.permissions);
  const bool can_run = facts.kernel.btf && (!facts.kernel.load_tried || facts.kernel.load_error.empty());
  for (const auto& n : facts.not_running)
    r.targets.push_back({n.data_dir, Level::Skip, "no server runs from it (" + n.why + "): its binary is not checked",
                         "start it and run doctor again (watch -D waits for it)"});
  if (facts.clusters.empty() && facts.not_running.empty())
    r.targets.push_back({"clusters", Level::Skip, "no PostgreSQL server runs on this machine: none checked",
                         "start one and run doctor again (watch waits for one)"});
  for (const auto& c : facts.clusters) {
    ClusterReport cr;
    cr.facts = c;
    cr.checks = cluster_checks(c, root);
    cr.mode = can_run ? cluster_mode(c, root) : "none: watch cannot run on this kernel";
    r.clusters.push_back(std::move(cr));
  }
  auto worse = [&r](const std::vector<Check>& checks) {
    for (const auto& c : checks) r.worst = std::max(r.worst, c.level);
  };
  worse(r.kernel);
  worse(r.permissions);
  worse(r.targets);
  for (const auto& c : r.clusters) worse(c.checks);
  r.facts = std::move(facts);
  return r;
}

int Report::exit_code() const { return worst <= Level::Note ? 0 : 1; }

std::string Report::verdict() const {
  switch (worst) {
    case Level::Ok:
      return "watch works fully here (exit 0)";
    case Level::Note:
      return "watch works fully here; the notes are optional extras (exit 0)";
    case Level::Skip:
      return "not everything could be checked: see the skip lines (exit 1)";
    case Level::Warn:
      return "watch runs here with less: see the warn lines (exit 1)";
    case Level::Fail:
      return "watch cannot run as things are: fix the FAIL lines (exit 1)";
  }
  return "";
}

}  // namespace pgstall::model::doctor
