#pragma once

// Small, non-throwing /proc readers. Every process may vanish between two
// reads (ESRCH/ENOENT), and some files need privileges (EACCES): all of these
// come back as nullopt, never as an exception or a partial value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgstall::model {

// Whole contents of /proc/PID/<name> (name relative, e.g. "stat", "wchan",
// "task/123/stat"; names with ".." or a leading '/' are refused).
std::optional<std::string> read_proc_file(int pid, std::string_view name);

// Raw /proc/PID/cmdline, NULs included (feed to parse_title). Empty for
// kernel threads and zombies.
std::optional<std::string> proc_cmdline(int pid);

// readlink /proc/PID/<name> ("cwd", "exe", "fd/3"); same refusals as read_proc_file.
std::optional<std::string> read_proc_link(int pid, std::string_view name);

// readlink /proc/PID/cwd: for the postmaster and its children, the data directory.
std::optional<std::string> proc_cwd(int pid);

struct ProcStat {
    int pid = 0;
    char state = '?';  // R S D Z T t X I ...
    int ppid = 0;
    uint64_t starttime_ticks = 0;  // since boot, in clock ticks (sysconf(_SC_CLK_TCK))
    uint64_t utime = 0, stime = 0;  // clock ticks
    std::string comm;  // may contain spaces and parentheses
};

// Parses one /proc/PID/stat line. comm is everything between the first '('
// and the last ')': the fields after it are numbers and a state letter, so
// the last ')' is unambiguous whatever comm holds.
std::optional<ProcStat> parse_proc_stat(std::string_view line);

// /proc/PID/stat (also works for a thread id).
std::optional<ProcStat> read_proc_stat(int pid);

// The kernel function names of a /proc/PID/stack text, innermost first:
// "[<0>] do_epoll_wait+0x4b7/0x5e0" gives "do_epoll_wait". Lines that are
// not frames are skipped.
std::vector<std::string> parse_proc_stack(std::string_view text);

// /proc/PID/stack (root only) parsed; empty when it cannot be read.
std::vector<std::string> read_proc_stack(int pid);

// One line of /proc/PID/maps.
struct MapsLine {
    uint64_t start = 0, end = 0, offset = 0;
    unsigned dev_major = 0, dev_minor = 0;
    uint64_t inode = 0;
    std::string_view path;  // may be empty (anonymous), may end in " (deleted)"
};
std::optional<MapsLine> parse_maps_line(std::string_view line);

}  // namespace pgstall::model
