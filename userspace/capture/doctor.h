#pragma once
// pgstall doctor, the gathering half: loads and attaches the BPF programs the
// way watch does (root), runs the tracer's self-test and a few feature
// trials, attaches the USDT probes of each running cluster's binary, reads
// one wait event and one PGPROC from each, and reads the permissions and
// sysctls that matter. Everything is detached before it returns. As another
// user it reports what it can read and marks the rest as not checked.
// model/doctor judges what this finds.
#include <string>
#include <vector>

#include "model/doctor.h"
#include "util/result.h"

namespace pgstall::capture {

struct DoctorTargets {
  std::vector<int> pids;               // -p: postmasters, or any process of their clusters
  std::vector<std::string> data_dirs;  // -D
};

// Fails only on a usage error: a pid that is not a running postgres process,
// a path that is not a data directory.
Result<model::doctor::Facts> doctor_facts(const DoctorTargets& targets, const std::string& version);

}  // namespace pgstall::capture
