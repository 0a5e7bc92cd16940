// The live view: rows in order, a lock queue shown under its root.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "../../common/vt.h"
#include "detect/fixtures.h"
#include "output/rows.h"
#include "output/view.h"

using namespace pgstall;
using namespace pgstall::testing;

namespace {

model::LockWaitRead relation_wait(int mode, std::vector<model::LockHolder> blockers) {
  model::LockWaitRead r;
  r.waiting = true;
  r.tag.type = "relation";
  r.tag.field = {5, 16384, 0, 0};
  r.tag.mode = mode;
  r.blockers = std::move(blockers);
  return r;
}

// The queue (R sending to a client that stopped reading, holding
// AccessShareLock; A's ALTER TABLE behind it; readers W1, W2 behind A), an
// unrelated stall X, an idle session I and the checkpointer C.
struct Fixture {
  static constexpr int R = 4200, A = 4201, W1 = 4202, W2 = 4203, X = 4100, I = 4000, C = 3999;
  std::vector<model::Snapshot> snaps;
  std::map<int, model::Process> procs;

  Fixture() {
    auto add = [&](model::Snapshot s, model::ProcessTitle t) {
      s.title = t;
      model::Process p;
      p.pid = s.pid;
      p.title = t;
      procs[s.pid] = p;
      snaps.push_back(std::move(s));
    };
    model::ProcessTitle checkpointer;
    checkpointer.type = model::BackendType::Checkpointer;
    checkpointer.raw = "postgres: checkpointer";
    add(sleeping_in(C, "epoll_wait", kT0), checkpointer);
    add(sleeping_in(I, "epoll_wait", kT0), client("idle", model::ClientState::Idle));
    add(sleeping_in(X, "pwrite64", kT0, 'D'), client("COMMIT", model::ClientState::Active));
    // Listed out of queue order: the view puts them in it.
    model::Snapshot w2 = sleeping_in(W2, "epoll_wait", kT0);
    w2.shm_lock = relation_wait(1, {{A, 0, 8}});
    add(w2, client("SELECT", model::ClientState::Active, true));
    model::Snapshot a = sleeping_in(A, "epoll_wait", kT0);
    a.shm_lock = relation_wait(8, {{R, 1u << 1}});
    add(a, client("ALTER TABLE", model::ClientState::Active, true));
    model::Snapshot w1 = sleeping_in(W1, "epoll_wait", kT0);
    w1.shm_lock = relation_wait(1, {{A, 0, 8}});
    add(w1, client("SELECT", model::ClientState::Active, true));
    add(waiting_on(R, "Client", "ClientWrite", kT0), client("COPY", model::ClientState::Active));
  }

  std::vector<output::ViewRow> rows(const std::set<int>& stalled) const {
    output::Rates rates;
    return output::view_rows(kT0 + 10 * kSec, snaps,
                             [this](int pid) -> const model::Process* {
                               auto it = procs.find(pid);
                               return it == procs.end() ? nullptr : &it->second;
                             },
                             rates, stalled);
  }
};

std::vector<int> pids(const std::vector<output::ViewRow>& rows) {
  std::vector<int> out;
  for (const auto& r : rows) out.push_back(r.pid);
  return out;
}

std::vector<std::string> lines_of(const std::string& screen) {
  std::vector<std::string> out;
  std::istringstream in(screen);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

const std::string* line_with_pid(const std::vector<std::string>& lines, int pid) {
  const std::string key = " " + std::to_string(pid) + " ";
  for (const auto& l : lines)
    if (l.find(key) != std::string::npos && l.find("STALL") == std::string::npos) return &l;
  return nullptr;
}

}  // namespace

TEST(ViewRows, AQueueComesAsOneGroupUnderItsRoot) {
  Fixture f;
  const auto rows = f.rows({Fixture::A, Fixture::W1, Fixture::W2, Fixture::X});
  // The root first (not stalled itself: it is the cause), its ALTER, the
  // readers under the ALTER; then the other stall; then the rest, as listed.
  EXPECT_EQ(pids(rows), (std::vector<int>{Fixture::R, Fixture::A, Fixture::W1, Fixture::W2, Fixture::X, Fixture::C,
                                          Fixture::I}));
  EXPECT_EQ(rows[0].queue_depth, 0);
  EXPECT_EQ(rows[0].queue_waiting, 3u);
  EXPECT_FALSE(rows[0].stalled);
  EXPECT_EQ(rows[1].queue_depth, 1);
  EXPECT_EQ(rows[2].queue_depth, 2);
  EXPECT_EQ(rows[3].queue_depth, 2);
  EXPECT_EQ(rows[4].queue_depth, -1);
  EXPECT_EQ(rows[0].wait, "Client:ClientWrite");
}

TEST(ViewRows, AQueueWithNoStalledWaiterIsNotGrouped) {
  Fixture f;
  const auto rows = f.rows({Fixture::X});
  EXPECT_EQ(rows[0].pid, Fixture::X);
  for (const auto& r : rows) EXPECT_EQ(r.queue_depth, -1) << r.pid;
}

TEST(ViewRender, TheRootIsMarkedAndItsWaitersIndentedUnderIt) {
  Fixture f;
  const auto rows = f.rows({Fixture::A, Fixture::W1, Fixture::W2, Fixture::X});
  output::ViewHeader h;
  h.clock = "12:00:00";
  h.processes = rows.size();
  const std::string screen = output::render_view(h, {"STALL lock-sleep 6.0s pid 4201 …"}, rows, 200, 40);
  const auto lines = lines_of(screen);
  const std::string* root = line_with_pid(lines, Fixture::R);
  const std::string* alter = line_with_pid(lines, Fixture::A);
  const std::string* reader = line_with_pid(lines, Fixture::W2);
  const std::string* other = line_with_pid(lines, Fixture::X);
  ASSERT_TRUE(root && alter && reader && other) << screen;
  EXPECT_NE(root->find("● client backend"), std::string::npos) << *root;
  // The view leaves out the "postgres: " every title starts with (issue 12:
  // room at 80 columns).
  EXPECT_NE(root->find("[holds up 3] app shop [local] COPY"), std::string::npos)
      << *root;
  // Highlighted as the holder (issue 12: bold reverse yellow, not the red of
  // the stalled waiters it holds up).
  EXPECT_NE(root->find("\x1b[1;7;33m"), std::string::npos) << "the root is highlighted: " << *root;
  EXPECT_EQ(root->find("\x1b[1;31m"), std::string::npos) << *root;
  EXPECT_NE(alter->find("\x1b[1;31m"), std::string::npos) << *alter;
  EXPECT_NE(alter->find(" 4201 └ client backend"), std::string::npos) << *alter;
  EXPECT_NE(reader->find(" 4203   └ client backend"), std::string::npos) << *reader;
  EXPECT_EQ(other->find("└"), std::string::npos) << *other;
  EXPECT_EQ(other->find("●"), std::string::npos) << *other;
  // Columns stay aligned: the state column follows a 20-wide type column.
  EXPECT_NE(alter->find("└ client backend     S "), std::string::npos) << *alter;
  EXPECT_NE(reader->find("  └ client backend   S "), std::string::npos) << *reader;
  // In that order on screen.
  EXPECT_LT(root, alter);
  EXPECT_LT(alter, reader);
  EXPECT_LT(reader, other);
}

// ---- Issue 12: a view that fits any terminal --------------------------------

namespace {

const std::vector<std::string> kHeaders = {"PID", "TYPE", "S", "IN", "FOR", "WAIT EVENT", "SYSC/s", "CPU%", "TITLE"};

// The rowlock queue of the fixture, stalled, with a long lock-sleep line.
struct Frame {
  Fixture f;
  std::vector<output::ViewRow> rows = f.rows({Fixture::A, Fixture::W1, Fixture::W2, Fixture::X});
  output::ViewHeader h;
  std::vector<std::string> stalls = {
      "STALL lock-sleep 6.0s pid 4201 client backend app@shop ALTER TABLE waiting — heavyweight lock wait (relation "
      "5/16384 AccessExclusiveLock, ALTER TABLE waiting); blocked by pid 4200 (AccessShareLock, blocked sending to "
      "its client 7s); since 02:47:13",
      "STALL io-wait 41.0s pid 4100 client backend app@shop COMMIT — pwrite64(pg_wal/000000010000000000000040 (WAL "
      "segment)) in D state; kernel: percpu_rwsem_wait ← vfs_write; since 02:46:40"};
  Frame() {
    h.clock = "02:47:19";
    h.processes = rows.size();
  }
  vt::Screen draw(int w, int hgt) const {
    vt::Screen screen(w, hgt);
    screen.feed(output::render_view(h, stalls, rows, w, hgt));
    return screen;
  }
};

// The column names in the header line, in screen order.
std::vector<std::string> headers_on(const vt::Screen& s) {
  for (const auto& l : s.lines()) {
    if (l.find(" PID ") == std::string::npos) continue;
    std::vector<std::string> out;
    for (const auto& h : kHeaders) {
      const std::string key = h == "S" ? " S " : h;
      if (l.find(key) != std::string::npos) out.push_back(h);
    }
    return out;
  }
  return {};
}

int row_of(const vt::Screen& s, int pid) {
  const std::string key = " " + std::to_string(pid) + " ";
  for (int r = 0; r < s.rows(); ++r)
    if (s.line(r).find(key) != std::string::npos && !s.line(r).starts_with("STALL") &&
        !s.line(r).starts_with("      "))
      return r;
  return -1;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

TEST(ViewRender, At80And120EveryColumnIsThere) {
  Frame fr;
  for (auto [w, hgt] : {std::pair{80, 24}, std::pair{120, 40}}) {
    const auto screen = fr.draw(w, hgt);
    SCOPED_TRACE(screen.text());
    EXPECT_EQ(headers_on(screen), kHeaders) << w << " columns";
    // Nothing wider than the terminal, nothing scrolled, no clear, nothing
    // the tiny terminal does not know.
    EXPECT_EQ(screen.autowraps, 0);
    EXPECT_EQ(screen.scrolls, 0);
    EXPECT_EQ(screen.full_clears, 0);
    EXPECT_TRUE(screen.unknown.empty()) << screen.unknown[0];
    // Every process is listed.
    for (const auto& r : fr.rows) EXPECT_GE(row_of(screen, r.pid), 0) << r.pid;
  }
}

TEST(ViewRender, NarrowerColumnsAreDroppedInTheStatedOrder) {
  Frame fr;
  // SYSC/s goes first, then CPU%, then TYPE; PID, S, IN, FOR, WAIT EVENT stay.
  std::vector<std::string> expected = kHeaders;
  int dropped = 0;
  for (int w = 160; w >= 56; --w) {
    const auto screen = fr.draw(w, 30);
    const auto on = headers_on(screen);
    EXPECT_EQ(screen.autowraps, 0) << w;
    for (const char* core : {"PID", "S", "IN", "FOR", "WAIT EVENT", "TITLE"})
      EXPECT_NE(std::find(on.begin(), on.end(), core), on.end()) << core << " at " << w << "\n" << screen.text();
    if (on == expected) continue;
    static const char* kOrder[] = {"SYSC/s", "CPU%", "TYPE"};
    ASSERT_LT(dropped, 3) << w << "\n" << screen.text();
    expected.erase(std::find(expected.begin(), expected.end(), kOrder[dropped++]));
    EXPECT_EQ(on, expected) << w << "\n" << screen.text();
  }
  EXPECT_EQ(dropped, 3);
  // Above 80 nothing is dropped.
  EXPECT_EQ(headers_on(fr.draw(81, 30)), kHeaders);
}

TEST(ViewRender, StallLinesWrapAtSpacesAndUseTheFreeRows) {
  Frame fr;
  for (auto [w, hgt] : {std::pair{80, 24}, std::pair{120, 40}}) {
    const auto screen = fr.draw(w, hgt);
    SCOPED_TRACE(screen.text());
    // Each stall, put back together from its lines, is the same words: no
    // word was cut, none lost, none cut short (no "…").
    std::vector<std::string> block;
    for (const auto& l : screen.lines())
      if (l.starts_with("STALL"))
        block.push_back(l);
      else if (!block.empty() && l.starts_with("      ") && l.find(" PID ") == std::string::npos)
        block.back() += " " + l;
    ASSERT_EQ(block.size(), fr.stalls.size());
    for (size_t i = 0; i < block.size(); ++i) EXPECT_EQ(words(block[i]), words(fr.stalls[i]));
    // Greedy: a line ends where the next word would not have fitted.
    const auto lines = screen.lines();
    for (size_t r = 0; r + 1 < lines.size(); ++r) {
      // A red line followed by a continuation line: one stall's.
      if (!lines[r + 1].starts_with("      ") || screen.cell(static_cast<int>(r), 0).fg != 1) continue;
      const auto next = words(lines[r + 1]);
      if (next.empty()) continue;
      EXPECT_GT(output::display_width(lines[r]) + 1 + output::display_width(next[0]), w) << lines[r];
    }
  }
  // The first stall takes 4 lines at 80 columns: more than the old cut at 3,
  // since rows are free.
  const auto wrapped = output::wrap_words(fr.stalls[0], 80, 6);
  EXPECT_GE(wrapped.size(), 4u);
}

TEST(ViewRender, WrapBreaksAtSpacesAndCutsOnlyAnOverlongWord) {
  EXPECT_EQ(output::wrap_words("aaa bbb ccc", 7, 2), (std::vector<std::string>{"aaa bbb", "ccc"}));
  EXPECT_EQ(output::wrap_words("aaaa bbbb", 6, 0), (std::vector<std::string>{"aaaa", "bbbb"}));
  // Only a word longer than a whole line is cut; continuation lines are
  // narrower by the indent.
  EXPECT_EQ(output::wrap_words("ab cdefghijkl m", 6, 2), (std::vector<std::string>{"ab", "cdef", "ghij", "kl m"}));
  // Widths count characters, not bytes.
  EXPECT_EQ(output::wrap_words("≥5.0s — x", 7, 0), (std::vector<std::string>{"≥5.0s —", "x"}));
  EXPECT_EQ(output::wrap_words("", 10, 0), (std::vector<std::string>{""}));
}

TEST(ViewRender, RedrawsWithoutClearingAndNeverPastTheBottom) {
  Frame fr;
  const std::string frame = output::render_view(fr.h, fr.stalls, fr.rows, 80, 24);
  EXPECT_TRUE(frame.starts_with("\x1b[H")) << "the cursor goes home";
  EXPECT_EQ(frame.find("\x1b[2J"), std::string::npos) << "no full clear";
  EXPECT_NE(frame.find("\x1b[K"), std::string::npos) << "lines are cleared to their end";
  EXPECT_TRUE(frame.ends_with("\x1b[J")) << "what is below the last line is cleared";
  // A second, shorter frame over the first leaves nothing of it.
  vt::Screen screen(80, 24);
  screen.feed(frame);
  auto shorter = fr.rows;
  shorter.resize(2);
  screen.feed(output::render_view(fr.h, {}, shorter, 80, 24));
  EXPECT_EQ(screen.full_clears, 0);
  EXPECT_EQ(screen.line(1), "no stalls");
  EXPECT_EQ(screen.text().find("STALL"), std::string::npos) << screen.text();
  EXPECT_EQ(screen.text().find(std::to_string(Fixture::W2)), std::string::npos) << screen.text();
  // However many rows and stalls: at most `height` lines, no scroll.
  std::vector<output::ViewRow> many(200, fr.rows[4]);
  std::vector<std::string> stalls(30, fr.stalls[0]);
  for (int hgt : {5, 10, 24, 40}) {
    vt::Screen s(80, hgt);
    const std::string f = output::render_view(fr.h, stalls, many, 80, hgt);
    s.feed(f);
    EXPECT_EQ(s.scrolls, 0) << hgt;
    EXPECT_EQ(s.autowraps, 0) << hgt;
    size_t crlf = 0;
    for (size_t p = f.find("\r\n"); p != std::string::npos; p = f.find("\r\n", p + 1)) ++crlf;
    EXPECT_LE(crlf, static_cast<size_t>(hgt - 1)) << hgt;
  }
}

TEST(ViewRender, StallsAndRowsShareTheScreenAndSayWhatIsLeftOut) {
  Frame fr;
  std::vector<output::ViewRow> many;
  for (int i = 0; i < 50; ++i) {
    auto r = fr.rows[5];
    r.pid = 20000 + i;
    many.push_back(r);
  }
  std::vector<std::string> stalls(14, fr.stalls[0]);  // 4 lines each at 80 columns
  const auto text = output::render_view(fr.h, stalls, many, 80, 24);
  vt::Screen s(80, 24);
  s.feed(text);
  int first_lines = 0;
  for (const auto& l : s.lines())
    if (l.starts_with("STALL")) {
      ++first_lines;
      EXPECT_TRUE(l.ends_with("…")) << "cut short, and says so: " << l;
    }
  // 24 rows: header, blank, column names, 21 free: stalls get 60% of them
  // (12: 11 first lines and one saying how many more), the table the rest
  // (9: 8 rows and a line saying how many more).
  EXPECT_EQ(first_lines, 11) << s.text();
  EXPECT_EQ(s.line(12), "… 3 more stalls") << s.text();
  int listed = 0;
  for (int i = 0; i < 50; ++i) listed += row_of(s, 20000 + i) >= 0;
  EXPECT_EQ(listed, 8) << s.text();
  EXPECT_NE(s.text().find("… 42 more processes"), std::string::npos) << s.text();
  // Few processes: the stalls take the free rows, all of each.
  many.resize(3);
  stalls.resize(3);
  vt::Screen t(80, 24);
  t.feed(output::render_view(fr.h, stalls, many, 80, 24));
  EXPECT_EQ(t.text().find(" more"), std::string::npos) << t.text();
  for (const auto& l : t.lines())
    if (l.starts_with("STALL") || l.starts_with("      ")) EXPECT_FALSE(l.ends_with("…")) << l;
  for (int i = 0; i < 3; ++i) EXPECT_GE(row_of(t, 20000 + i), 0);
}

TEST(ViewRender, TheHolderStandsOutFromItsWaiters) {
  Frame fr;
  const auto screen = fr.draw(80, 24);
  SCOPED_TRACE(screen.text());
  const int root = row_of(screen, Fixture::R), alter = row_of(screen, Fixture::A), reader = row_of(screen, Fixture::W1);
  ASSERT_GE(root, 0);
  ASSERT_GE(alter, 0);
  ASSERT_GE(reader, 0);
  EXPECT_LT(root, alter);
  EXPECT_LT(alter, reader);
  // The root: ●, reverse yellow; the stalled waiters: "!", red.
  EXPECT_NE(screen.line(root).find("● client"), std::string::npos);
  EXPECT_TRUE(screen.cell(root, 1).reverse);
  EXPECT_EQ(screen.cell(root, 1).fg, 3);
  EXPECT_EQ(screen.line(root)[0], ' ') << "not stalled itself";
  for (int r : {alter, reader}) {
    EXPECT_EQ(screen.line(r)[0], '!');
    EXPECT_EQ(screen.cell(r, 1).fg, 1);
    EXPECT_FALSE(screen.cell(r, 1).reverse);
  }
  // Not in a queue, not stalled: no colour.
  const int idle = row_of(screen, Fixture::I);
  ASSERT_GE(idle, 0);
  EXPECT_EQ(screen.cell(idle, 1).fg, -1);
  EXPECT_FALSE(screen.cell(idle, 1).reverse);
}

// `-`: not measured or not known; a number, 0 included: measured.
TEST(ViewRender, DashMeansNotKnownZeroMeansMeasuredZero) {
  output::ViewRow unknown, zero;
  unknown.pid = 101;
  unknown.state = 'S';
  zero = unknown;
  zero.pid = 102;
  zero.in = "epoll_wait";
  zero.for_s = 0;
  zero.sys_rate = 0;
  zero.cpu_pct = 0;
  zero.wait_known = true;  // read: not waiting
  zero.type = "checkpointer";
  output::ViewHeader h;
  for (int w : {80, 120}) {
    vt::Screen s(w, 10);
    s.feed(output::render_view(h, {}, {unknown, zero}, w, 10));
    const std::string u = s.line(row_of(s, 101)), z = s.line(row_of(s, 102));
    // The cells under each header.
    const std::string head = s.line(row_of(s, 101) - 1);
    auto cell = [&](const std::string& line, const char* name, int width, bool right) {
      const size_t at = head.find(name);
      EXPECT_NE(at, std::string::npos) << name;
      const size_t from = right ? at + std::string(name).size() - width : at;
      std::string c = line.substr(from, width);
      c.erase(0, c.find_first_not_of(' '));
      c.erase(c.find_last_not_of(' ') + 1);
      return c;
    };
    EXPECT_EQ(cell(u, "SYSC/s", 6, true), "-") << u;
    EXPECT_EQ(cell(z, "SYSC/s", 6, true), "0") << z;
    EXPECT_EQ(cell(u, "CPU%", 4, true), "-") << u;
    EXPECT_EQ(cell(z, "CPU%", 4, true), "0") << z;
    EXPECT_EQ(cell(u, "FOR", 3, true), "-") << u;
    EXPECT_EQ(cell(z, "FOR", 4, true), "0.0s") << z;
    EXPECT_EQ(cell(u, "WAIT EVENT", 10, false), "-") << u;
    EXPECT_EQ(cell(z, "WAIT EVENT", 10, false), "") << z;
    EXPECT_EQ(cell(u, "IN", 2, false), "-") << u;
    EXPECT_EQ(cell(u, "TYPE", 4, false), "-") << u;
  }
  output::ViewRow lb = zero;
  lb.for_s = 312.4;
  lb.for_lower_bound = true;
  EXPECT_NE(output::render_view(h, {}, {lb}, 120, 10).find("≥312s"), std::string::npos);
}

TEST(ViewRows, DashOrZeroFromTheSnapshots) {
  using namespace pgstall::testing;
  model::Snapshot on_cpu, asleep, unread;
  on_cpu.pid = 1;
  on_cpu.on_cpu = true;
  on_cpu.wait_event_info = 0;
  asleep.pid = 2;
  asleep.offcpu_since_ns = kT0 - 2 * kSec;
  asleep.wait_event_info = 0x03000005;  // Lock:transactionid
  asleep.pg_major = 15;
  unread.pid = 3;  // off CPU since an unknown time, wait event not read
  output::Rates rates;
  auto rows = output::view_rows(kT0, {on_cpu, asleep, unread}, [](int) { return nullptr; }, rates, {});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_LT(rows[0].for_s, 0) << "on CPU: no start known to the view";
  EXPECT_TRUE(rows[0].wait_known);
  EXPECT_EQ(rows[0].wait, "");
  EXPECT_DOUBLE_EQ(rows[1].for_s, 2.0);
  EXPECT_EQ(rows[1].wait, "Lock:transactionid");
  EXPECT_LT(rows[2].for_s, 0);
  EXPECT_FALSE(rows[2].wait_known);
  // No rate before a whole second has been measured.
  for (const auto& r : rows) {
    EXPECT_LT(r.sys_rate, 0);
    EXPECT_LT(r.cpu_pct, 0);
  }
  // An idle process that did not run for a whole second: measured 0 % (it
  // used to stay "-" until it ran once).
  rates.update(kT0, {asleep});
  rates.update(kT0 + kSec, {asleep});
  rates.update(kT0 + 2 * kSec, {asleep});
  ASSERT_TRUE(rates.of(2));
  EXPECT_DOUBLE_EQ(rates.of(2)->second, 0);
  EXPECT_LT(rates.of(2)->first, 0) << "syscalls were not counted";
}
