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
// is killed leaves a file that reads up to its last complete record. The
// checksum does not cover the length: a damaged length is found by the next
// record not lining up.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/fd.h"
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

// A stretch of the file that was not read as records: a record whose length,
// checksum or payload is wrong, up to the next whole record (or the end).
struct Damage {
  uint64_t offset = 0;  // of the damaged record's header
  uint64_t bytes = 0;   // skipped from there
  std::string why;      // "checksum mismatch", "impossible length 4294967295", ...
};

// How reading went, beside the records themselves.
struct ReadStatus {
  uint32_t version = 0;
  uint64_t size = 0;  // bytes in the file when it was opened; nothing after is read
  // Nothing could be read: not a regular file, not a recording, a header cut
  // short, another format version. Set before any record is read.
  std::string error;
  // The file ends inside a record: the recorder stopped mid-write (killed,
  // or the disk filled) or the copy is cut short. Everything before it was read.
  bool truncated = false;
  uint64_t tail_offset = 0, tail_have = 0, tail_need = 0;  // that record: where, bytes there, bytes it needs
  // Damaged stretches are skipped and reading goes on at the next whole
  // record: the first few are kept here, all of them counted.
  std::vector<Damage> damage;
  uint64_t damaged = 0, damaged_bytes = 0;
  uint64_t records = 0;               // whole records read (unknown types included)
  uint64_t records_after_damage = 0;  // of those, read after the first damage
  uint64_t unknown_types = 0;         // records of types this version does not know (skipped, counted)
};

// One line per problem, for a warning or the report's header; empty when the
// file read cleanly. error is not included.
std::vector<std::string> describe(const ReadStatus& s);

// Reads a recording one record at a time, in memory bounded by the longest
// record (kMaxRecord), however long the file.
class Reader {
 public:
  // A regular file only (a FIFO or a device could block or never end): its
  // header is checked before anything else. A refusal is in status().error.
  static Reader open_file(const std::string& path);
  // Bytes held in memory (tests, the fuzzer); not copied: they must outlive
  // the reader.
  static Reader over(std::string_view bytes);

  // The next whole record; false at the end of what can be read (then see
  // status()). Never throws.
  bool next(Record& r);
  const ReadStatus& status() const { return st_; }

 private:
  void check_header();
  bool read_at(uint64_t off, size_t n, char* dst) const;
  bool whole_record_at(uint64_t off) const;
  uint64_t find_record(uint64_t from) const;
  void skip_damage(uint64_t end_if_aligned, std::string why);

  UniqueFd fd_;
  std::string_view mem_;
  uint64_t off_ = 0;
  std::string buf_;  // the record being read
  bool damaged_ = false;
  ReadStatus st_;
};

// Every record of a recording held in memory (tests, the fuzzer).
struct Contents : ReadStatus {
  std::vector<Record> records;
};
Contents parse(std::string_view bytes);

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
