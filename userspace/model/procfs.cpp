#include "model/procfs.h"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <vector>

#include "util/fd.h"

namespace pgstall::model {
namespace {

// Guards against pathological files (a huge /proc/PID/maps) eating memory.
constexpr size_t kMaxProcFileSize = 64u << 20;

bool safe_name(std::string_view name) {
    if (name.empty() || name.front() == '/') return false;
    size_t i = 0;
    while (i <= name.size()) {
        size_t j = name.find('/', i);
        if (j == std::string_view::npos) j = name.size();
        if (name.substr(i, j - i) == "..") return false;
        i = j + 1;
    }
    return name.find('\0') == std::string_view::npos;
}

std::string proc_path(int pid, std::string_view name) {
    std::string p = "/proc/" + std::to_string(pid) + "/";
    p.append(name);
    return p;
}

std::optional<std::string> read_link(const std::string& path) {
    std::vector<char> buf(256);
    for (;;) {
        const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
        if (n < 0) return std::nullopt;
        // readlink truncates silently; a full buffer may mean more to read.
        if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
        if (buf.size() >= 64 * 1024) return std::nullopt;
        buf.resize(buf.size() * 4);
    }
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && ptr == s.data() + s.size();
}

}  // namespace

std::optional<std::string> read_proc_file(int pid, std::string_view name) {
    if (pid <= 0 || !safe_name(name)) return std::nullopt;
    const std::string path = proc_path(pid, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return std::nullopt;

    // procfs files report st_size 0: read until EOF.
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;  // ESRCH once the task is gone, EACCES for stack etc.
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kMaxProcFileSize) return std::nullopt;
    }
    return out;
}

std::optional<std::string> proc_cmdline(int pid) { return read_proc_file(pid, "cmdline"); }

std::optional<std::string> read_proc_link(int pid, std::string_view name) {
    if (pid <= 0 || !safe_name(name)) return std::nullopt;
    return read_link(proc_path(pid, name));
}

std::optional<std::string> proc_cwd(int pid) { return read_proc_link(pid, "cwd"); }

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
    const size_t open = line.find('(');
    const size_t close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;

    ProcStat st;
    std::string_view pid_text = line.substr(0, open);
    while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
    if (!parse_number(pid_text, st.pid)) return std::nullopt;
    st.comm = line.substr(open + 1, close - open - 1);

    // Fields after comm, numbered as in proc(5): 3 state, 4 ppid, 14 utime,
    // 15 stime, 22 starttime.
    std::string_view rest = line.substr(close + 1);
    std::vector<std::string_view> f;
    f.reserve(24);
    size_t i = 0;
    while (i < rest.size() && f.size() < 20) {
        while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
        const size_t b = i;
        while (i < rest.size() && rest[i] != ' ' && rest[i] != '\n') ++i;
        if (i > b) f.push_back(rest.substr(b, i - b));
    }
    auto field = [&](int n) { return f[static_cast<size_t>(n - 3)]; };
    if (f.size() < 20) return std::nullopt;  // need fields 3..22

    if (field(3).size() != 1) return std::nullopt;
    st.state = field(3)[0];
    if (!parse_number(field(4), st.ppid)) return std::nullopt;
    if (!parse_number(field(14), st.utime)) return std::nullopt;
    if (!parse_number(field(15), st.stime)) return std::nullopt;
    if (!parse_number(field(22), st.starttime_ticks)) return std::nullopt;
    return st;
}

std::optional<ProcStat> read_proc_stat(int pid) {
    const auto text = read_proc_file(pid, "stat");
    if (!text) return std::nullopt;
    return parse_proc_stat(*text);
}

std::vector<std::string> parse_proc_stack(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        const size_t sp = line.find("] ");
        if (sp == std::string_view::npos) continue;
        std::string_view fn = line.substr(sp + 2);
        fn = fn.substr(0, fn.find('+'));
        if (!fn.empty()) out.emplace_back(fn);
    }
    return out;
}

std::vector<std::string> read_proc_stack(int pid) {
    const auto text = read_proc_file(pid, "stack");
    return text ? parse_proc_stack(*text) : std::vector<std::string>();
}

namespace {

template <typename T>
bool parse_hex(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<MapsLine> parse_maps_line(std::string_view line) {
  // start-end perms offset major:minor inode [spaces path]
  auto next_field = [&line]() {
    const size_t sp = line.find(' ');
    std::string_view f = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    return f;
  };
  MapsLine m;
  const std::string_view range = next_field();
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), m.start) ||
      !parse_hex(range.substr(dash + 1), m.end))
    return std::nullopt;
  if (next_field().size() != 4) return std::nullopt;  // perms
  if (!parse_hex(next_field(), m.offset)) return std::nullopt;
  const std::string_view dev = next_field();
  const size_t colon = dev.find(':');
  if (colon == std::string_view::npos || !parse_hex(dev.substr(0, colon), m.dev_major) ||
      !parse_hex(dev.substr(colon + 1), m.dev_minor))
    return std::nullopt;
  const std::string_view inode = next_field();
  const auto [p, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), m.inode);
  if (ec != std::errc{} || p != inode.data() + inode.size()) return std::nullopt;
  const size_t path_at = line.find_first_not_of(' ');
  m.path = path_at == std::string_view::npos ? std::string_view() : line.substr(path_at);
  return m;
}

}  // namespace pgstall::model
