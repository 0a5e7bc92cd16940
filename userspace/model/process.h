#pragma once
// One postgres process as pgstall knows it: where it belongs and what its
// title says. Plain data.
#include <cstdint>
#include <string>

#include "model/title.h"

namespace pgstall::model {

struct Process {
  int pid = 0;
  int ppid = 0;
  int postmaster = 0;    // its postmaster (itself for the postmaster)
  std::string data_dir;  // /proc/<postmaster>/cwd
  int pg_major = 0;      // from the data directory's PG_VERSION
  ProcessTitle title;
  std::string raw_cmdline;
};

// A file mapped into a process (from /proc/PID/maps): where, from which
// offset. The symbol context a recording keeps for naming frames later.
struct MappedFile {
  uint64_t start = 0, end = 0, offset = 0;
  std::string path;
};

}  // namespace pgstall::model
