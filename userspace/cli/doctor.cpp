// pgstall doctor: what this kernel, these permissions and each running
// cluster give pgstall, the mode watch will run in, and the fix for each
// missing piece. Works as any user (what needs root is marked as not
// checked) and with a server that answers nothing: no SQL.
#include "cli/commands.h"

#include <iostream>

#include "capture/doctor.h"
#include "model/datadir.h"
#include "model/doctor.h"
#include "output/doctor.h"

namespace pgstall::cli {

void DoctorOptions::add_to(CLI::App& app) {
  app.add_option("-p,--pid", pids, "Check only the cluster of this running postmaster (or of this backend); repeatable")
      ->check([](const std::string& pid) { return model::pid_option_error(pid); });
  app.add_option("-D,--data-dir", data_dirs, "Check only the cluster of this data directory; repeatable");
  app.add_flag("--json", json, "One JSON object: every fact found, every check, the mode per cluster");
}

int run_doctor(const DoctorOptions& o) {
  auto facts = capture::doctor_facts({o.pids, o.data_dirs}, PGSTALL_VERSION);
  if (!facts) {
    std::cerr << "pgstall doctor: " << facts.error().message << "\n";
    return 2;
  }
  const auto report = model::doctor::judge(std::move(*facts));
  if (o.json)
    std::cout << output::doctor_json(report).dump() << "\n";
  else
    std::cout << output::doctor_text(report);
  return report.exit_code();
}

}  // namespace pgstall::cli
