// The live view on a real terminal: `pgstall watch` runs under a pty (80x24,
// then resized to 120x40) against the test cluster while a real row-lock
// wait is in place; what it writes is played into a tiny terminal
// (tests/common/vt.h) and the screen is checked as an operator would see it:
// the stalled waiter flagged, its holder highlighted, the columns of the
// priority rule, nothing wider than the terminal, no scrolling, no full clear
// but after the resize — and the shell's screen and cursor given back on
// every way out.
#include <pty.h>
#include <sys/ioctl.h>

#include <regex>

#include "../common/vt.h"
#include "harness.h"
#include "output/view.h"

using namespace pgstall::itest;
using namespace std::chrono_literals;
namespace vt = pgstall::vt;

namespace {

const std::vector<std::string> kHeaders = {"PID", "TYPE", "S", "IN", "FOR", "WAIT EVENT", "SYSC/s", "CPU%", "TITLE"};

// pgstall on the slave side of a pty of the given size; everything it
// writes is kept (raw) and played into `screen`.
class PtyWatch {
 public:
  PtyWatch(const std::vector<std::string>& args, int cols, int rows) : screen(cols, rows) {
    winsize ws{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
    pid_ = forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      setenv("TERM", "xterm", 1);
      std::vector<std::string> all = {pgstall_binary()};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (master_ >= 0) fcntl(master_, F_SETFL, O_NONBLOCK);
  }
  ~PtyWatch() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0 && master_ >= 0; }

  // Reads and plays what arrives until pred(screen) holds or the timeout.
  bool wait_for(const std::function<bool(const vt::Screen&)>& pred, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!pred(screen)) {
      if (Clock::now() >= deadline || !read_some(deadline)) return pred(screen);
    }
    return true;
  }

  // The window changes size, as a terminal emulator would change it: the
  // kernel sends SIGWINCH to pgstall.
  void resize(int cols, int rows) {
    read_some(Clock::now() + 50ms);
    winsize ws{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
    ioctl(master_, TIOCSWINSZ, &ws);
    screen.resize(cols, rows);
  }

  void signal(int sig) { kill(pid_, sig); }

  // Waits for it to exit (reading all it writes); its status, -1 if it did not.
  int wait_exit(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some(Clock::now() + 200ms)) {
        }
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      read_some(std::min(deadline, Clock::now() + 100ms));
    }
    return -1;
  }

  vt::Screen screen;
  std::string raw;

 private:
  // false at the end of output (EIO once the slave side is closed) or the deadline.
  bool read_some(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || master_ < 0) return false;
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 100))) <= 0) return true;
    char buf[65536];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
    raw.append(buf, n);
    screen.feed(std::string(buf, n));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
};

// The column names on the header line of the table, in screen order.
std::vector<std::string> headers_on(const vt::Screen& s) {
  for (const auto& l : s.lines()) {
    if (l.find(" PID ") == std::string::npos || l.find("WAIT EVENT") == std::string::npos) continue;
    std::vector<std::string> out;
    for (const auto& h : kHeaders)
      if (l.find(h == "S" ? " S " : h) != std::string::npos) out.push_back(h);
    return out;
  }
  return {};
}

// The table row of a pid (not a stall line), or -1.
int row_of(const vt::Screen& s, int pid) {
  const std::string key = " " + std::to_string(pid) + " ";
  for (int r = 0; r < s.rows(); ++r) {
    const std::string l = s.line(r);
    if (l.find(key) != std::string::npos && !l.starts_with("STALL") && !l.starts_with("      ")) return r;
  }
  return -1;
}

// The stall line of a pid, its continuation lines joined; "" when not on screen.
std::string stall_block(const vt::Screen& s, const std::string& kind, int pid, std::vector<std::string>* lines = nullptr) {
  std::string block;
  const std::string head = "STALL " + kind + " ";
  const std::string who = " pid " + std::to_string(pid) + " ";
  for (const auto& l : s.lines()) {
    if (!block.empty() && l.starts_with("      ") && !l.starts_with("STALL")) {
      block += " " + l;
      if (lines) lines->push_back(l);
      continue;
    }
    if (!block.empty()) break;
    if (l.starts_with(head) && l.find(who) != std::string::npos) {
      block = l;
      if (lines) lines->push_back(l);
    }
  }
  return block;
}

// Its words with every number as '#': the same stall at two moments and widths.
std::vector<std::string> shape(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(std::regex_replace(s, std::regex("[0-9][0-9.:,]*"), "#"));
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool has_frame(const vt::Screen& s) { return s.alternate && !headers_on(s).empty(); }

// The screen as a whole, for failure messages.
std::string dump(const PtyWatch& w) {
  std::string u;
  for (const auto& x : w.screen.unknown) u += " [" + x + "]";
  return w.screen.text() + (u.empty() ? "" : "\nunknown sequences:" + u);
}

// Everything a view must keep to on any screen.
void expect_clean_screen(const vt::Screen& s, const std::string& where) {
  EXPECT_EQ(s.alt_autowraps, 0) << where << ": a line wider than the terminal";
  EXPECT_EQ(s.alt_scrolls, 0) << where << ": the screen scrolled";
  EXPECT_TRUE(s.unknown.empty()) << where << ": " << s.unknown.front();
  EXPECT_TRUE(s.alternate) << where;
  EXPECT_FALSE(s.cursor_visible) << where;
}

class ViewTest : public ClusterTest {};

}  // namespace

TEST_F(ViewTest, LiveViewOnAPtyAt80And120Columns) {
  PtyWatch w({"watch", "--data-dir", env_["PGSTALL_PGDATA"], "--lock-sleep", "2s"}, 80, 24);
  ASSERT_TRUE(w.started());
  ASSERT_TRUE(w.wait_for(has_frame, 30s)) << "no frame on the alternate screen\n" << dump(w);
  EXPECT_EQ(w.screen.alt_entries, 1);

  Scenario s("rowlock");
  ASSERT_TRUE(s.ok());
  const int waiter = s.pid("WAITER_PID"), holder = s.pid("HOLDER_PID");
  ASSERT_GT(waiter, 0);
  ASSERT_GT(holder, 0);
  // The scenario really is in place: the waiter waits on the holder's row lock.
  EXPECT_EQ(psql("SELECT wait_event_type || ':' || wait_event FROM pg_stat_activity WHERE pid = " +
                 std::to_string(waiter)),
            "Lock:transactionid");
  EXPECT_EQ(psql("SELECT pg_blocking_pids(" + std::to_string(waiter) + ")::text"), "{" + std::to_string(holder) + "}");

  // 80x24: the stall flagged, on top, with the waiter's row flagged under its holder.
  auto flagged = [&](const vt::Screen& sc) {
    const int r = row_of(sc, waiter);
    return !stall_block(sc, "lock-sleep", waiter).empty() && r >= 0 && sc.line(r)[0] == '!' &&
           row_of(sc, holder) >= 0 && sc.line(row_of(sc, holder)).find("●") != std::string::npos;
  };
  ASSERT_TRUE(w.wait_for(flagged, 20s)) << "the waiter " << waiter << " is not flagged under its holder " << holder
                                        << "\n" << dump(w);
  const vt::Screen at80 = w.screen;
  std::cout << "at 80x24:\n" << at80.text();
  SCOPED_TRACE("at 80x24:\n" + at80.text());
  expect_clean_screen(at80, "80x24");
  EXPECT_EQ(at80.alt_full_clears, 0) << "frames overwrite each other";
  EXPECT_EQ(headers_on(at80), kHeaders) << "at 80 columns every column is there";
  EXPECT_EQ(at80.text().find("postmaster_start"), std::string::npos) << "the postmaster was running already";
  const int wr = row_of(at80, waiter), hr = row_of(at80, holder);
  EXPECT_LT(hr, wr) << "the holder first, its waiter under it";
  // The waiter: "!", red, in its lock wait; the holder: ●, reverse yellow, not "!".
  EXPECT_EQ(at80.cell(wr, 1).fg, 1);
  EXPECT_FALSE(at80.cell(wr, 1).reverse);
  EXPECT_NE(at80.line(wr).find("└ client"), std::string::npos) << at80.line(wr);
  EXPECT_NE(at80.line(wr).find("Lock:transacti"), std::string::npos) << at80.line(wr);
  EXPECT_EQ(at80.line(hr)[0], ' ');
  EXPECT_TRUE(at80.cell(hr, 1).reverse);
  EXPECT_EQ(at80.cell(hr, 1).fg, 3);
  // At 80 columns TITLE is 9 or 10 wide: "[holds up 1]" is cut, and says so.
  EXPECT_TRUE(std::regex_search(at80.line(hr), std::regex("\\[holds u(p)?…$"))) << at80.line(hr);
  std::vector<std::string> lines80;
  const auto block80 = stall_block(at80, "lock-sleep", waiter, &lines80);
  EXPECT_NE(block80.find("blocked by pid " + std::to_string(holder)), std::string::npos) << block80;

  // 120x40: redrawn at once for the new size (one clear, for the resize).
  w.resize(120, 40);
  auto wide = [&](const vt::Screen& sc) {
    for (const auto& l : sc.lines())
      if (l.find(" PID ") != std::string::npos && l.find("TITLE") != std::string::npos) return l.find("TITLE") > 80;
    return false;
  };
  ASSERT_TRUE(w.wait_for([&](const vt::Screen& sc) { return wide(sc) && flagged(sc); }, 5s))
      << "not redrawn for 120 columns\n" << dump(w);
  w.wait_for([](const vt::Screen&) { return false; }, 1500ms);  // a few more frames
  const vt::Screen at120 = w.screen;
  std::cout << "at 120x40:\n" << at120.text();
  SCOPED_TRACE("at 120x40:\n" + at120.text());
  expect_clean_screen(at120, "120x40");
  // The resize clears once; a resize landing mid-frame may clear once more.
  EXPECT_GE(at120.alt_full_clears, 1);
  EXPECT_LE(at120.alt_full_clears, 2);
  EXPECT_EQ(headers_on(at120), kHeaders);
  EXPECT_EQ(at120.line(row_of(at120, waiter))[0], '!');
  EXPECT_TRUE(at120.cell(row_of(at120, holder), 1).reverse);
  EXPECT_NE(at120.line(row_of(at120, holder)).find("[holds up 1]"), std::string::npos);
  // Wrapped at spaces at both widths: the same words (numbers aside), and each
  // line ends where the next word would not have fitted.
  std::vector<std::string> lines120;
  const auto block120 = stall_block(at120, "lock-sleep", waiter, &lines120);
  EXPECT_EQ(shape(block80), shape(block120)) << block80 << "\n" << block120;
  EXPECT_GT(lines80.size(), lines120.size());
  for (auto [lines, width] : {std::pair{&lines80, 80}, std::pair{&lines120, 120}})
    for (size_t i = 0; i + 1 < lines->size(); ++i) {
      std::istringstream next((*lines)[i + 1]);
      std::string word;
      next >> word;
      EXPECT_GT(pgstall::output::display_width((*lines)[i]) + 1 + pgstall::output::display_width(word), width)
          << (*lines)[i];
    }

  // Ctrl-C: the shell's screen and cursor back, the summary on it, no frame.
  w.signal(SIGINT);
  EXPECT_EQ(w.wait_exit(15s), 0) << dump(w);
  EXPECT_FALSE(w.screen.alternate);
  EXPECT_TRUE(w.screen.cursor_visible);
  EXPECT_EQ(w.screen.alt_exits, 1);
  const std::string main = w.screen.text();
  EXPECT_TRUE(std::regex_search(main, std::regex("pgstall: (1 stall|[0-9]+ stalls) flagged, ")))
      << "no summary on the shell's screen:\n" << main;
  EXPECT_EQ(main.find(" PID "), std::string::npos) << "a frame on the shell's screen:\n" << main;
  s.stop();
}

TEST_F(ViewTest, TheTerminalIsGivenBackOnEveryWayOut) {
  struct Way {
    const char* name;
    int signal;  // 0: --duration
  };
  for (const Way way : {Way{"SIGTERM", SIGTERM}, Way{"SIGHUP", SIGHUP}, Way{"--duration", 0}}) {
    SCOPED_TRACE(way.name);
    std::vector<std::string> args = {"watch", "--data-dir", env_["PGSTALL_PGDATA"]};
    if (!way.signal) args.insert(args.end(), {"--duration", "4s"});
    PtyWatch w(args, 80, 24);
    ASSERT_TRUE(w.started());
    ASSERT_TRUE(w.wait_for(has_frame, 30s)) << dump(w);
    expect_clean_screen(w.screen, way.name);
    if (way.signal) w.signal(way.signal);
    EXPECT_EQ(w.wait_exit(20s), 0) << dump(w);
    EXPECT_EQ(w.screen.alt_entries, 1);
    EXPECT_EQ(w.screen.alt_exits, 1);
    EXPECT_FALSE(w.screen.alternate);
    EXPECT_TRUE(w.screen.cursor_visible);
    EXPECT_NE(w.screen.text().find(" flagged, "), std::string::npos) << w.screen.text();
  }
}

TEST_F(ViewTest, NoScreenControlWithoutALiveView) {
  // --plain on a terminal: lines, no alternate screen, cursor untouched.
  {
    PtyWatch w({"watch", "--plain", "--data-dir", env_["PGSTALL_PGDATA"], "--duration", "2s"}, 80, 24);
    ASSERT_TRUE(w.started());
    EXPECT_EQ(w.wait_exit(30s), 0) << dump(w);
    EXPECT_EQ(w.raw.find("\x1b[?1049h"), std::string::npos) << w.raw;
    EXPECT_EQ(w.raw.find("\x1b[?25l"), std::string::npos) << w.raw;
    EXPECT_NE(w.raw.find("pgstall: watching "), std::string::npos) << w.raw;
    // The postmaster was running before: no postmaster_start notice.
    EXPECT_EQ(w.raw.find("postmaster_start"), std::string::npos) << w.raw;
  }
  // A usage error on a terminal: one line, nothing else.
  {
    PtyWatch w({"watch", "--data-dir", "/nonexistent"}, 80, 24);
    ASSERT_TRUE(w.started());
    EXPECT_EQ(w.wait_exit(30s), 2) << dump(w);
    EXPECT_EQ(w.raw.find("\x1b[?1049h"), std::string::npos) << w.raw;
    EXPECT_NE(w.raw.find("does not exist"), std::string::npos) << w.raw;
  }
  // Pipes: --json and plain lines carry no escape sequence.
  for (const char* mode : {"--json", ""}) {
    auto r = run(pgstall_binary() + " watch " + mode + " --data-dir " + env_["PGSTALL_PGDATA"] + " --duration 2s | cat");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(*mode ? "\"type\":\"summary\"" : " flagged, "), std::string::npos) << mode << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << mode << r.out;
  }
}

// The postmaster found running when watch starts is tracked, not announced;
// one started while watching is announced (watch_test's restart test).
TEST_F(ViewTest, NoPostmasterStartForARunningPostmaster) {
  const int pm = postmaster_pid(env_);
  ASSERT_GT(pm, 0);
  ASSERT_EQ(kill(pm, 0), 0) << "the postmaster runs";
  Watch w(target());
  ASSERT_TRUE(w.started()) << w.dump();
  w.run_for(1s);
  EXPECT_EQ(w.stop(), 0);
  bool seen = false;
  for (const auto& p : w.of_type("process"))
    if (p["event"] == "postmaster_start" && p["pid"] == pm) {
      seen = true;
      EXPECT_EQ(p["already_running"], true) << p.dump();
    }
  EXPECT_TRUE(seen) << "the running postmaster is tracked (JSON)\n" << w.dump();
}
