#pragma once
// pgstall doctor, the judging half: what the kernel, the permissions and
// each running cluster were found to offer (gathered by capture/doctor, by
// loading and attaching the way watch does), judged into one check per
// piece — each missing piece with its fix — and, per cluster, the mode
// watch will run in. Plain data in, verdicts out: no I/O, no root.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/probes.h"

namespace pgstall::model::doctor {

// Ok: works. Note: an optional extra is missing (watch works fully without
// it: debug symbols). Skip: not checked (needs root). Warn: watch runs with
// less. Fail: watch cannot run.
enum class Level { Ok, Note, Skip, Warn, Fail };
const char* level_name(Level l);  // "ok", "note", "skip", "warn", "FAIL"

struct Check {
  std::string name;    // "BTF", "tracepoints", "USDT", ...
  Level level = Level::Ok;
  std::string detail;  // one sentence, no trailing period
  std::string fix;     // what to do; empty when nothing is to be done
};

// Something tried once the BPF object was loaded (root only).
struct Feature {
  std::string name;                // "task storage"
  std::optional<bool> works;       // nullopt: not tried
  std::string why;                 // why not, when it does not
  bool required = false;           // watch cannot run without it
  std::string without;             // what is lost without it
  std::string fix;
};

struct KernelFacts {
  std::string release, machine;  // uname -r, -m
  bool btf = false;              // /sys/kernel/btf/vmlinux reads as BTF
  std::string btf_error;
  std::vector<std::string> tracepoints;          // those pgstall's programs use
  std::vector<std::string> tracepoints_missing;  // of those, absent from the kernel's BTF
  bool load_tried = false;  // the BPF object loaded the way watch loads it (root only)
  std::string load_error;   // empty: loaded
  std::vector<Probe> probes;              // after the self-test: loaded, attached, fired
  std::vector<std::string> degradations;  // Tracer::degradations()
  std::vector<Feature> features;          // task storage, ring buffer, task iterator, sampling
};

struct PermissionFacts {
  unsigned euid = 0;
  bool cap_bpf = false, cap_perfmon = false, cap_sys_admin = false, cap_sys_ptrace = false;
  std::optional<int> perf_event_paranoid, unprivileged_bpf_disabled, ptrace_scope;
  std::string lockdown;                  // active mode: none, integrity, confidentiality; "" unknown
  std::optional<uint64_t> memlock_bytes;  // nullopt: unlimited
};

struct ClusterFacts {
  int pid = 0;           // the postmaster
  std::string data_dir;  // "" unknown
  int pg_major = 0;      // 0 unknown
  std::string binary;    // its executable
  std::string binary_error;  // why the executable could not be read ("" read)
  bool from_cmdline = false;  // binary and data dir read from its command line (/proc/PID/exe unreadable)
  // USDT (provider "postgresql", .note.stapsdt)
  int usdt_probes = 0, usdt_sites = 0;
  bool usdt_attach_tried = false;
  std::vector<UsdtProbe> usdt;  // as Tracer::attach_usdt left them for this binary
  std::string usdt_error;       // attach_usdt's failure
  // Symbols
  bool has_symbols = false, has_symtab = false;
  std::string build_id, debug_file;  // debug_file: the build-id debug file found ("" none)
  // Wait events: my_wait_event_info (and event names for the version)
  std::string wait_event_unsupported;  // unsupported_reason(); "" supported
  bool wait_event_names = false;       // names known for pg_major
  int probe_pid = 0;                   // the child read for the live checks (checkpointer...)
  std::string probe_type;
  bool wait_event_tried = false;
  std::string wait_event_read;   // "Activity:CheckpointerMain", "not waiting"
  std::string wait_event_error;  // the read's failure ("" read)
  // Lock holders from shared memory: a PGPROC layout for pg_major, checked
  // on probe_pid's own PGPROC.
  bool lock_layout = false;
  bool pgproc_tried = false;
  std::string pgproc_error;
};

// A --data-dir given whose server does not run now.
struct NotRunning {
  std::string data_dir, why;
};

struct Facts {
  std::string version;  // pgstall's
  KernelFacts kernel;
  PermissionFacts permissions;
  std::vector<ClusterFacts> clusters;
  bool targeted = false;  // -p or -D given
  std::vector<NotRunning> not_running;
};

struct ClusterReport {
  ClusterFacts facts;
  std::vector<Check> checks;
  std::string mode;  // "tracepoints + USDT + wait events + lock holders (full)"
};

struct Report {
  Facts facts;
  std::vector<Check> kernel, permissions, targets;
  std::vector<ClusterReport> clusters;
  Level worst = Level::Ok;
  // 0: watch works fully (only ok and notes); 1: something is missing,
  // degraded or could not be checked.
  int exit_code() const;
  std::string verdict() const;  // one line
};

Report judge(Facts facts);

// Pieces of judge(), for tests.
std::vector<Check> kernel_checks(const KernelFacts& k, bool root);
std::vector<Check> permission_checks(const PermissionFacts& p);
std::vector<Check> cluster_checks(const ClusterFacts& c, bool root);
std::string cluster_mode(const ClusterFacts& c, bool root);
// The fix for missing debug symbols of a server binary: the distribution's
// package when its path names one ("…/postgresql/15/bin/postgres").
std::string debug_symbols_fix(const ClusterFacts& c);

}  // namespace pgstall::model::doctor
