// Every event type, built in one place: its JSON fields and its plain line,
// and where the sink sends each.
#include <gtest/gtest.h>

#include <sstream>

#include "output/events.h"
#include "output/rows.h"
#include "output/sink.h"

using namespace pgstall;

TEST(Events, StartSaysWhatIsAttachedAndWarns) {
  output::StartFacts f;
  f.processes = 7;
  f.probes = {{"tp_btf/sched_switch", "off-CPU", true, false, true, true, true, ""},
              {"tp_btf/block_rq_issue", "block requests in flight", false, false, false, false, false, "no such"}};
  f.usdt = {{"lock__wait__start", "/usr/lib/postgresql/15/bin/postgres", 1, true, false, ""}};
  f.syscalls = "auto";
  f.lwlock_probes = "auto";
  f.thresholds = {{"lock_sleep_s", 5.0}};
  f.warnings = output::probe_warnings(f.probes);
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_EQ(f.warnings[0], "probe tp_btf/block_rq_issue not attached (no such): no block requests in flight");
  auto e = output::start_event(f);
  EXPECT_EQ(e.json["type"], "start");
  EXPECT_EQ(e.json["processes"], 7);
  EXPECT_EQ(e.json["probes"][0]["name"], "tp_btf/sched_switch");
  EXPECT_EQ(e.json["usdt"][0]["sites"], 1);
  EXPECT_EQ(e.json["thresholds"]["lock_sleep_s"], 5.0);
  EXPECT_EQ(e.line,
            "pgstall: watching 7 postgres processes (syscall tracing: auto; USDT: 1 probes attached, LWLock probes "
            "on demand)\npgstall: warning: probe tp_btf/block_rq_issue not attached (no such): no block requests in "
            "flight");
  f.usdt.clear();  // no postmaster yet: pgstall waits for one
  EXPECT_NE(output::start_event(f).line.find("USDT: attached to each postmaster when found)"), std::string::npos);
  f.usdt_enabled = false;
  EXPECT_NE(output::start_event(f).line.find("USDT: off)"), std::string::npos);
}

TEST(Events, BackendsAreJsonOnlyPostmastersAreNews) {
  auto b = output::process_event({"backend_start", 42, "client backend", "postgres: app shop [local] idle"});
  EXPECT_EQ(b.json["backend_type"], "client backend");
  EXPECT_FALSE(b.json.contains("unread"));
  EXPECT_TRUE(b.line.empty());
  EXPECT_TRUE(b.view_note.empty());
  // A child gone before it could be read is said, as such.
  auto u = output::process_event({"backend_exit", 43, "unknown", "exited before it could be read", false, true});
  EXPECT_EQ(u.json["unread"], true);
  EXPECT_TRUE(u.line.empty());
  auto p = output::process_event({"postmaster_exit", 40, "postmaster", "exited"});
  EXPECT_EQ(p.json["detail"], "exited");
  EXPECT_EQ(p.line, "pgstall: postmaster_exit pid 40 exited");
  EXPECT_EQ(p.view_note, p.line);
}

TEST(Events, WaitingForAServerSaysForWhichAndWhy) {
  auto d = output::waiting_event({"/var/lib/postgresql/15/main", "no postmaster.pid"});
  EXPECT_EQ(d.json["type"], "waiting");
  EXPECT_EQ(d.json["data_dir"], "/var/lib/postgresql/15/main");
  EXPECT_EQ(d.json["reason"], "no postmaster.pid");
  EXPECT_EQ(d.json["message"], "waiting for PostgreSQL at /var/lib/postgresql/15/main…");
  EXPECT_EQ(d.line, "pgstall: waiting for PostgreSQL at /var/lib/postgresql/15/main… (no postmaster.pid)");
  EXPECT_EQ(d.view_note, "waiting for PostgreSQL at /var/lib/postgresql/15/main… (no postmaster.pid)");
  auto any = output::waiting_event({"", "no postmaster found in /proc"});
  EXPECT_TRUE(any.json["data_dir"].is_null());
  EXPECT_EQ(any.line,
            "pgstall: waiting for a PostgreSQL server to start on this machine… (no postmaster found in /proc)");
}

TEST(Events, CheckpointsDeadlocksAndBlockers) {
  output::Clock clock(0);
  model::CheckpointEvent c;
  c.pid = 77;
  c.started = false;
  auto early = output::checkpoint_event(c, clock);
  EXPECT_TRUE(early.json["flags"].is_null());
  EXPECT_EQ(early.line, "CHECKPOINT done  pid 77 (it began before pgstall started)");
  c.started = true;
  c.times.start_ns = 1'000'000'000;
  EXPECT_EQ(output::checkpoint_event(c, clock).json["at"], "1970-01-01T00:00:01.000Z");

  model::DeadlockEvent d;
  d.pid = 5;
  d.pg_major = 15;
  d.wait.lock_type = 5;  // transactionid
  d.wait.lock_field = {725, 0, 0, 0};
  d.wait.lock_mode = 5;
  auto dl = output::deadlock_event(d, clock);
  EXPECT_EQ(dl.json["lock"]["text"], "transactionid 725 ShareLock");
  EXPECT_EQ(dl.line, "DEADLOCK pid 5 found a deadlock waiting for transactionid 725 ShareLock; other lock waiters: none seen");

  auto bb = output::blocked_by_event({9, {8, 7}, "public.t", {9, 8}});
  EXPECT_EQ(bb.json["source"], "sql");
  EXPECT_EQ(bb.line, "BLOCKED pid 9 by 8, 7 on public.t — chain 9 → 8 (from SQL)");
}

TEST(Events, DropsAndSummaryCountEveryLoss) {
  model::Counter lost{"ring_drops", 12, true};
  auto d = output::drops_event(lost, 2);
  // Issue 12: counters read as words, plurals right.
  EXPECT_EQ(d.line, "pgstall: warning: 12 ring records dropped so far (2 new)");
  output::SummaryFacts f;
  f.stalls = 3;
  f.in_flight = {{4242, "lock-sleep"}};
  f.syscall_tracing_s = 1.24;
  f.counters = {lost, {"syscalls", 0, false}, {"switches", 99, false}};
  auto s = output::summary_event(f);
  EXPECT_EQ(s.json["in_flight"][0]["kind"], "lock-sleep");
  EXPECT_EQ(s.json["counters"]["syscalls"], 0);
  EXPECT_EQ(s.json["syscall_tracing_s"], 1.2);
  // Issue 12: a sentence, plurals right; every loss said, zero counters left out.
  EXPECT_EQ(s.line,
            "pgstall: 3 stalls flagged, 1 still in flight; syscall tracing on for 1.2s; 12 ring records dropped; "
            "seen: 99 context switches");
}

TEST(Events, SummaryReadsAsSentences) {
  output::SummaryFacts f;
  f.stalls = 1;
  f.counters = {{"ring_drops", 0, true}, {"stacks_lost", 0, true}, {"syscalls", 1, false}};
  auto s = output::summary_event(f);
  EXPECT_EQ(s.line,
            "pgstall: 1 stall flagged, none still in flight; syscall tracing on for 0.0s; no events lost; seen: 1 "
            "syscall");
  f.stalls = 0;
  f.in_flight = {{1, "io-wait"}, {2, "io-wait"}};
  f.counters = {{"ring_drops", 1, true}, {"stacks_lost", 3, true}, {"switches", 1, false}, {"syscalls", 0, false}};
  f.bad_records = 2;
  f.lock_graph_errors = 1;
  s = output::summary_event(f);
  EXPECT_EQ(s.line,
            "pgstall: no stalls flagged, 2 still in flight; syscall tracing on for 0.0s; 1 ring record dropped, 3 "
            "stacks lost, 2 malformed ring records skipped, 1 lock table read failed; seen: 1 context switch");
  // The JSON keys stay as they were.
  EXPECT_EQ(s.json["stalls"], 0);
  EXPECT_EQ(s.json["counters"]["stacks_lost"], 3);
  EXPECT_EQ(s.json["counters"]["bad_records"], 2);
  EXPECT_EQ(s.json["lock_graph_errors"], 1);
  EXPECT_EQ(output::loss_phrases(f.counters, 0, 0), (std::vector<std::string>{"1 ring record dropped", "3 stacks lost"}));
  EXPECT_EQ(output::counter_phrase("stacks_lost", 1), "1 stack lost");
  EXPECT_EQ(output::counter_phrase("no_such_counter", 4), "no_such_counter=4");
  EXPECT_EQ(output::counter_phrase("processes_gone_unread", 2), "2 postgres processes gone before they could be read");
}

// A storm of stalls in one tick: those flagged without their stacks are counted and said.
TEST(Events, SummarySaysStallsFlaggedWithoutTheirStacks) {
  output::SummaryFacts f;
  f.stalls = 120;
  f.inspections_skipped = 97;
  auto s = output::summary_event(f);
  EXPECT_EQ(s.json["inspections_skipped"], 97);
  EXPECT_EQ(s.line,
            "pgstall: 120 stalls flagged, none still in flight; syscall tracing on for 0.0s; no events lost; 97 "
            "stalls flagged without their stack (too many began at once)");
  f.inspections_skipped = 1;
  EXPECT_NE(output::summary_event(f).line.find("; 1 stall flagged without its stack"), std::string::npos);
  f.inspections_skipped = 0;
  EXPECT_EQ(output::summary_event(f).line.find("without"), std::string::npos);
  EXPECT_EQ(output::summary_event(f).json["inspections_skipped"], 0);
}

TEST(Events, NoPostmasterStartNoticeForOneAlreadyRunning) {
  model::ProcessEvent found{"postmaster_start", 4100, "postmaster", "/data", true};
  auto e = output::process_event(found);
  EXPECT_EQ(e.line, "");
  EXPECT_EQ(e.view_note, "");
  EXPECT_EQ(e.json["event"], "postmaster_start");
  EXPECT_EQ(e.json["already_running"], true);
  model::ProcessEvent started{"postmaster_start", 4200, "postmaster", "/data", false};
  e = output::process_event(started);
  EXPECT_EQ(e.line, "pgstall: postmaster_start pid 4200 /data");
  EXPECT_EQ(e.view_note, e.line);
  EXPECT_EQ(e.json["already_running"], false);
  // Exits are news whatever happened before.
  e = output::process_event({"postmaster_exit", 4200, "postmaster", "exited"});
  EXPECT_EQ(e.line, "pgstall: postmaster_exit pid 4200 exited");
  EXPECT_FALSE(e.json.contains("already_running"));
}

TEST(Sink, EachModeShowsWhatItShould) {
  output::Out e{{{"type", "notice"}, {"message", "m"}}, "pgstall: m", "m"};
  output::Out json_only{{{"type", "process"}}, "", ""};
  for (auto mode : {output::Mode::Json, output::Mode::Plain, output::Mode::Live}) {
    std::ostringstream out;
    std::vector<nlohmann::json> recorded;
    output::Sink sink(mode, out);
    sink.record_to([&](const nlohmann::json& j) { recorded.push_back(j); });
    sink.emit(e);
    sink.emit(json_only);
    EXPECT_EQ(recorded.size(), 2u);  // every event is recorded, whatever is shown
    if (mode == output::Mode::Json) EXPECT_EQ(out.str(), e.json.dump() + "\n" + json_only.json.dump() + "\n");
    if (mode == output::Mode::Plain) EXPECT_EQ(out.str(), "pgstall: m\n");
    if (mode == output::Mode::Live) {
      EXPECT_EQ(out.str(), "");
      EXPECT_EQ(sink.recent_notes(5), std::vector<std::string>{"m"});
    }
  }
}

TEST(Rows, StalledFirstWithRatesOverWholeSeconds) {
  constexpr uint64_t kSec = 1'000'000'000ull, kT0 = 1000 * kSec;
  model::Snapshot a, b;
  a.pid = 1;
  a.on_cpu = true;
  b.pid = 2;
  b.in_syscall = true;
  b.sc_nr = 232;  // epoll_wait on x86-64
  b.sc_start_ns = kT0 - 3 * kSec;
  output::Rates rates;
  rates.update(kT0, {a, b});
  a.cpu_ns = kSec / 2;
  a.nr_syscalls = 100;
  a.syscalls_counted_since_ns = kT0 - kSec;
  rates.update(kT0 + kSec / 2, {a, b});  // not a whole second yet
  EXPECT_FALSE(rates.of(1));
  rates.update(kT0 + kSec, {a, b});
  ASSERT_FALSE(rates.of(1));  // the first second only sets the baseline (counts were 0)
  a.cpu_ns = kSec;
  a.nr_syscalls = 300;
  rates.update(kT0 + 2 * kSec, {a, b});
  ASSERT_TRUE(rates.of(1));
  EXPECT_DOUBLE_EQ(rates.of(1)->first, 200);
  EXPECT_DOUBLE_EQ(rates.of(1)->second, 50);
  model::Process p2;
  p2.pid = 2;
  p2.title.raw = "postgres: checkpointer";
  auto rows = output::view_rows(kT0, {a, b}, [&](int pid) { return pid == 2 ? &p2 : nullptr; }, rates, {2});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].pid, 2);
  EXPECT_TRUE(rows[0].stalled);
  EXPECT_EQ(rows[0].in, "epoll_wait");
  EXPECT_DOUBLE_EQ(rows[0].for_s, 3.0);
  EXPECT_EQ(rows[0].title, "postgres: checkpointer");
  EXPECT_EQ(rows[1].in, "on CPU");
}

// Ring drops per probe: the drops event names them (JSON and line), the
// live view's notice says what they cost, the summary has them by probe and
// their sum is the ring_drops counter.
TEST(Events, RingDropsAreNamedByProbe) {
  model::RingDrops ring{{{"sched_switch", 0}, {"sched_process_fork", 1000}, {"sched_process_exit", 234}}};
  model::Counter lost{"ring_drops", ring.total(), true};
  auto d = output::drops_event(lost, 34, &ring);
  EXPECT_EQ(d.json["by_probe"], nlohmann::json({{"sched_process_fork", 1000}, {"sched_process_exit", 234}}));
  EXPECT_EQ(d.json["total"], 1234);
  EXPECT_EQ(d.json["new"], 34);
  EXPECT_EQ(d.line, "pgstall: warning: 1234 ring records dropped so far (34 new): sched_process_fork 1,000, "
                    "sched_process_exit 234");
  EXPECT_EQ(d.view_note, "");  // the view's header has the notice
  EXPECT_EQ(output::ring_drops_notice(ring),
            "ring full: 1,234 records lost (sched_process_fork 1,000, sched_process_exit 234) — processes seen late "
            "(at the next /proc scan), their stalls flagged late; a larger --ring-size or a shorter --interval "
            "keeps them");
  ring.by_probe[0].second = 1;
  EXPECT_NE(output::ring_drops_notice(ring).find("— stall ends without the pid that woke them; processes seen late"), std::string::npos);
  EXPECT_EQ(output::ring_drops_notice(model::RingDrops{{{"sched_switch", 0}}}), "");

  output::SummaryFacts f;
  f.counters = {{"ring_drops", ring.total(), true}};
  f.ring_drops = ring;
  auto s = output::summary_event(f);
  EXPECT_EQ(s.json["counters"]["ring_drops"], 1235);
  EXPECT_EQ(s.json["ring_drops_by_probe"],
            nlohmann::json({{"sched_switch", 1}, {"sched_process_fork", 1000}, {"sched_process_exit", 234}}));
  EXPECT_NE(s.line.find("; ring records lost by probe: sched_process_fork 1,000, sched_process_exit 234, "
                        "sched_switch 1"),
            std::string::npos)
      << s.line;
  f.ring_drops = {};
  EXPECT_EQ(output::summary_event(f).json["ring_drops_by_probe"], nlohmann::json::object());
}
