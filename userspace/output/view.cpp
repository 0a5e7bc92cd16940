#include "output/view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

namespace pgstall::output {
namespace {

// Plain ANSI escapes, no ncurses or FTXUI: the view is one string per frame
// (home, overwrite each line, clear to its end, clear below), so a library's
// window model would add a dependency and a second idea of the screen
// without making this simpler, and the frame stays testable as a string.
constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kStalled = "\x1b[1;31m";  // bold red: a stalled process, a stall line
// Bold reverse yellow: the session holding a lock queue up — the one to end —
// must not look like the red waiters behind it.
constexpr const char* kHolder = "\x1b[1;7;33m";
constexpr int kIndent = 6;  // a stall line's continuation lines

size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4; }

// The first `width` display columns of s.
std::string cut(const std::string& s, int width) {
  size_t i = 0;
  for (int cols = 0; i < s.size() && cols < width; ++cols) i += utf8_len(s[i]);
  return s.substr(0, std::min(i, s.size()));
}

// s in at most `width` columns, "…" where it was cut.
std::string fit(const std::string& s, int width) {
  if (width <= 0) return "";
  if (display_width(s) <= width) return s;
  return cut(s, width - 1) + "…";
}

std::string pad(const std::string& s, int width, bool right) {
  const std::string f = fit(s, width);
  const std::string fill(static_cast<size_t>(std::max(0, width - display_width(f))), ' ');
  return right ? fill + f : f + fill;
}

std::string plural(size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// ---- The process table -----------------------------------------------------
//
// Columns by what matters to an on-call engineer, most first: which process
// and whether it is stalled (PID, "!" in front when it is), its state (S),
// what it waits on (WAIT EVENT), for how long (FOR) and in which syscall
// (IN): these are never dropped. Then TYPE (it carries the lock-queue marks
// ● └), CPU%, SYSC/s (`-` unless syscalls are traced). TITLE takes whatever is
// left. A narrow terminal first shrinks columns to their minimum (TYPE,
// WAIT EVENT, IN, SYSC/s, in that order) and the title to 8 columns, then drops
// whole columns — SYSC/s first, then CPU%, then TYPE — never a column cut off
// mid-way: a header is on screen with its whole column, or not at all. At 80
// columns every column is there. docs/RUNBOOK.md says the same for readers.
enum Col { kPid, kType, kState, kIn, kFor, kWait, kSysc, kCpu, kCols };

struct ColSpec {
  const char* header;
  int pref, min;
  bool right;
};

constexpr std::array<ColSpec, kCols> kSpecs{{
    {"PID", 0, 0, true},  // as wide as the widest pid on screen
    {"TYPE", 20, 12, false},
    {"S", 1, 1, false},
    {"IN", 12, 10, false},
    {"FOR", 6, 6, true},
    {"WAIT EVENT", 24, 17, false},
    {"SYSC/s", 7, 6, true},
    {"CPU%", 4, 4, true},
}};
constexpr std::array<Col, 4> kShrinkOrder{kType, kWait, kIn, kSysc};
constexpr std::array<Col, 3> kDropOrder{kSysc, kCpu, kType};
constexpr int kTitleWant = 24, kTitleMin = 8;

struct Layout {
  std::array<int, kCols> w{};
  std::array<bool, kCols> shown{};
  int title = 0;  // 0: no TITLE column
};

// "!" and a space, then the columns, one space before each but the first.
int table_width(const Layout& l) {
  int sum = 2;
  for (int c = 0; c < kCols; ++c)
    if (l.shown[c]) sum += l.w[c] + (c == kPid ? 0 : 1);
  return sum;
}

Layout layout_for(int width, int pid_width) {
  Layout l;
  for (int c = 0; c < kCols; ++c) {
    l.w[c] = c == kPid ? pid_width : kSpecs[c].pref;
    l.shown[c] = true;
  }
  auto title_room = [&] { return width - table_width(l) - 1; };
  for (Col c : kShrinkOrder) {
    const int take = std::min(kTitleWant - title_room(), l.w[c] - kSpecs[c].min);
    if (take > 0) l.w[c] -= take;
  }
  for (Col c : kDropOrder)
    if (title_room() < kTitleMin) l.shown[c] = false;
  // What dropping freed goes back to the shrunk columns, most important first.
  for (auto it = kShrinkOrder.rbegin(); it != kShrinkOrder.rend(); ++it) {
    const int give = std::min(title_room() - kTitleWant, kSpecs[*it].pref - l.w[*it]);
    if (give > 0 && l.shown[*it]) l.w[*it] += give;
  }
  l.title = std::max(0, title_room());
  return l;
}

std::string for_text(double s, bool lower_bound) {
  if (s < 0) return "-";
  const std::string v = s < 100      ? fmt::format("{:.1f}s", s)
                        : s < 10000  ? fmt::format("{:.0f}s", s)
                        : s < 360000 ? fmt::format("{:.1f}h", s / 3600)
                                     : fmt::format("{:.0f}d", s / 86400);
  return (lower_bound ? "≥" : "") + v;
}

// A rate in `width` columns: whole while it fits, then k and M.
std::string rate_text(double r, int width) {
  if (r < 0) return "-";
  std::string v = fmt::format("{:.0f}", r);
  if (static_cast<int>(v.size()) <= width) return v;
  return r < 1e6 ? fmt::format("{:.0f}k", r / 1e3) : fmt::format("{:.1f}M", r / 1e6);
}

std::string cells(const Layout& l, const std::array<std::string, kCols>& v, const std::string& mark,
                  const std::string& title) {
  std::string out = mark + " ";
  for (int c = 0; c < kCols; ++c)
    if (l.shown[c]) out += (c == kPid ? "" : " ") + pad(v[c], l.w[c], kSpecs[c].right);
  if (l.title > 0) out += " " + fit(title, l.title);
  return out;
}

std::string column_header(const Layout& l) {
  std::array<std::string, kCols> v;
  for (int c = 0; c < kCols; ++c) v[c] = kSpecs[c].header;
  return cells(l, v, " ", "TITLE");
}

std::string row_text(const Layout& l, const ViewRow& r) {
  std::string type = r.type.empty() ? "-" : r.type;
  std::string title = r.title;
  // Every row is postgres: the prefix says nothing, its room goes to what follows.
  if (title.starts_with("postgres: ")) title.erase(0, 10);
  if (r.queue_depth == 0) {
    type = "● " + type;
    title = fmt::format("[holds up {}] {}", r.queue_waiting, title);
  } else if (r.queue_depth > 0) {
    type = std::string(2 * (r.queue_depth - 1), ' ') + "└ " + type;
  }
  std::array<std::string, kCols> v;
  v[kPid] = std::to_string(r.pid);
  v[kType] = type;
  v[kState] = std::string(1, r.state);
  v[kIn] = r.in.empty() ? "-" : r.in;
  v[kFor] = for_text(r.for_s, r.for_lower_bound);
  v[kWait] = r.wait_known ? r.wait : "-";
  v[kSysc] = rate_text(r.sys_rate, l.w[kSysc]);
  v[kCpu] = r.cpu_pct < 0 ? "-" : fmt::format("{:.0f}", r.cpu_pct);
  return cells(l, v, r.stalled ? "!" : " ", title);
}

// ---- Sharing the rows ------------------------------------------------------

struct Line {
  std::string text;
  const char* style = nullptr;
};

// Stall lines, wrapped, in at most `budget` lines: each stall gets its first
// line before any gets a second, then one more line each in turn. A stall cut
// short ends in "…"; stalls with no line at all are counted in a last line.
std::vector<Line> stall_block(const std::vector<std::vector<std::string>>& wrapped, int budget, int width) {
  std::vector<Line> out;
  if (budget <= 0) return out;
  const size_t n = wrapped.size();
  const size_t with_line = n <= static_cast<size_t>(budget) ? n : static_cast<size_t>(budget - 1);
  std::vector<size_t> alloc(with_line, 1);
  int left = budget - static_cast<int>(with_line) - (with_line < n ? 1 : 0);
  for (bool grew = true; grew && left > 0;) {
    grew = false;
    for (size_t i = 0; i < with_line && left > 0; ++i)
      if (alloc[i] < wrapped[i].size()) ++alloc[i], --left, grew = true;
  }
  for (size_t i = 0; i < with_line; ++i)
    for (size_t j = 0; j < alloc[i]; ++j) {
      std::string text = (j ? std::string(kIndent, ' ') : "") + wrapped[i][j];
      if (j + 1 == alloc[i] && alloc[i] < wrapped[i].size())
        text = display_width(text) + 2 <= width ? text + " …" : cut(text, width - 1) + "…";
      out.push_back({text, kStalled});
    }
  if (with_line < n)
    out.push_back({fit(fmt::format("… {} more {}", n - with_line, n - with_line == 1 ? "stall" : "stalls"), width),
                   kStalled});
  return out;
}

std::string header_text(const ViewHeader& h, size_t stalls, int width) {
  std::string losses;
  for (const auto& l : h.losses) losses += (losses.empty() ? "" : ", ") + l;
  // Most important first: what does not fit is left off from the end.
  const std::vector<std::string> parts = {
      fmt::format("pgstall {}", h.clock),
      plural(h.processes, "postgres process", "postgres processes"),
      stalls ? plural(stalls, "stall", "stalls") : "no stalls",
      losses.empty() ? "no events lost" : losses,
      fmt::format("syscall tracing {}", h.syscall_tracing ? "on" : "off"),
      fmt::format("up {:.0f}s", h.elapsed_s),
      "Ctrl-C to quit"};
  std::string out = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    if (display_width(out) + 3 + display_width(parts[i]) > width) break;
    out += " — " + parts[i];
  }
  return fit(out, width);
}

}  // namespace

int display_width(const std::string& s) {
  int cols = 0;
  for (size_t i = 0; i < s.size(); i += utf8_len(s[i])) ++cols;
  return cols;
}

std::vector<std::string> wrap_words(const std::string& text, int width, int indent) {
  std::vector<std::string> lines;
  std::string cur;
  int cur_w = 0, lw = std::max(1, width);
  const int next_w = std::max(1, width - indent);
  auto flush = [&] {
    lines.push_back(cur);
    cur.clear();
    cur_w = 0;
    lw = next_w;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find(' ', pos), text.size());
    std::string word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    int ww = display_width(word);
    while (true) {
      const int room = cur.empty() ? lw : lw - cur_w - 1;
      if (ww <= room) {
        if (!cur.empty()) cur += ' ', ++cur_w;
        cur += word;
        cur_w += ww;
        break;
      }
      if (!cur.empty()) {
        flush();
        continue;
      }
      // One word longer than a whole line: the only hard cut.
      cur = cut(word, lw);
      word.erase(0, cur.size());
      ww -= lw;
      flush();
      if (word.empty()) break;
    }
  }
  if (!cur.empty() || lines.empty()) lines.push_back(cur);
  return lines;
}

std::pair<int, int> terminal_size() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) return {ws.ws_col, ws.ws_row};
  return {120, 40};
}

std::string render_view(const ViewHeader& h, const std::vector<std::string>& stall_lines,
                        const std::vector<ViewRow>& rows, int width, int height) {
  if (width < 1 || height < 1) return "";
  std::vector<Line> lines;
  lines.push_back({header_text(h, stall_lines.size(), width), kBold});
  for (const auto& n : h.notices) lines.push_back({fit("! " + n, width)});

  std::vector<std::vector<std::string>> wrapped;
  size_t stall_need = 0;
  for (const auto& s : stall_lines) {
    wrapped.push_back(wrap_words(s, width, kIndent));
    stall_need += wrapped.back().size();
  }
  // Free rows below the header and notices, less a blank line and the column
  // names. Stalls get what they need up to 60% of them, or more when the
  // table needs less than the rest; the table gets the rest.
  const int avail = std::max(0, height - static_cast<int>(lines.size()) - 2);
  const int table_need = static_cast<int>(rows.size());
  const int table_keep = std::min(table_need, avail - avail * 3 / 5);
  int stall_budget = std::min(static_cast<int>(std::max<size_t>(stall_need, 1)), std::max(1, avail - table_keep));
  if (stall_lines.empty())
    lines.push_back({"no stalls"});
  else
    for (auto& l : stall_block(wrapped, stall_budget, width)) lines.push_back(std::move(l));

  int pid_width = 3;
  for (const auto& r : rows) pid_width = std::max(pid_width, static_cast<int>(std::to_string(r.pid).size()));
  const Layout layout = layout_for(width, pid_width);
  lines.push_back({""});
  lines.push_back({column_header(layout), kBold});
  const int table_budget = height - static_cast<int>(lines.size());
  const size_t fit_rows = table_need <= table_budget ? rows.size() : static_cast<size_t>(std::max(0, table_budget - 1));
  for (size_t i = 0; i < fit_rows; ++i) {
    const auto& r = rows[i];
    lines.push_back({row_text(layout, r), r.queue_depth == 0 ? kHolder : r.stalled ? kStalled : nullptr});
  }
  if (fit_rows < rows.size() && table_budget > 0)
    lines.push_back({fit(fmt::format("… {} more {}", rows.size() - fit_rows,
                                     rows.size() - fit_rows == 1 ? "process" : "processes"),
                         width)});
  if (lines.size() > static_cast<size_t>(height)) lines.resize(height);

  std::string out = "\x1b[H";
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string text = cut(lines[i].text, width);
    if (lines[i].style) out += lines[i].style;
    out += text;
    if (lines[i].style) out += kReset;
    // Cleared after the reset, so the rest of the line takes no colour; a full
    // line needs no clearing (and the cursor waits past its last column).
    if (display_width(text) < width) out += "\x1b[K";
    if (i + 1 < lines.size()) out += "\r\n";
  }
  if (lines.size() < static_cast<size_t>(height)) out += "\r\n\x1b[J";
  return out;
}

}  // namespace pgstall::output
