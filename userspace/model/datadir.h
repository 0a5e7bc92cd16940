#pragma once
// A PostgreSQL data directory named by the operator (--data-dir, or the one a
// --pid runs from): whether it is one at all (a usage error when not), and
// whether a postmaster runs from it now (when not, pgstall waits for one).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace pgstall::model {

// Why a --pid value as typed is not a process id ("" when it is one): digits
// only, not zero, at most 9 of them (pid_max is at most 2^22).
std::string pid_option_error(std::string_view text);

// "postgres" or "postmaster": the comm of every process of a server.
bool is_postgres_comm(std::string_view comm);

struct DataDir {
  std::string path;           // as the kernel names it (no symlinks)
  uint64_t dev = 0, ino = 0;  // the directory itself: a bind mount names it otherwise
};

// The directory `dir`, if it is a data directory (it holds PG_VERSION);
// otherwise why not, for the operator.
Result<DataDir> open_data_dir(const std::string& dir);
// The directory process `pid` runs from (/proc/PID/cwd: a postmaster
// changes into its data directory before writing postmaster.pid).
std::optional<DataDir> cwd_of(int pid);
// Whether pid runs from d: the same path, or the same directory reached
// through another path.
bool runs_from(int pid, const DataDir& d);

// The pid on the first line of a postmaster.pid text (a single-user server
// writes it negated).
std::optional<int> parse_postmaster_pid(std::string_view text);
// The pid of the running postmaster of d, read from its postmaster.pid and
// checked in /proc; otherwise why there is none ("no postmaster.pid",
// "postmaster.pid names pid 4160, which is not running").
Result<int> running_postmaster(const DataDir& d);

}  // namespace pgstall::model
