#pragma once
// One postgres process as pgstall knows it: where it belongs and what its
// title says. Plain data.
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

}  // namespace pgstall::model
