#pragma once
// What `record` (and watch --folded) adds to the watch loop, as glue: once a
// second the processes, a snapshot, the stacks drained from the kernel and
// the counters go to the recording file (output/recording) and the folded
// stacks (output/folded); capture/stacks does the draining and naming.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/session.h"
#include "capture/stacks.h"
#include "capture/tracer.h"
#include "model/snapshot.h"
#include "output/folded.h"
#include "output/format.h"
#include "output/recording.h"
#include "util/result.h"

namespace pgstall::cli {

class Recorder {
 public:
  Recorder(capture::Tracer& tracer, capture::Session& session, const output::Clock& clock);

  // Starts the recording file; without one, only the folded stacks are kept.
  Result<void> open(OutFile file, const nlohmann::json& meta) { return file_.open(std::move(file), meta); }
  bool recording() const { return file_.is_open(); }
  void event(const nlohmann::json& j) { file_.event(j); }
  void note_process(int pid, const std::string& backend_type) { stacks_.note_process(pid, backend_type); }
  // Once a second (and once more at the end, final = true).
  void tick(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, bool final = false);
  capture::StackCollector& stacks() { return stacks_; }

  // --folded: the files, created before tracing started; written at the end.
  void fold_to(output::FoldedFiles files) { folded_files_ = std::move(files); }
  Result<void> write_folded() {
    if (!folded_files_) return fail("no --folded file");
    return folded_.write(*std::exchange(folded_files_, std::nullopt));
  }
  Result<void> close(const std::string& reason) { return file_.close(reason); }
  // "1234 records, 2.1 MiB, 5120 off-CPU stacks, 980 on-CPU samples"
  std::string summary() const;
  bool write_failed() const { return file_.failed(); }
  const std::string& write_error() const { return file_.error(); }

 private:
  capture::Tracer& tracer_;
  capture::Session& session_;
  const output::Clock& clock_;
  capture::StackCollector stacks_;
  output::RecordingWriter file_;
  output::FoldedStacks folded_;
  std::optional<output::FoldedFiles> folded_files_;
  size_t build_ids_written_ = 0;
};

}  // namespace pgstall::cli
