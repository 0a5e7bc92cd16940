#pragma once
// The live, top-like view of `pgstall watch` on a terminal.
#include <string>
#include <utility>
#include <vector>

namespace pgstall::output {

// One process's row. Everywhere in the view `-` means "not measured / not
// known" and a number, 0 included, was measured.
struct ViewRow {
  int pid = 0;
  std::string type;     // backend type
  char state = '?';     // R S D
  std::string in;       // "epoll_wait", "futex", "on CPU", "off CPU"
  // Postgres' wait event, "Lock:transactionid"; "" when read and not waiting.
  std::string wait;
  bool wait_known = false;  // false: not read (no PG 14+, --no-wait-events, unreadable)
  double for_s = -1;        // how long in `in`; < 0: not known (on CPU, or asleep since an unknown time)
  bool for_lower_bound = false;  // it began before pgstall started: at least for_s
  double sys_rate = -1;  // syscalls per second over the last second; < 0: not counted that whole second
  double cpu_pct = -1;   // CPU % over the last second; < 0: not measured yet
  std::string title;
  bool stalled = false;
  // A heavyweight lock queue with a stalled waiter is shown under its root:
  // -1 not in one; 0 its root (the session holding everyone up); n: n steps
  // of first blockers away from it.
  int queue_depth = -1;
  size_t queue_waiting = 0;  // the root: how many wait in its queue
};

struct ViewHeader {
  std::string clock;
  double elapsed_s = 0;
  size_t processes = 0;
  bool syscall_tracing = false;
  // What the kernel side could not hand over so far, as phrases ("3 stacks
  // lost"); empty: nothing lost.
  std::vector<std::string> losses;
  std::vector<std::string> notices;  // drops, degraded probes, postmaster restarts
};

// The terminal's columns and rows (120x40 when stdout is not a terminal).
std::pair<int, int> terminal_size();

// One frame, drawn over the previous one without clearing the screen (no
// flicker, nothing pushed into the scrollback): the cursor goes home, each
// line overwrites the old one and clears what is left of it, and what is
// below the last line is cleared. Never more than `height` lines, none wider
// than `width`, and no line feed after the last one (the screen never scrolls).
// Stall lines on top, wrapped at spaces; then one row per process. A lock
// queue's root is marked ● and highlighted as the holder, its waiters
// indented under it (└), each under its first blocker.
std::string render_view(const ViewHeader& h, const std::vector<std::string>& stall_lines,
                        const std::vector<ViewRow>& rows, int width, int height);

// Word-aware wrapping: breaks at spaces, hard-cuts only a word longer than a
// line. The first line is `width` columns, the following ones `width - indent`
// (the caller indents them). Widths count UTF-8 code points.
std::vector<std::string> wrap_words(const std::string& text, int width, int indent);

// The display width of s (UTF-8 code points; the view uses no wide characters).
int display_width(const std::string& s);

}  // namespace pgstall::output
