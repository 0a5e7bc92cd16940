#pragma once
// The recording file's records, built from what capture and the detectors
// saw: its metadata, every event, the processes (when their title changes),
// the maps and build-ids that name frames later, once-a-second snapshots, the
// named stacks and the counters. Written record by record (record/file.h):
// a recorder that is killed leaves a file readable up to its last record.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/probes.h"
#include "model/process.h"
#include "model/snapshot.h"
#include "output/format.h"
#include "record/file.h"
#include "util/result.h"

namespace pgstall::output {

struct RecordingFacts {
  std::string pgstall_version;
  nlohmann::json thresholds;  // detect::Settings::to_json()
  bool stacks = false;
  int oncpu_hz = 0;  // 0: no on-CPU samples
  bool usdt = true;
};

// {"pgstall", "host", "kernel", "machine", "started", "realtime_minus_monotonic_ns",
//  "oncpu_hz", "stacks", "usdt", "thresholds"}; host and kernel read now.
nlohmann::json recording_meta(const RecordingFacts& f, const Clock& clock);

class RecordingWriter {
 public:
  // Writes the Meta record into a file created in place (OutFile::InPlace),
  // or creates path first (refused if it exists).
  Result<void> open(OutFile file, const nlohmann::json& meta);
  Result<void> open(const std::string& path, const nlohmann::json& meta);
  bool is_open() const { return writer_ != nullptr; }

  // An event as printed with --json, stamped with CLOCK_MONOTONIC now.
  void event(const nlohmann::json& j);
  // A process, when first seen and whenever its title changes (a backend's
  // title carries user, database and command).
  void process(uint64_t now_ns, const model::Process& p);
  // Where each file was mapped in pid: the symbol context.
  void maps(uint64_t now_ns, int pid, const std::vector<model::MappedFile>& files);
  void build_ids(uint64_t now_ns, const std::map<std::string, std::string>& ids);
  void snapshot(uint64_t now_ns, const std::vector<model::Snapshot>& snaps, const Clock& clock);
  // Named stacks (capture::StackCollector::drain); nothing when empty.
  void stacks(uint64_t now_ns, const nlohmann::json& entries);
  // Every counter; "lost": the loss counters that counted some; and
  // "ring_drops_by_probe": which probes the ring_drops were lost from.
  void counters(uint64_t now_ns, const std::vector<model::Counter>& counters, const model::RingDrops& ring = {});
  // An End record with the reason it stopped, then closes.
  Result<void> close(const std::string& reason);

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  std::string summary() const;  // "1234 records, 2.1 MiB"

 private:
  void write(record::Type t, const nlohmann::json& body);

  std::unique_ptr<record::Writer> writer_;
  std::string error_;
  std::map<int, std::string> titles_;  // pid -> title last written
};

}  // namespace pgstall::output
