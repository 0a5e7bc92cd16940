#include "model/datadir.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "model/procfs.h"

namespace pgstall::model {
namespace {

std::optional<DataDir> stat_dir(const std::string& path, const std::string& shown_as) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return DataDir{shown_as, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string pid_option_error(std::string_view text) {
  const bool digits = !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
  return digits && text.find_first_not_of('0') != std::string::npos ? "" : fmt::format("'{}' is not a process id", text);
}

bool is_postgres_comm(std::string_view comm) { return comm == "postgres" || comm == "postmaster"; }

Result<DataDir> open_data_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return fail(errno == ENOENT ? fmt::format("data directory {} does not exist", dir)
                                : fmt::format("cannot read data directory {}: {}", dir, std::strerror(errno)));
  if (!S_ISDIR(st.st_mode)) return fail(fmt::format("{} is not a directory", dir));
  if (!exists(dir + "/PG_VERSION"))
    return fail(fmt::format("{} is not a PostgreSQL data directory (no PG_VERSION in it){}", dir,
                            exists(dir + "/postgresql.conf")
                                ? "; a configuration directory? give the data_directory it names"
                                : ""));
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(dir.c_str(), nullptr), &std::free);
  if (!real) return fail(fmt::format("cannot resolve data directory {}: {}", dir, std::strerror(errno)));
  auto d = stat_dir(real.get(), real.get());
  if (!d) return fail(fmt::format("cannot read data directory {}", dir));
  return *d;
}

std::optional<DataDir> cwd_of(int pid) {
  auto cwd = proc_cwd(pid);
  if (!cwd) return std::nullopt;
  return stat_dir("/proc/" + std::to_string(pid) + "/cwd", *cwd);
}

bool runs_from(int pid, const DataDir& d) {
  auto cwd = cwd_of(pid);
  return cwd && (cwd->path == d.path || (cwd->dev == d.dev && cwd->ino == d.ino));
}

std::optional<int> parse_postmaster_pid(std::string_view text) {
  const std::string_view line = text.substr(0, text.find('\n'));
  int pid = 0;
  auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
  if (ec != std::errc{} || p != line.data() + line.size() || pid == 0 || pid == INT_MIN) return std::nullopt;
  return pid < 0 ? -pid : pid;
}

Result<int> running_postmaster(const DataDir& d) {
  std::ifstream f(d.path + "/postmaster.pid");
  if (!f) return fail("no postmaster.pid");
  std::string first;
  std::getline(f, first);
  auto pid = parse_postmaster_pid(first);
  if (!pid) return fail("postmaster.pid has no pid on its first line");
  auto st = read_proc_stat(*pid);
  if (!st || st->state == 'Z') return fail(fmt::format("postmaster.pid names pid {}, which is not running", *pid));
  if (!is_postgres_comm(st->comm))
    return fail(fmt::format("postmaster.pid names pid {}, which is not a PostgreSQL process (it is '{}')", *pid,
                            st->comm));
  if (!runs_from(*pid, d))
    return fail(fmt::format("postmaster.pid names pid {}, a postgres process of another data directory", *pid));
  return *pid;
}

}  // namespace pgstall::model
