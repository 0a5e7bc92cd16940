#pragma once
// What `record` adds to the watch loop: the recording file (events,
// processes, once-a-second snapshots, stacks, counters) and folded stacks.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/session.h"
#include "capture/tracer.h"
#include "detect/detector.h"
#include "output/format.h"
#include "record/file.h"
#include "symbols/ksyms.h"
#include "symbols/stacknames.h"
#include "symbols/symbolize.h"

namespace pgstall::cli {

class Recorder {
 public:
  Recorder(capture::Tracer& tracer, capture::Session& session, const output::Clock& clock);

  // Starts the file (when path is not empty). False with a message when it
  // cannot be created.
  bool open(const std::string& path, const nlohmann::json& meta, std::string& err);
  bool recording() const { return writer_ != nullptr; }

  void event(const nlohmann::json& j);
  // A process seen starting (its type), so that its stacks are attributed
  // even if it exits before the next tick.
  void note_process(int pid, const std::string& backend_type);
  // Once a second (and once more at the end, final = true): new or renamed
  // processes, every process' state, the stacks drained from the kernel,
  // the counters.
  void tick(uint64_t now, const std::vector<detect::Snapshot>& snaps, bool final = false);
  // A stall that starts: the exact kernel and user stacks it sleeps in
  // (detail.stack), when stacks are taken.
  void add_stall_stack(detect::Stall& st);

  // Folded stacks, off-CPU (weight: microseconds) to path, and on-CPU
  // (weight: samples) to path + ".oncpu" when there were any.
  bool write_folded(const std::string& path, std::string& err) const;
  // Ends the file with an End record; false with a message on a write error.
  bool close(const std::string& reason, std::string& err);
  std::string summary() const;  // "1234 records, 2.1 MiB, 5120 off-CPU stacks, 980 on-CPU samples"
  bool write_failed() const { return !write_error_.empty(); }
  const std::string& write_error() const { return write_error_; }

 private:
  void write(record::Type t, const nlohmann::json& body);
  std::string root_of(int tgid) const;

  capture::Tracer& tracer_;
  capture::Session& session_;
  const output::Clock& clock_;
  symbols::Symbolizer user_syms_;
  symbols::KernelSymbols kernel_syms_;
  symbols::StackNamer namer_;
  std::unique_ptr<record::Writer> writer_;
  std::string write_error_;
  std::map<int, std::string> titles_written_;  // pid -> title last written
  std::map<int, std::string> types_;           // pid -> backend type, kept after it exits
  std::map<std::string, uint64_t> folded_off_, folded_on_;
  uint64_t offcpu_entries_ = 0, oncpu_samples_ = 0;
  size_t build_ids_written_ = 0;
  std::set<int> maps_written_;
};

}  // namespace pgstall::cli
