#pragma once
// The recording file: what `pgstall record` writes and `report` and
// `flamegraph` read, on this machine or another one.
//
//   header   8 bytes magic "PGSTREC\0", u32 version, u32 reserved (0)
//   record   u32 length, u16 type, u16 reserved (0), u32 CRC-32 of the
//            type, reserved and payload bytes, then `length` payload bytes
//            (a CBOR-encoded JSON object)
//
// Little-endian. Each record goes out with one write(2), so a recorder that
// is killed leaves a file that reads up to its last complete record.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/outfile.h"
#include "util/result.h"

namespace pgstall::record {

inline constexpr char kMagic[8] = {'P', 'G', 'S', 'T', 'R', 'E', 'C', '\0'};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 16, kRecordHeaderSize = 12;
inline constexpr uint32_t kMaxRecord = 64u << 20;  // a longer length is corruption, not data

enum class Type : uint16_t {
  Meta = 1,      // first: pgstall version, host, kernel, clocks, options
  Process = 2,   // a postgres process: pid, title, type, executable, build-id
  Event = 3,     // a stall start or end, as `watch --json` prints it
  Snapshot = 4,  // every process' in-flight state, once a second
  Stacks = 5,    // weighted stacks (off-CPU or on-CPU) aggregated over an interval
  Counters = 6,  // kernel-side counters, drops and losses included
  End = 7,       // the recorder stopped on its own (absent: it was killed)
  Symbols = 8,   // symbol context: the build-id of each file frames were named from
};
std::string_view type_name(Type t);

struct Record {
  Type type{};
  uint64_t offset = 0;  // of its header in the file
  nlohmann::json body;
};

struct Contents {
  uint32_t version = 0;
  std::vector<Record> records;
  // The file ends inside a record (a recorder killed mid-write, or a copy
  // cut short): everything before it was read.
  bool truncated = false;
  // The file is not a recording, or a record is damaged (bad checksum,
  // impossible length, undecodable payload): reading stopped there.
  std::string error;
  uint64_t error_offset = 0;
  uint64_t unknown_types = 0;  // records of types this version does not know (skipped, counted)
};

// Reads a whole recording held in memory. Never throws; whatever could be read
// before a problem is kept.
Contents parse(std::string_view bytes);
// Reads a file; a file that cannot be opened sets error.
Contents read_file(const std::string& path);

// A record's payload decoded, nesting capped at 64 levels; false when it is
// not a CBOR-encoded object. Never throws.
bool decode_payload(std::string_view payload, nlohmann::json& out);

// One encoded record (for the writer and for tests that build files by hand).
std::string encode(Type type, const nlohmann::json& body);
std::string header();

class Writer {
 public:
  Writer() = default;
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Writes the header and a Meta record into a file created in place
  // (util/outfile.h: so a killed recorder leaves it under its own name);
  // with a path, creates it first, refusing one that exists. Once open, the
  // file is kept even when the writer is destroyed without close().
  Result<void> open(OutFile file, const nlohmann::json& meta);
  Result<void> open(const std::string& path, const nlohmann::json& meta);
  bool write(Type type, const nlohmann::json& body);  // one write(2); false (and error()) on failure
  bool close(const nlohmann::json& end_body);         // an End record, then close
  uint64_t bytes() const { return bytes_; }
  uint64_t records() const { return records_; }
  const std::string& error() const { return error_; }

 private:
  bool put(const std::string& bytes);
  OutFile out_;
  uint64_t bytes_ = 0, records_ = 0;
  std::string error_;
};

}  // namespace pgstall::record
