#include "model/procstate.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include "model/procfs.h"

namespace pgstall::model {
namespace {

std::string_view next_token(std::string_view& text) {
  const size_t start = text.find_first_not_of(" \t\n");
  if (start == std::string_view::npos) {
    text = {};
    return {};
  }
  text.remove_prefix(start);
  const size_t end = text.find_first_of(" \t\n");
  std::string_view tok = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return tok;
}

}  // namespace

std::vector<int> list_pids() {
  std::vector<int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    int pid = 0;
    auto [p, ec] = std::from_chars(e->d_name, e->d_name + strlen(e->d_name), pid);
    if (ec == std::errc{} && *p == '\0' && pid > 0) out.push_back(pid);
  }
  closedir(d);
  return out;
}

std::optional<ProcSyscall> parse_proc_syscall(std::string_view text) {
  if (text.rfind("running", 0) == 0) return std::nullopt;
  ProcSyscall s;
  const std::string_view nr = next_token(text);
  auto [p, ec] = std::from_chars(nr.data(), nr.data() + nr.size(), s.nr);
  if (ec != std::errc{} || p != nr.data() + nr.size() || s.nr < 0) return std::nullopt;
  for (auto& a : s.args) {
    std::string_view tok = next_token(text);
    if (tok.empty()) break;
    if (tok.starts_with("0x")) tok.remove_prefix(2);
    auto [q, ec2] = std::from_chars(tok.data(), tok.data() + tok.size(), a, 16);
    if (ec2 != std::errc{}) return std::nullopt;
  }
  return s;
}

std::optional<ProcSyscall> proc_syscall(int pid) {
  auto text = read_proc_file(pid, "syscall");
  if (!text) return std::nullopt;
  return parse_proc_syscall(*text);
}

std::optional<double> parse_sched_exec_start_ms(std::string_view text) {
  auto pos = text.find("se.exec_start");
  if (pos == std::string_view::npos) return std::nullopt;
  pos = text.find(':', pos);
  if (pos == std::string_view::npos) return std::nullopt;
  try {
    return std::stod(std::string(text.substr(pos + 1, 64)));
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<double> proc_last_ran_age_s(int pid) {
  auto them = read_proc_file(pid, "sched");
  auto us = read_proc_file(getpid(), "sched");
  if (!them || !us) return std::nullopt;
  auto a = parse_sched_exec_start_ms(*them), b = parse_sched_exec_start_ms(*us);
  if (!a || !b || *b < *a) return std::nullopt;
  return (*b - *a) / 1000.0;
}

bool gone_or_exiting(int pid) {
  auto st = read_proc_stat(pid);
  if (!st) return true;
  if (st->state == 'Z' || st->state == 'X') return true;
  // Exiting but not yet a zombie: its memory is gone already (exit_mm), so
  // it has no executable any more — a postgres process always has one while
  // alive.
  char buf[16];
  return readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf) < 0 && errno == ENOENT;
}

char task_state_char(uint32_t s) {
  if (s == 0) return 'R';                    // preempted: runnable
  if ((s & 0x2) && (s & 0x400)) return 'I';  // TASK_IDLE: D without load, a kernel nap
  if (s & 0x2) return 'D';
  if (s & 0x1) return 'S';
  if (s & (0x4 | 0x8)) return 'T';
  return '?';
}

}  // namespace pgstall::model
