#pragma once
// The live, top-like view of `pgstall watch` on a terminal.
#include <string>
#include <utility>
#include <vector>

namespace pgstall::output {

struct ViewRow {
  int pid = 0;
  std::string type;     // backend type
  char state = '?';     // R S D
  std::string in;       // "epoll_wait", "futex", "on CPU"
  std::string wait;     // Postgres' wait event, "Lock:transactionid" ("" none or unknown)
  double for_s = 0;     // how long in it
  double sys_rate = 0;  // syscalls per second over the last second; < 0: not counted
  double cpu_pct = 0;
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
  std::vector<std::string> notices;  // drops, degraded probes, postmaster restarts
};

// The terminal's columns and rows (120x40 when stdout is not a terminal).
std::pair<int, int> terminal_size();

// Stall lines go on top (highlighted), then one row per process, cut to the
// terminal's size. A lock queue's root is marked and highlighted, its
// waiters indented under it (└), each under its first blocker.
std::string render_view(const ViewHeader& h, const std::vector<std::string>& stall_lines,
                        const std::vector<ViewRow>& rows, int width, int height);

}  // namespace pgstall::output
