#include "output/view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace pgstall::output {
namespace {

// Cuts to `width` display columns, counting UTF-8 code points (the lines use ≥ and —).
std::string cut(const std::string& s, int width) {
  int cols = 0;
  size_t i = 0;
  while (i < s.size() && cols < width) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    i += len;
    ++cols;
  }
  return s.substr(0, std::min(i, s.size()));
}

// The first `width` display columns of s, and the rest.
std::pair<std::string, std::string> split_at(const std::string& s, int width) {
  std::string head = cut(s, width);
  return {head, s.substr(head.size())};
}

}  // namespace

std::pair<int, int> terminal_size() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return {ws.ws_col, ws.ws_row};
  return {120, 40};
}

std::string render_view(const ViewHeader& h, const std::vector<std::string>& stall_lines,
                        const std::vector<ViewRow>& rows, int width, int height) {
  const char* kRed = "\x1b[1;31m";
  const char* kBold = "\x1b[1m";
  const char* kReset = "\x1b[0m";
  std::string out = "\x1b[H\x1b[2J";
  int used = 0;
  auto line = [&](const std::string& text, const char* style = nullptr) {
    if (used >= height - 1) return;
    if (style) out += style;
    out += cut(text, width);
    if (style) out += kReset;
    out += "\n";
    ++used;
  };
  line(fmt::format("pgstall watch — {} — {} postgres processes — {:.0f}s — syscall tracing {} — Ctrl-C to quit",
                   h.clock, h.processes, h.elapsed_s, h.syscall_tracing ? "on" : "off"),
       kBold);
  for (const auto& n : h.notices) line("! " + n);
  if (stall_lines.empty())
    line("no stalls");
  else
    for (const auto& s : stall_lines) {
      // Wrapped, not cut: the end of a lock-sleep line names the blocker.
      auto [head, rest] = split_at(s, width);
      line(head, kRed);
      for (int extra = 0; !rest.empty() && extra < 2; ++extra) {
        std::tie(head, rest) = split_at(rest, std::max(width - 6, 10));
        line("      " + head, kRed);
      }
    }
  line("");
  line(fmt::format("{:>7} {:<20} {:1} {:<14} {:>8} {:<28} {:>8} {:>5}  {}", "PID", "TYPE", "S", "IN", "FOR",
                   "WAIT EVENT", "SYSC/s", "CPU%", "TITLE"),
       kBold);
  size_t shown = 0;
  for (const auto& r : rows) {
    if (used >= height - 1) break;
    ++shown;
    std::string forv = r.for_s >= 100 ? fmt::format("{:.0f}s", r.for_s) : fmt::format("{:.1f}s", r.for_s);
    std::string rate = r.sys_rate < 0 ? "-" : fmt::format("{:.0f}", r.sys_rate);
    std::string type = r.type, title = r.title;
    if (r.queue_depth == 0) {
      type = "● " + type;
      title = fmt::format("[holds up {}] {}", r.queue_waiting, title);
    } else if (r.queue_depth > 0) {
      type = std::string(2 * (r.queue_depth - 1), ' ') + "└ " + type;
    }
    line(fmt::format("{:>7} {:<20} {:1} {:<14} {:>8} {:<28} {:>8} {:>5.0f}  {}", r.pid, cut(type, 20), r.state,
                     cut(r.in, 14), forv, cut(r.wait, 28), rate, r.cpu_pct, title),
         r.stalled || r.queue_depth == 0 ? kRed : nullptr);
  }
  if (shown < rows.size()) out += fmt::format("… {} more\n", rows.size() - shown);
  return out;
}

}  // namespace pgstall::output
