// Output formats: the JSON fields the integration tests and users rely on,
// the plain line, durations and syscall names.
#include <gtest/gtest.h>

#include "model/duration.h"
#include "model/syscalls.h"
#include "output/format.h"
#include "output/view.h"

using namespace pgstall;

namespace {
detect::Event lock_event() {
  detect::Event e;
  e.type = detect::Event::Type::Start;
  e.stall.kind = "lock-sleep";
  e.stall.pid = 4242;
  e.stall.since_ns = 5'000'000'000ull;
  e.stall.state = 'S';
  e.stall.syscall = "epoll_wait";
  e.stall.summary = "heavyweight lock wait";
  e.stall.detail = {{"holder_candidates", nlohmann::json::array({{{"pid", 4100}}})}};
  e.duration_s = 312.44;
  return e;
}
model::ProcessTitle title() {
  model::ProcessTitle t;
  t.type = model::BackendType::ClientBackend;
  t.user = "app";
  t.database = "shop";
  t.command = "UPDATE";
  t.waiting = true;
  return t;
}
}  // namespace

TEST(Format, StallJsonHasTheDocumentedFields) {
  output::Clock clock(0);  // monotonic == realtime: 5 s after the epoch
  auto j = output::event_json(lock_event(), title(), clock);
  EXPECT_EQ(j["type"], "stall");
  EXPECT_EQ(j["kind"], "lock-sleep");
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["backend_type"], "client backend");
  EXPECT_EQ(j["state"], "S");
  EXPECT_EQ(j["syscall"], "epoll_wait");
  EXPECT_EQ(j["since"], "1970-01-01T00:00:05.000Z");
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 312.4);
  EXPECT_EQ(j["detail"]["holder_candidates"][0]["pid"], 4100);
}

TEST(Format, StallEndJson) {
  auto e = lock_event();
  e.type = detect::Event::Type::End;
  e.woken_by = 4100;
  e.duration_s = 320.06;
  auto j = output::event_json(e, title(), output::Clock(0));
  EXPECT_EQ(j["type"], "stall_end");
  EXPECT_EQ(j["woken_by"], 4100);
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 320.1);
  e.woken_by = 0;
  EXPECT_TRUE(output::event_json(e, title(), output::Clock(0))["woken_by"].is_null());
}

TEST(Format, PlainLine) {
  auto line = output::event_line(lock_event(), title(), output::Clock(0));
  EXPECT_EQ(line.rfind("STALL lock-sleep 312.4s pid 4242 client backend app@shop UPDATE waiting — heavyweight lock wait", 0),
            0u)
      << line;
  auto e = lock_event();
  e.type = detect::Event::Type::End;
  e.woken_by = 4100;
  e.duration_s = 320.06;
  EXPECT_EQ(output::event_line(e, title(), output::Clock(0)), "END   lock-sleep pid 4242 after 320.1s (woken by pid 4100)");
  e.exited = true;
  EXPECT_EQ(output::event_line(e, title(), output::Clock(0)),
            "END   lock-sleep pid 4242 after 320.1s (woken by pid 4100), then exited");
  EXPECT_EQ(output::event_json(e, title(), output::Clock(0))["exited"], true);
}

TEST(Format, PlainLineShowsTheQueryOnOneLineCut) {
  auto e = lock_event();
  e.stall.detail["query"] = {{"text", "UPDATE   accounts\n\tSET balance = balance + 1\n WHERE id = 7"},
                             {"running_s", 312.4},
                             {"truncated", false}};
  auto line = output::event_line(e, title(), output::Clock(0));
  EXPECT_NE(line.find("; query (312s): UPDATE accounts SET balance = balance + 1 WHERE id = 7"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("…"), std::string::npos) << line;
  // Longer than 80 bytes: cut, marked; a probe-truncated text is marked too.
  e.stall.detail["query"]["text"] = std::string(40, 'x') + "é" + std::string(100, 'y');
  line = output::event_line(e, title(), output::Clock(0));
  auto q = line.substr(line.find("): ") + 3);
  EXPECT_EQ(q, std::string(40, 'x') + "é" + std::string(38, 'y') + "…");
  e.stall.detail["query"] = {{"text", "SELECT 1"}, {"running_s", 2.0}, {"truncated", true}};
  line = output::event_line(e, title(), output::Clock(0));
  EXPECT_NE(line.find("; query (2s): SELECT 1…"), std::string::npos) << line;
}

TEST(View, StallsOnTopAndCutToTheTerminal) {
  output::ViewHeader h;
  h.processes = 2;
  std::vector<output::ViewRow> rows(30);
  for (int i = 0; i < 30; ++i) rows[i].pid = 100 + i;
  auto text = output::render_view(h, {"STALL lock-sleep 6.0s pid 4242 — x"}, rows, 60, 10);
  EXPECT_NE(text.find("STALL lock-sleep"), std::string::npos);
  EXPECT_LT(text.find("STALL"), text.find("PID"));
  EXPECT_EQ(text.find("129"), std::string::npos);  // cut to the height
  // Header, stall, blank, column names: 5 of the 30 rows fit in 9 lines.
  EXPECT_NE(text.find("… 25 more"), std::string::npos) << text;
  // A stall line wider than the terminal wraps, so its end (the blocker)
  // stays on screen. Issue 12 changed how: at spaces (it used to cut
  // mid-word at the width); only a word longer than a line is cut.
  const std::string longline = "STALL lock-sleep 6.0s pid 4242 — " + std::string(70, 'x') + " blocked by pid 4100";
  text = output::render_view(h, {longline}, rows, 60, 20);
  // 60 columns: the 32 columns before the long word; then 6 of indent and
  // the word's first 54; then the indent, its last 16 and the rest.
  EXPECT_NE(text.find("\x1b[1;31mSTALL lock-sleep 6.0s pid 4242 —\x1b[0m\x1b[K\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\x1b[1;31m      " + std::string(54, 'x') + "\x1b[0m\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\x1b[1;31m      " + std::string(16, 'x') + " blocked by pid 4100\x1b"), std::string::npos)
      << text;
  // Everything fits: no ellipsis.
  rows.resize(3);
  text = output::render_view(h, {"STALL lock-sleep 6.0s pid 4242 — x"}, rows, 60, 10);
  // The PID column is as wide as the widest pid (issue 12: room for TITLE).
  EXPECT_NE(text.find(" 102 "), std::string::npos) << text;
  EXPECT_EQ(text.find("…"), std::string::npos) << text;
}

TEST(View, UncountedRatesAndTracingState) {
  output::ViewHeader h;
  h.syscall_tracing = false;
  std::vector<output::ViewRow> rows(2);
  rows[0].pid = 100;
  rows[0].sys_rate = -1;  // not counted
  rows[1].pid = 101;
  rows[1].sys_rate = 1234;
  auto text = output::render_view(h, {}, rows, 200, 20);
  EXPECT_NE(text.find("syscall tracing off"), std::string::npos);
  ASSERT_NE(text.find(" 100 "), std::string::npos) << text;
  auto row0 = text.substr(text.find(" 100 "), text.find('\n', text.find(" 100 ")) - text.find(" 100 "));
  EXPECT_NE(row0.find(" - "), std::string::npos) << row0;
  EXPECT_EQ(row0.find("-1"), std::string::npos) << row0;
  EXPECT_NE(text.find("1234"), std::string::npos);
  h.syscall_tracing = true;
  EXPECT_NE(output::render_view(h, {}, rows, 200, 20).find("syscall tracing on"), std::string::npos);
}

TEST(Duration, Units) {
  EXPECT_DOUBLE_EQ(*model::parse_duration_s("30s"), 30);
  EXPECT_DOUBLE_EQ(*model::parse_duration_s("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*model::parse_duration_s("2m"), 120);
  EXPECT_DOUBLE_EQ(*model::parse_duration_s("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*model::parse_duration_s("1h"), 3600);
  EXPECT_FALSE(model::parse_duration_s(""));
  EXPECT_FALSE(model::parse_duration_s("soon"));
  EXPECT_FALSE(model::parse_duration_s("5 parsecs"));
  EXPECT_FALSE(model::parse_duration_s("-3s"));
}

TEST(Syscalls, NamesNumbersAndClasses) {
  EXPECT_EQ(model::syscall_name(model::syscall_number("pwrite64")), "pwrite64");
  EXPECT_EQ(model::syscall_name(99999), "syscall_99999");
  EXPECT_EQ(model::syscall_number("no_such_call"), -1);
  EXPECT_EQ(model::syscall_class(model::syscall_number("fdatasync")), model::SyscallClass::FileIo);
  EXPECT_EQ(model::syscall_class(model::syscall_number("futex")), model::SyscallClass::Futex);
  EXPECT_EQ(model::syscall_class(model::syscall_number("epoll_wait")), model::SyscallClass::Poll);
  EXPECT_EQ(model::syscall_class(model::syscall_number("sendto")), model::SyscallClass::ClientIo);
  EXPECT_TRUE(model::syscall_arg0_is_fd(model::syscall_number("pread64")));
  EXPECT_FALSE(model::syscall_arg0_is_fd(model::syscall_number("openat")));
#if defined(__x86_64__)
  EXPECT_EQ(model::syscall_number("read"), 0);
  EXPECT_EQ(model::syscall_number("epoll_wait"), 232);
#endif
}

// A stall whose input lost ring records says so, in JSON and in its line;
// a complete one carries no such key.
TEST(Format, InputIncompleteIsSaidAtStartAndEnd) {
  auto e = lock_event();
  auto j = output::event_json(e, title(), output::Clock(0));
  EXPECT_FALSE(j.contains("input_incomplete"));
  EXPECT_EQ(output::event_line(e, title(), output::Clock(0)).find("input incomplete"), std::string::npos);
  e.stall.input_lost = {{"sched_process_fork", 1000}, {"sched_process_exit", 234}};
  j = output::event_json(e, title(), output::Clock(0));
  EXPECT_EQ(j["input_incomplete"], nlohmann::json({"sched_process_exit", "sched_process_fork"}));
  EXPECT_EQ(j["input_lost"]["sched_process_fork"], 1000);
  const auto line = output::event_line(e, title(), output::Clock(0));
  EXPECT_NE(line.find(" (input incomplete: 1,234 ring records lost: sched_process_exit 234, sched_process_fork 1,000)"),
            std::string::npos)
      << line;
  e.type = detect::Event::Type::End;
  e.woken_by = 4100;
  e.duration_s = 320.06;
  e.stall.input_lost = {{"sched_switch", 1}};
  j = output::event_json(e, title(), output::Clock(0));
  EXPECT_EQ(j["input_incomplete"], nlohmann::json({"sched_switch"}));
  EXPECT_EQ(output::event_line(e, title(), output::Clock(0)),
            "END   lock-sleep pid 4242 after 320.1s (woken by pid 4100) (input incomplete: 1 ring record lost: "
            "sched_switch 1)");
}
