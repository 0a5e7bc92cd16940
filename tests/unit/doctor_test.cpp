// pgstall doctor's verdicts: which facts make which check, which fix, which
// mode and which exit code; and that the text fits one 80x24 screen.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "model/doctor.h"
#include "output/doctor.h"
#include "output/view.h"

using namespace pgstall;
using namespace pgstall::model::doctor;

namespace {

model::Probe probe(const std::string& name, bool required = false) {
  model::Probe p;
  p.name = name;
  p.purpose = "something";
  p.required = required;
  p.loaded = p.attached = p.fired = true;
  return p;
}

Feature works(const std::string& name) {
  Feature f;
  f.name = name;
  f.works = true;
  return f;
}

// What this machine gives as root: a 6.x kernel, Debian's PostgreSQL 15.
Facts good_facts() {
  Facts f;
  f.version = "0.1.0";
  f.kernel.release = "6.18.0";
  f.kernel.machine = "x86_64";
  f.kernel.btf = true;
  f.kernel.tracepoints = {"sched_switch", "sched_process_fork", "sys_enter", "block_rq_issue"};
  f.kernel.load_tried = true;
  f.kernel.probes = {probe("tp_btf/sched_switch", true), probe("tp_btf/sched_process_fork", true),
                     probe("tp_btf/sys_enter"), probe("tp_btf/block_rq_issue")};
  f.kernel.probes[2].on_demand = true;
  f.kernel.probes[2].attached = false;  // detached again after the self-test
  f.kernel.features = {works("task storage"), works("ring buffer"), works("task iterator"),
                       works("cpu-clock sampling")};
  f.permissions.euid = 0;
  f.permissions.cap_bpf = f.permissions.cap_perfmon = f.permissions.cap_sys_admin = f.permissions.cap_sys_ptrace =
      true;
  f.permissions.lockdown = "none";
  f.permissions.ptrace_scope = 0;
  f.permissions.perf_event_paranoid = 2;
  f.permissions.unprivileged_bpf_disabled = 2;
  ClusterFacts c;
  c.pid = 4100;
  c.data_dir = "/var/lib/postgresql/15/main";
  c.pg_major = 15;
  c.binary = "/usr/lib/postgresql/15/bin/postgres";
  c.usdt_probes = 53;
  c.usdt_sites = 190;
  c.usdt_attach_tried = true;
  for (const char* n : {"lock__wait__start", "lock__wait__done", "lwlock__wait__start", "deadlock__found"}) {
    model::UsdtProbe u;
    u.name = n;
    u.binary = c.binary;
    u.sites = 1;
    u.on_demand = std::string(n).starts_with("lwlock");
    u.attached = !u.on_demand;
    c.usdt.push_back(u);
  }
  c.has_symbols = true;  // .dynsym only, like Debian's
  c.build_id = "abcdef0123";
  c.wait_event_names = true;
  c.probe_pid = 4102;
  c.probe_type = "checkpointer";
  c.wait_event_tried = true;
  c.wait_event_read = "Activity:CheckpointerMain";
  c.lock_layout = true;
  c.pgproc_tried = true;
  f.clusters.push_back(c);
  return f;
}

const Check* find(const std::vector<Check>& checks, const std::string& name) {
  auto it = std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.name == name; });
  return it == checks.end() ? nullptr : &*it;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

size_t columns(const std::string& s) { return static_cast<size_t>(pgstall::output::display_width(s)); }

}  // namespace

TEST(Doctor, EverythingThereIsExitZeroAndFullMode) {
  const auto r = judge(good_facts());
  EXPECT_EQ(r.worst, Level::Note);  // Debian's binary has .dynsym only: a note, not a loss
  EXPECT_EQ(r.exit_code(), 0);
  ASSERT_EQ(r.clusters.size(), 1u);
  EXPECT_EQ(r.clusters[0].mode, "tracepoints + USDT + wait events + lock holders (full)");
  const Check* usdt = find(r.clusters[0].checks, "USDT");
  ASSERT_TRUE(usdt);
  EXPECT_EQ(usdt->level, Level::Ok);
  EXPECT_EQ(usdt->detail, "53 probes in the binary; 3 attach, 1 LWLock ones on demand");
  const Check* tp = find(r.kernel, "tracepoints");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->level, Level::Ok);
  EXPECT_EQ(tp->detail, "4 of 4 load, attach and fire (tp_btf)");
  const Check* sym = find(r.clusters[0].checks, "symbols");
  ASSERT_TRUE(sym);
  EXPECT_EQ(sym->level, Level::Note);
  EXPECT_EQ(sym->fix, "install postgresql-15-dbgsym (from debian-debug or apt.postgresql.org)");
  EXPECT_EQ(r.verdict(), "watch works fully here; the notes are optional extras (exit 0)");
}

TEST(Doctor, DebugInfoOrSymtabLeavesNothingToSay) {
  auto f = good_facts();
  f.clusters[0].debug_file = "/usr/lib/debug/.build-id/ab/cdef0123.debug";
  auto r = judge(f);
  EXPECT_EQ(r.worst, Level::Ok);
  EXPECT_EQ(r.verdict(), "watch works fully here (exit 0)");
  f.clusters[0].debug_file.clear();
  f.clusters[0].has_symtab = true;
  EXPECT_EQ(judge(f).worst, Level::Ok);
}

TEST(Doctor, NotRootFailsWithItsFixAndSkipsWhatNeedsRoot) {
  auto f = good_facts();
  f.permissions.euid = 65534;
  f.permissions.cap_bpf = f.permissions.cap_perfmon = f.permissions.cap_sys_admin = f.permissions.cap_sys_ptrace =
      false;
  f.kernel.load_tried = false;
  f.kernel.probes.clear();
  for (auto& feat : f.kernel.features) feat.works.reset();
  auto& c = f.clusters[0];
  c.usdt_attach_tried = false;
  c.usdt.clear();
  c.wait_event_error = "pid 4102: not permitted to read /proc/4102/exe (run as root; ...)";
  c.wait_event_read.clear();
  c.pgproc_tried = false;
  const auto r = judge(f);
  EXPECT_EQ(r.worst, Level::Fail);
  EXPECT_EQ(r.exit_code(), 1);
  const Check* root = find(r.permissions, "root");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->level, Level::Fail);
  EXPECT_EQ(root->detail, "uid 65534: watch needs root (BPF, other users' /proc and memory)");
  EXPECT_EQ(root->fix, "run as root: sudo pgstall doctor");
  EXPECT_EQ(find(r.kernel, "tracepoints")->level, Level::Skip);
  EXPECT_EQ(find(r.clusters[0].checks, "USDT")->level, Level::Skip);
  EXPECT_EQ(find(r.clusters[0].checks, "wait events")->level, Level::Skip);
  EXPECT_EQ(find(r.clusters[0].checks, "lock holders")->level, Level::Skip);
  // What it would be as root, from what the binary says.
  EXPECT_EQ(r.clusters[0].mode, "as root: tracepoints + USDT + wait events + lock holders (full)");
  // The same fix, said once.
  const std::string text = output::doctor_text(r);
  size_t said = 0;
  for (size_t at = text.find("fix: run as root"); at != std::string::npos; at = text.find("fix: run as root", at + 1))
    ++said;
  EXPECT_EQ(said, 1u) << text;
  EXPECT_NE(text.find("verdict: watch cannot run as things are: fix the FAIL lines (exit 1)"), std::string::npos);
}

TEST(Doctor, RootWithoutBpfCapabilitiesIsAContainerFailure) {
  auto f = good_facts();
  f.permissions.cap_bpf = f.permissions.cap_perfmon = f.permissions.cap_sys_admin = false;
  auto r = judge(f);
  const Check* root = find(r.permissions, "root");
  EXPECT_EQ(root->level, Level::Fail);
  EXPECT_EQ(root->fix, "grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE, or run it on the host");
  f.permissions.cap_sys_admin = true;  // CAP_SYS_ADMIN covers BPF and perf (before 5.8 the only way)
  EXPECT_EQ(find(judge(f).permissions, "root")->level, Level::Ok);
  f.permissions.cap_sys_ptrace = false;
  r = judge(f);
  EXPECT_EQ(find(r.permissions, "root")->level, Level::Warn);
  EXPECT_EQ(find(r.permissions, "root")->fix, "grant CAP_SYS_PTRACE");
}

TEST(Doctor, KernelSettingsThatTakeSomethingAway) {
  auto f = good_facts();
  f.permissions.ptrace_scope = 3;
  f.permissions.lockdown = "confidentiality";
  const auto r = judge(f);
  EXPECT_EQ(find(r.permissions, "ptrace_scope")->level, Level::Warn);
  EXPECT_EQ(find(r.permissions, "lockdown")->fix, "boot with lockdown=integrity or none");
  EXPECT_EQ(r.exit_code(), 1);
}

TEST(Doctor, NoBtfCannotRun) {
  auto f = good_facts();
  f.kernel.btf = false;
  f.kernel.load_tried = false;
  f.kernel.probes.clear();
  const auto r = judge(f);
  EXPECT_EQ(find(r.kernel, "BTF")->level, Level::Fail);
  EXPECT_EQ(find(r.kernel, "BTF")->fix,
            "a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's, Ubuntu's, RHEL 8.2+'s are)");
  EXPECT_EQ(r.clusters[0].mode, "none: watch cannot run on this kernel");
}

TEST(Doctor, ProbesThatFailOrStaySilent) {
  auto f = good_facts();
  f.kernel.probes[0].attached = f.kernel.probes[0].fired = false;  // required
  f.kernel.probes[0].error = "attach failed: Operation not permitted";
  f.kernel.probes[3].fired = false;  // block: attached, no disk I/O during the check
  auto r = judge(f);
  const Check* tp = find(r.kernel, "tracepoints");
  EXPECT_EQ(tp->level, Level::Warn);
  EXPECT_EQ(tp->detail, "3 of 4 load, attach and fire (tp_btf); block: attached, no disk I/O seen");
  const Check* sw = find(r.kernel, "sched_switch");
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->level, Level::Fail);
  EXPECT_EQ(sw->detail, "attach failed: Operation not permitted: no something");
  // A probe that attached but never fired: said so, not counted as working.
  f = good_facts();
  f.kernel.probes[1].fired = false;
  r = judge(f);
  EXPECT_EQ(find(r.kernel, "sched_process_fork")->detail,
            "attached but did not fire in the self-test: something may be missing");
  // A tracepoint the kernel lacks.
  f = good_facts();
  f.kernel.probes[2].loaded = f.kernel.probes[2].fired = false;
  f.kernel.probes[2].error = "this kernel has no such tracepoint";
  r = judge(f);
  EXPECT_EQ(find(r.kernel, "sys_enter")->level, Level::Warn);
  EXPECT_EQ(find(r.kernel, "sys_enter")->fix, "a kernel with this tracepoint (docs/KERNEL.md says which kernel has it)");
}

TEST(Doctor, DegradationsAndMissingFeaturesAreWarnings) {
  auto f = good_facts();
  f.kernel.degradations = {"no bpf_task_pt_regs (kernel < 5.15): ..."};
  f.kernel.features[2].works = false;
  f.kernel.features[2].why = "this kernel's task iterator cannot be limited to one thread (6.1+)";
  f.kernel.features[2].without = "a stall begun before pgstall has no user stack";
  const auto r = judge(f);
  EXPECT_EQ(find(r.kernel, "degraded")->level, Level::Warn);
  const Check* it = find(r.kernel, "task iterator");
  ASSERT_TRUE(it);
  EXPECT_EQ(it->level, Level::Warn);
  EXPECT_EQ(it->detail,
            "this kernel's task iterator cannot be limited to one thread (6.1+): a stall begun before pgstall has no "
            "user stack");
  EXPECT_EQ(find(r.kernel, "BPF")->detail, "task storage, ring buffer, cpu-clock sampling");
}

TEST(Doctor, BinaryWithoutUsdt) {
  auto f = good_facts();
  f.clusters[0].usdt_probes = f.clusters[0].usdt_sites = 0;
  f.clusters[0].usdt.clear();
  f.clusters[0].usdt_error = "/usr/local/pgsql/bin/postgres has no USDT probes";
  const auto r = judge(f);
  const Check* usdt = find(r.clusters[0].checks, "USDT");
  EXPECT_EQ(usdt->level, Level::Warn);
  EXPECT_EQ(usdt->fix, "a PostgreSQL built with --enable-dtrace (Debian's and PGDG's packages are)");
  EXPECT_EQ(r.clusters[0].mode, "tracepoints + wait events + lock holders; without USDT");
  EXPECT_EQ(r.exit_code(), 1);
}

TEST(Doctor, VersionsWithLess) {
  auto f = good_facts();
  auto& c = f.clusters[0];
  c.pg_major = 13;
  c.binary = "/usr/lib/postgresql/13/bin/postgres";
  c.wait_event_unsupported = "unsupported: PostgreSQL 13 has no my_wait_event_info (...)";
  c.lock_layout = false;
  auto r = judge(f);
  EXPECT_EQ(find(r.clusters[0].checks, "wait events")->fix, "PostgreSQL 14 or later");
  EXPECT_EQ(find(r.clusters[0].checks, "lock holders"), nullptr);  // said by the wait events line
  EXPECT_EQ(r.clusters[0].mode, "tracepoints + USDT; without wait events, lock holders");
  // 16: wait events, but no PGPROC layout measured.
  f = good_facts();
  f.clusters[0].pg_major = 16;
  f.clusters[0].lock_layout = false;
  f.clusters[0].pgproc_tried = false;
  r = judge(f);
  const Check* lh = find(r.clusters[0].checks, "lock holders");
  EXPECT_EQ(lh->level, Level::Warn);
  EXPECT_EQ(lh->fix, "watch --dsn '...' adds pg_blocking_pids() while SQL still answers");
  EXPECT_EQ(r.clusters[0].mode, "tracepoints + USDT + wait events; without lock holders");
  // 18: no names for its events yet.
  f.clusters[0].pg_major = 18;
  f.clusters[0].wait_event_names = false;
  EXPECT_EQ(find(judge(f).clusters[0].checks, "wait events")->fix, "a pgstall that knows PostgreSQL 18");
}

TEST(Doctor, PgprocThatDoesNotFitIsAWarning) {
  auto f = good_facts();
  f.clusters[0].pgproc_error = "pid 4102: the PGPROC at 0x7f00 says pid 0: not its PGPROC";
  const auto r = judge(f);
  EXPECT_EQ(find(r.clusters[0].checks, "lock holders")->level, Level::Warn);
  EXPECT_EQ(r.clusters[0].mode, "tracepoints + USDT + wait events; without lock holders");
}

TEST(Doctor, DebugSymbolFixByPackaging) {
  ClusterFacts c;
  c.pg_major = 16;
  c.binary = "/usr/pgsql-16/bin/postgres";
  EXPECT_EQ(debug_symbols_fix(c), "install postgresql16-server-debuginfo");
  c.binary = "/opt/pg/bin/postgres";
  c.build_id = "0a1b2c";
  EXPECT_EQ(debug_symbols_fix(c), "put its debug info at /usr/lib/debug/.build-id/0a/1b2c.debug");
  c.build_id.clear();
  EXPECT_EQ(debug_symbols_fix(c), "install the debug info of this postgres binary");
}

TEST(Doctor, NothingToCheckIsNotAClean) {
  auto f = good_facts();
  f.clusters.clear();
  auto r = judge(f);
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_EQ(r.targets.at(0).detail, "no PostgreSQL server runs on this machine: none checked");
  f.targeted = true;
  f.not_running = {{"/srv/pg", "no postmaster.pid"}};
  r = judge(f);
  EXPECT_EQ(r.targets.at(0).name, "/srv/pg");
  EXPECT_EQ(r.targets.at(0).detail, "no server runs from it (no postmaster.pid): its binary is not checked");
}

TEST(Doctor, OneClusterFitsOneScreen) {
  for (bool root : {true, false}) {
    auto f = good_facts();
    if (!root) {
      f.permissions.euid = 1000;
      f.kernel.load_tried = false;
      for (auto& feat : f.kernel.features) feat.works.reset();
      f.clusters[0].usdt_attach_tried = false;
      f.clusters[0].wait_event_error = "pid 4102: not permitted to read /proc/4102/exe (run as root)";
      f.clusters[0].pgproc_tried = false;
    }
    const auto text = output::doctor_text(judge(f));
    const auto ls = lines(text);
    EXPECT_LE(ls.size(), 24u) << text;
    for (const auto& l : ls) EXPECT_LE(columns(l), 80u) << l;
  }
}

TEST(Doctor, LongDetailsWrapUnderTheirCheck) {
  auto f = good_facts();
  f.clusters[0].data_dir = "/srv/postgresql/a/rather/long/path/to/the/data/directory/of/this/main";
  f.kernel.degradations = {
      "no bpf_task_pt_regs (kernel < 5.15): the syscall a sleeping thread is in is unknown while the syscall "
      "tracepoints are detached, and a stall that began before pgstall has no user stack"};
  const auto ls = lines(output::doctor_text(judge(f)));
  bool wrapped = false;
  for (size_t i = 0; i < ls.size(); ++i) {
    EXPECT_LE(columns(ls[i]), 80u) << ls[i];
    if (ls[i].starts_with("warn degraded:")) wrapped = ls.at(i + 1).starts_with("     ") && ls[i + 1][5] != ' ';
  }
  EXPECT_TRUE(wrapped);
}

TEST(Doctor, JsonSaysLevelsModeAndExitCode) {
  auto f = good_facts();
  f.clusters[0].usdt_probes = 0;
  const auto j = output::doctor_json(judge(f));
  EXPECT_EQ(j["type"], "doctor");
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["worst"], "warn");
  EXPECT_EQ(j["clusters"][0]["pid"], 4100);
  EXPECT_EQ(j["clusters"][0]["pg_major"], 15);
  EXPECT_EQ(j["clusters"][0]["mode"], "tracepoints + wait events + lock holders; without USDT");
  bool usdt_warn = false;
  for (const auto& c : j["clusters"][0]["checks"]) usdt_warn |= c["name"] == "USDT" && c["level"] == "warn";
  EXPECT_TRUE(usdt_warn);
  EXPECT_TRUE(j["checks"]["permissions"][0]["fix"].is_null());
}
