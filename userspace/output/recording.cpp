#include "output/recording.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "model/syscalls.h"
#include "util/clock.h"

namespace pgstall::output {

nlohmann::json recording_meta(const RecordingFacts& f, const Clock& clock) {
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return {{"pgstall", f.pgstall_version},
          {"host", host},
          {"kernel", u.release},
          {"machine", u.machine},
          {"started", clock.rfc3339(monotonic_ns())},
          {"realtime_minus_monotonic_ns", clock.offset_ns()},
          {"oncpu_hz", f.oncpu_hz},
          {"stacks", f.stacks},
          {"usdt", f.usdt},
          {"thresholds", f.thresholds}};
}

Result<void> RecordingWriter::open(OutFile file, const nlohmann::json& meta) {
  auto w = std::make_unique<record::Writer>();
  if (auto opened = w->open(std::move(file), meta); !opened) return opened.error();
  writer_ = std::move(w);
  return {};
}

Result<void> RecordingWriter::open(const std::string& path, const nlohmann::json& meta) {
  auto file = OutFile::create(path, OutFile::Where::InPlace);
  if (!file) return file.error();
  return open(std::move(*file), meta);
}

void RecordingWriter::write(record::Type t, const nlohmann::json& body) {
  if (!writer_ || !error_.empty()) return;
  if (!writer_->write(t, body)) error_ = writer_->error();
}

void RecordingWriter::event(const nlohmann::json& j) {
  if (!writer_) return;
  nlohmann::json e = j;
  e["ts"] = monotonic_ns();  // CLOCK_MONOTONIC; the Meta record converts
  write(record::Type::Event, e);
}

void RecordingWriter::process(uint64_t now, const model::Process& p) {
  auto& last = titles_[p.pid];
  if (last == p.title.raw) return;
  last = p.title.raw;
  write(record::Type::Process, {{"ts", now},
                                {"pid", p.pid},
                                {"postmaster", p.postmaster},
                                {"backend_type", model::backend_type_name(p.title.type)},
                                {"title", p.title.raw},
                                {"data_dir", p.data_dir},
                                {"pg_major", p.pg_major}});
}

void RecordingWriter::maps(uint64_t now, int pid, const std::vector<model::MappedFile>& files) {
  nlohmann::json maps = nlohmann::json::array();
  for (const auto& m : files) maps.push_back({{"start", m.start}, {"end", m.end}, {"offset", m.offset}, {"path", m.path}});
  write(record::Type::Symbols, {{"ts", now}, {"pid", pid}, {"maps", maps}});
}

void RecordingWriter::build_ids(uint64_t now, const std::map<std::string, std::string>& ids) {
  write(record::Type::Symbols, {{"ts", now}, {"build_ids", ids}});
}

void RecordingWriter::snapshot(uint64_t now, const std::vector<model::Snapshot>& snaps, const Clock& clock) {
  nlohmann::json procs = nlohmann::json::array();
  for (const auto& s : snaps) {
    if (s.exited) continue;
    nlohmann::json j = {{"pid", s.pid}, {"state", std::string(1, s.task_state())}, {"cpu_ns", s.cpu_ns}};
    if (s.in_syscall) {
      j["syscall"] = model::syscall_name(s.sc_nr);
      j["syscall_s"] = std::round((now - std::min(now, s.sc_start_ns)) / 1e6) / 1e3;
    }
    if (auto we = model::wait_event_of(s)) j["wait_event"] = we->text();
    procs.push_back(std::move(j));
  }
  write(record::Type::Snapshot, {{"ts", now}, {"at", clock.rfc3339(now)}, {"processes", procs}});
}

void RecordingWriter::stacks(uint64_t now, const nlohmann::json& entries) {
  if (!entries.empty()) write(record::Type::Stacks, {{"ts", now}, {"entries", entries}});
}

void RecordingWriter::counters(uint64_t now, const std::vector<model::Counter>& counters,
                               const model::RingDrops& ring) {
  nlohmann::json all, lost = nlohmann::json::object(), by_probe = nlohmann::json::object();
  for (const auto& c : counters) {
    all[c.name] = c.value;
    if (c.loss && c.value) lost[c.name] = c.value;
  }
  for (const auto& [probe, n] : ring.by_probe)
    if (n) by_probe[probe] = n;
  write(record::Type::Counters,
        {{"ts", now}, {"counters", all}, {"lost", lost}, {"ring_drops_by_probe", by_probe}});
}

Result<void> RecordingWriter::close(const std::string& reason) {
  if (!writer_) return {};
  if (!error_.empty()) return fail(error_);
  if (!writer_->close({{"reason", reason}, {"records", writer_->records() + 1}})) return fail(writer_->error());
  return {};
}

std::string RecordingWriter::summary() const {
  if (!writer_) return "";
  return fmt::format("{} records, {:.1f} MiB", writer_->records(), static_cast<double>(writer_->bytes()) / (1 << 20));
}

}  // namespace pgstall::output
