// The recording file: round trip through the writer, and the reader on
// truncated and damaged files (what was whole is kept, the damage is named,
// nothing crashes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include <fstream>
#include <map>
#include <random>

#include <fmt/format.h>

#include "record/file.h"
#include "record/report.h"

using namespace pgstall::record;

namespace {

std::string sample_file() {
  std::string f = header();
  f += encode(Type::Meta, {{"pgstall", "0.1.0"}, {"host", "db1"}});
  f += encode(Type::Event, {{"type", "stall"}, {"kind", "lock-sleep"}, {"pid", 4242}});
  f += encode(Type::Stacks, {{"kind", "offcpu"},
                             {"stacks", {{{"pid", 4242}, {"weight", 123456789}, {"frames", {"a", "b"}}}}}});
  f += encode(Type::End, {{"reason", "duration"}});
  return f;
}

// A fresh name: the writer refuses a file that exists.
std::string temp_path() {
  char p[] = "/tmp/pgstall-record-test-XXXXXX";
  int fd = mkstemp(p);
  close(fd);
  unlink(p);
  return p;
}

}  // namespace

TEST(Record, ParsesWhatWasEncoded) {
  auto c = parse(sample_file());
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_FALSE(c.truncated);
  ASSERT_EQ(c.records.size(), 4u);
  EXPECT_EQ(c.records[0].type, Type::Meta);
  EXPECT_EQ(c.records[0].offset, kHeaderSize);
  EXPECT_EQ(c.records[1].body["pid"], 4242);
  EXPECT_EQ(c.records[2].body["stacks"][0]["weight"], 123456789);
  EXPECT_EQ(c.records[3].type, Type::End);
}

TEST(Record, WriterWritesAFileTheReaderReads) {
  auto path = temp_path();
  {
    Writer w;
    auto opened = w.open(path, {{"pgstall", "test"}});
    ASSERT_TRUE(opened) << opened.error().message;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(w.write(Type::Snapshot, {{"i", i}}));
    ASSERT_TRUE(w.close({{"reason", "test"}}));
    EXPECT_EQ(w.records(), 102u);
  }
  auto reader = Reader::open_file(path);
  EXPECT_TRUE(reader.status().error.empty()) << reader.status().error;
  std::vector<Record> got;
  for (Record r; reader.next(r);) got.push_back(r);
  ASSERT_EQ(got.size(), 102u);
  EXPECT_EQ(got[0].body["pgstall"], "test");
  EXPECT_EQ(got[100].body["i"], 99);
  EXPECT_TRUE(describe(reader.status()).empty());
  unlink(path.c_str());
  EXPECT_NE(Reader::open_file(path).status().error.find("cannot open"), std::string::npos);
  Writer w;
  auto opened = w.open("/nonexistent-dir/x.pgstall", {});
  EXPECT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("cannot create"), std::string::npos) << opened.error().message;
}

// A recorder killed mid-write: every cut of the file reads up to its last
// whole record, flagged truncated, never as damage. A cut inside the file
// header is named as such, with how much of it is there.
TEST(Record, EveryTruncationKeepsTheWholeRecords) {
  const auto f = sample_file();
  std::vector<size_t> ends;  // where each record ends
  for (const auto& r : parse(f).records) ends.push_back(r.offset);
  ends.push_back(f.size());
  for (size_t cut = 0; cut < f.size(); ++cut) {
    auto c = parse(std::string_view(f).substr(0, cut));
    EXPECT_EQ(c.damaged, 0u) << "cut " << cut << ": " << describe(c)[0];
    if (cut == 0) {
      EXPECT_EQ(c.error, "is empty: no header (0 of 16 bytes)");
      continue;
    }
    if (cut < kHeaderSize) {
      EXPECT_NE(c.error.find(fmt::format("the header is incomplete ({} of 16 bytes)", cut)), std::string::npos)
          << "cut " << cut << ": " << c.error;
      EXPECT_TRUE(c.records.empty());
      continue;
    }
    ASSERT_TRUE(c.error.empty()) << "cut " << cut << ": " << c.error;
    size_t whole = 0;
    for (size_t i = 1; i < ends.size(); ++i)
      if (ends[i] <= cut) whole = i;
    EXPECT_EQ(c.records.size(), whole) << "cut " << cut;
    const bool inside = cut != kHeaderSize && std::find(ends.begin(), ends.end(), cut) == ends.end();
    EXPECT_EQ(c.truncated, inside) << "cut " << cut;
    if (inside) {
      EXPECT_EQ(c.tail_offset, ends[whole]) << "cut " << cut;
      EXPECT_EQ(c.tail_have, cut - ends[whole]) << "cut " << cut;
    }
  }
}

TEST(Record, ATruncatedTailIsNamedAsTheRecorderStoppingMidRecord) {
  const auto f = sample_file();
  const auto good = parse(f);
  const uint64_t end_at = good.records[3].offset;  // the End record
  auto c = parse(std::string_view(f).substr(0, end_at + 14));
  ASSERT_TRUE(c.truncated);
  EXPECT_EQ(c.damaged, 0u);
  EXPECT_EQ(c.records.size(), 3u);
  const auto lines = describe(c);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], fmt::format("the file ends inside the record at offset {} (14 of {} bytes): the recorder "
                                  "stopped mid-record (killed, or the disk filled) or the copy is cut short; "
                                  "everything before it was read",
                                  end_at, f.size() - end_at));
  EXPECT_EQ(describe(parse(std::string_view(f).substr(0, end_at + 5)))[0].find("(5 of at least 12 bytes)") !=
                std::string::npos,
            true);
}

// Any byte flipped after the header is caught by a checksum or a length
// check, with its offset; no damaged record is returned, and every record
// returned is one that was written, where it was written.
TEST(Record, EveryFlippedByteIsNamedNotSwallowed) {
  const auto f = sample_file();
  const auto good = parse(f);
  std::map<uint64_t, nlohmann::json> written;
  for (const auto& r : good.records) written[r.offset] = r.body;
  for (size_t i = kHeaderSize; i < f.size(); ++i) {
    std::string bad = f;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    auto c = parse(bad);
    ASSERT_TRUE(c.damaged || c.truncated) << "flip at " << i << " went unnoticed";
    for (const auto& r : c.records) {
      auto it = written.find(r.offset);
      ASSERT_NE(it, written.end()) << "flip at " << i << ": a record at " << r.offset << " that was never written";
      EXPECT_EQ(r.body, it->second) << "flip at " << i;
      auto next = std::next(it);
      const uint64_t end = next == written.end() ? f.size() : next->first;
      EXPECT_FALSE(r.offset <= i && i < end) << "the damaged record was returned (flip at " << i << ")";
    }
  }
}

// A byte flipped in a middle record's payload: that record is skipped, said
// so with its offset, and the records after it are read.
TEST(Record, AFlippedByteInAMiddleRecordIsSkippedAndReadingGoesOn) {
  const auto f = sample_file();
  const auto good = parse(f);
  const uint64_t event_at = good.records[1].offset, stacks_at = good.records[2].offset;
  std::string bad = f;
  bad[event_at + kRecordHeaderSize + 3] ^= 0x01;
  auto c = parse(bad);
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_FALSE(c.truncated);
  ASSERT_EQ(c.damaged, 1u);
  ASSERT_EQ(c.records.size(), 3u);
  EXPECT_EQ(c.records[1].type, Type::Stacks);
  EXPECT_EQ(c.records[2].type, Type::End);
  EXPECT_EQ(c.records_after_damage, 2u);
  const auto lines = describe(c);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], fmt::format("corrupt record at offset {} (checksum mismatch): skipped {} bytes to the next "
                                  "whole record, and read on",
                                  event_at, stacks_at - event_at));
  EXPECT_EQ(lines[1], fmt::format("{} bytes skipped as corrupt in all; 2 whole records after the first damage were "
                                  "read",
                                  stacks_at - event_at));

  // Its length hit instead (the checksum does not cover it): the next whole
  // record is found by scanning, not taken for a cut tail.
  std::string len_hit = f;
  len_hit[event_at + 2] ^= 0x10;  // +1 MiB: past the end of the file
  auto l = parse(len_hit);
  EXPECT_FALSE(l.truncated);
  ASSERT_EQ(l.damaged, 1u);
  EXPECT_EQ(l.damage[0].offset, event_at);
  EXPECT_NE(l.damage[0].why.find("runs past the end of the file"), std::string::npos) << l.damage[0].why;
  ASSERT_EQ(l.records.size(), 3u);
  EXPECT_EQ(l.records[1].offset, stacks_at);

  // The last record damaged: nothing after it, said so.
  std::string last = f;
  last[good.records[3].offset + kRecordHeaderSize] ^= 0x01;
  auto e = parse(last);
  ASSERT_EQ(e.damaged, 1u);
  EXPECT_NE(describe(e)[0].find("no whole record follows it"), std::string::npos) << describe(e)[0];
}

TEST(Record, NotARecordingAndOtherVersionsAreRefused) {
  EXPECT_NE(parse("hello, this is not it").error.find("not a pgstall recording"), std::string::npos);
  EXPECT_NE(parse("x").error.find("not a pgstall recording"), std::string::npos);
  auto h = header();
  h[8] = 9;
  EXPECT_NE(parse(h).error.find("version 9"), std::string::npos);
  // Killed before the header was out: said so, not "holds no record".
  EXPECT_NE(parse(header().substr(0, 5)).error.find("the header is incomplete (5 of 16 bytes)"), std::string::npos);
  auto only_header = load(parse(header()));
  EXPECT_EQ(only_header.error, "the recording holds no record (only its header)");
}

TEST(Record, UnknownTypesAreSkippedAndCounted) {
  std::string f = header() + encode(Type::Meta, {{"a", 1}}) + encode(static_cast<Type>(99), {{"future", true}}) +
                  encode(Type::End, nlohmann::json::object());
  auto c = parse(f);
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.unknown_types, 1u);
}

TEST(Record, DeeplyNestedPayloadIsRefusedNotRecursedInto) {
  std::string deep(200000, '\x81');  // CBOR: array of one element, 200000 deep
  deep += '\x01';
  nlohmann::json out;
  EXPECT_FALSE(decode_payload(deep, out));
  std::string ok = "\xa1\x61k\x81\x01";  // {"k": [1]}
  EXPECT_TRUE(decode_payload(ok, out));
  EXPECT_EQ(out["k"][0], 1);
}

// Random garbage after a valid header: reader stops cleanly every time.
TEST(Record, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string f = header();
    const size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(rng()));
    auto c = parse(f);
    EXPECT_TRUE(c.records.empty()) << "garbage read as a record, round " << round;
    EXPECT_TRUE(n == 0 || c.damaged || c.truncated) << "garbage went unnoticed, round " << round;
  }
}

namespace {

// A recording of stacks as the recorder writes them, loaded for one pid or
// every one.
Recording stacks_recording(int pid) {
  const nlohmann::json entries = {
      {{"kind", "offcpu"}, {"class", "Lock"}, {"pid", 4242}, {"tgid", 4242}, {"backend_type", "client backend"},
       {"weight", 300}, {"frames", {"main", "ProcSleep"}}},
      {{"kind", "offcpu"}, {"class", "IO"}, {"pid", 4243}, {"tgid", 4243}, {"weight", 50},
       {"frames", {"main", "pread"}}},
      {{"kind", "oncpu"}, {"class", "cpu"}, {"pid", 4242}, {"tgid", 4242}, {"weight", 7}, {"frames", {"main"}}},
  };
  std::string f = header() + encode(Type::Meta, {{"pgstall", "t"}});
  f += encode(Type::Stacks, {{"ts", 1}, {"entries", entries}});
  f += encode(Type::Stacks, {{"ts", 2}, {"entries", {entries[0]}}});  // the same stack again: summed
  return load(parse(f), pid);
}

std::string temp_dir() {
  char p[] = "/tmp/pgstall-record-test-XXXXXX";
  return mkdtemp(p);
}

}  // namespace

TEST(Record, SelectStacksByKindAndPid) {
  const auto all = stacks_recording(0);
  auto lock = select_stacks(all, "lock");
  ASSERT_TRUE(lock) << lock.error().message;
  ASSERT_EQ(lock->size(), 1u);  // the two equal stacks merged
  EXPECT_EQ((*lock)[0].weight, 600u);
  EXPECT_EQ((*lock)[0].frames, (std::vector<std::string>{"client backend", "main", "ProcSleep"}));

  const auto mine = stacks_recording(4243);
  auto off = select_stacks(mine, "offcpu");
  ASSERT_TRUE(off) << off.error().message;
  ASSERT_EQ(off->size(), 1u);
  EXPECT_EQ((*off)[0].frames.front(), "postgres 4243");
  EXPECT_EQ((*off)[0].weight, 50u);

  auto oncpu = select_stacks(all, "oncpu");
  ASSERT_TRUE(oncpu) << oncpu.error().message;
  EXPECT_EQ(oncpu->size(), 1u);
  EXPECT_TRUE(select_stacks(mine, "oncpu")->empty());

  auto bad = select_stacks(all, "disk");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "unknown kind 'disk': offcpu, oncpu, io or lock");
}

// Readers take regular files only: a directory, a FIFO or a device is
// refused at once, by what it is, before a byte is read (a FIFO with no
// writer would block open(2); /dev/zero never ends).
TEST(Record, NonRegularFilesAreRefusedByWhatTheyAre) {
  const std::string dir = temp_dir();
  EXPECT_EQ(Reader::open_file(dir).status().error, "is a directory");
  EXPECT_EQ(load_file(dir).error, "is a directory");
  EXPECT_EQ(Reader::open_file("/dev/zero").status().error.rfind("is a character device, not a regular file", 0), 0u)
      << Reader::open_file("/dev/zero").status().error;

  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto opened = std::async(std::launch::async, [&] { return Reader::open_file(fifo).status().error; });
  if (opened.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "opening a FIFO with no writer blocked";
    int w = open(fifo.c_str(), O_WRONLY);  // let the reader go
    opened.wait();
    close(w);
  } else {
    EXPECT_EQ(opened.get().rfind("is a FIFO (named pipe), not a regular file", 0), 0u);
  }
  unlink(fifo.c_str());

  const std::string empty = dir + "/empty";
  std::ofstream(empty).close();
  EXPECT_EQ(Reader::open_file(empty).status().error, "is empty: no header (0 of 16 bytes)");
  const std::string cut = dir + "/cut";
  std::ofstream(cut, std::ios::binary) << header().substr(0, 11);
  EXPECT_NE(load_file(cut).error.find("the header is incomplete (11 of 16 bytes)"), std::string::npos)
      << load_file(cut).error;
  unlink(empty.c_str());
  unlink(cut.c_str());
  rmdir(dir.c_str());
}

// The header is checked before anything else is read: a large file that is
// not a recording is refused after 16 bytes, not read whole.
TEST(Record, ABigFileThatIsNotARecordingIsRefusedAtItsHeader) {
  const std::string path = temp_path();
  {
    std::ofstream f(path, std::ios::binary);
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 64; ++i) f << chunk;
  }
  auto reader = Reader::open_file(path);
  EXPECT_EQ(reader.status().error, "not a pgstall recording (bad magic)");
  Record r;
  EXPECT_FALSE(reader.next(r));
  unlink(path.c_str());
}

// Many records, few distinct stacks: what is kept is one sum per stack,
// whatever the length of the recording.
TEST(Record, LoadingSumsStacksAndCountsSnapshotsAsItGoes) {
  const std::string path = temp_path();
  {
    Writer w;
    ASSERT_TRUE(w.open(path, {{"pgstall", "t"}}));
    for (int i = 0; i < 5000; ++i) {
      ASSERT_TRUE(w.write(Type::Snapshot, {{"ts", 1000 + i}, {"processes", {{{"pid", 1}, {"state", "S"}}}}}));
      ASSERT_TRUE(w.write(Type::Stacks, {{"ts", 1000 + i},
                                         {"entries",
                                          {{{"kind", "offcpu"}, {"class", "IO"}, {"pid", 7 + i % 3}, {"tgid", 7 + i % 3},
                                            {"backend_type", "checkpointer"}, {"weight", 10},
                                            {"frames", {"main", i % 2 ? "pwrite" : "fsync"}}}}}}));
    }
    ASSERT_TRUE(w.close({{"reason", "test"}}));
  }
  const auto r = load_file(path);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.snapshots, 5000u);
  ASSERT_EQ(r.stacks.size(), 2u);  // fsync and pwrite, from every pid
  for (const auto& [key, s] : r.stacks) EXPECT_EQ(s.weight, 25000u);
  EXPECT_EQ(r.first_ts, 1000u);
  EXPECT_EQ(r.last_ts, 5999u);
  EXPECT_TRUE(r.ended);
  unlink(path.c_str());
}

namespace {

// Two backends: 4242 stalled since before the recording began (a lower
// bound), recorded with --queries; 4243 blocked by it.
std::string stalls_file() {
  std::string f = header() + encode(Type::Meta, {{"pgstall", "t"}, {"host", "db1"}});
  f += encode(Type::Process, {{"ts", 1'000'000'000}, {"pid", 4242}, {"title", "postgres: alice shop [local] UPDATE"}});
  f += encode(Type::Process, {{"ts", 1'000'000'000}, {"pid", 4243}, {"title", "postgres: bob shop [local] SELECT"}});
  f += encode(Type::Event,
              {{"type", "stall"}, {"kind", "io-wait"}, {"pid", 4242}, {"backend_type", "client backend"},
               {"since", "2024-05-01T10:00:00.000Z"}, {"duration_s", 8.0}, {"lower_bound", true},
               {"summary", "in fsync"}, {"ts", 2'000'000'000},
               {"detail",
                {{"user", "alice"}, {"database", "shop"}, {"title", "postgres: alice shop [local] UPDATE"},
                 {"query", {{"text", "UPDATE accounts\n   SET balance = 0"}, {"running_s", 9.4}, {"truncated", false}}}}}});
  f += encode(Type::Event,
              {{"type", "stall"}, {"kind", "lock-sleep"}, {"pid", 4243}, {"backend_type", "client backend"},
               {"since", "2024-05-01T10:00:05.000Z"}, {"duration_s", 2.0}, {"lower_bound", false},
               {"summary", "waits for a row lock"}, {"ts", 3'000'000'000},
               {"detail", {{"user", "bob"}, {"database", "shop"}, {"blocked_by", {{"holders", {{{"pid", 4242}}}}}}}}});
  f += encode(Type::Stacks, {{"ts", 3'000'000'000},
                             {"entries",
                              {{{"kind", "offcpu"}, {"class", "IO"}, {"pid", 4242}, {"tgid", 4242}, {"weight", 900},
                                {"backend_type", "client backend"}, {"frames", {"main", "fsync"}}},
                               {{"kind", "offcpu"}, {"class", "Lock"}, {"pid", 4243}, {"tgid", 4243}, {"weight", 500},
                                {"backend_type", "client backend"}, {"frames", {"main", "ProcSleep"}}}}}});
  f += encode(Type::Event, {{"type", "stall_end"}, {"kind", "io-wait"}, {"pid", 4242}, {"duration_s", 12.5},
                            {"woken_by", nullptr}, {"ts", 6'000'000'000}});
  f += encode(Type::End, {{"reason", "duration"}, {"ts", 7'000'000'000}});
  return f;
}

}  // namespace

// watch printed "≥8.0s" for a stall that began before tracing: the report
// says the same, in text and JSON, through to its end.
TEST(Report, ALowerBoundIsCarried) {
  const auto r = load(parse(stalls_file()));
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto j = report_json(r, 5);
  ASSERT_EQ(j["stalls"].size(), 2u);
  EXPECT_EQ(j["stalls"][0]["lower_bound"], true);
  EXPECT_EQ(j["stalls"][0]["duration_s"], 12.5);
  EXPECT_EQ(j["stalls"][1]["lower_bound"], false);
  EXPECT_EQ(j["stalls_by_kind"]["io-wait"]["lower_bound"], true);
  const auto text = report_text(r, 5);
  EXPECT_NE(text.find("io-wait ≥12.5s — in fsync [ended]"), std::string::npos) << text;
  EXPECT_NE(text.find("longest ≥12.5s"), std::string::npos) << text;
  // Not a lower bound: from its start to the end of the recording, while still in flight.
  EXPECT_NE(text.find("lock-sleep 6.0s — waits for a row lock [still in flight at the end]"), std::string::npos) << text;
}

TEST(Report, QueriesAndUserAtDatabaseAreCarried) {
  const auto r = load(parse(stalls_file()));
  const auto j = report_json(r, 5);
  EXPECT_EQ(j["stalls"][0]["user"], "alice");
  EXPECT_EQ(j["stalls"][0]["database"], "shop");
  EXPECT_EQ(j["stalls"][0]["query"]["text"], "UPDATE accounts\n   SET balance = 0");
  EXPECT_FALSE(j["stalls"][1].contains("query"));  // none recorded for it
  const auto text = report_text(r, 5);
  EXPECT_NE(text.find("  pid 4242 client backend alice@shop\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      query (9s): UPDATE accounts SET balance = 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  pid 4243 client backend bob@shop\n"), std::string::npos) << text;
}

// report --pid: only that backend's stalls, timeline and stacks; the
// blocking that names it stays.
TEST(Report, PidKeepsOnlyThatBackend) {
  const auto all = report_json(load(parse(stalls_file())), 5);
  EXPECT_EQ(all["stalls"].size(), 2u);
  EXPECT_EQ(all["processes"], 2u);
  EXPECT_EQ(all["offcpu_by_class"].size(), 2u);

  const auto r = load(parse(stalls_file()), 4243);
  const auto j = report_json(r, 5);
  EXPECT_EQ(j["pid"], 4243);
  ASSERT_EQ(j["stalls"].size(), 1u);
  EXPECT_EQ(j["stalls"][0]["pid"], 4243);
  EXPECT_EQ(j["timelines"].size(), 1u);
  EXPECT_TRUE(j["timelines"].contains("4243"));
  EXPECT_EQ(j["processes"], 1u);
  EXPECT_EQ(j["offcpu_by_class"].size(), 1u);
  EXPECT_TRUE(j["offcpu_by_class"].contains("Lock"));
  ASSERT_EQ(j["top_offcpu"].size(), 1u);
  EXPECT_EQ(j["top_offcpu"][0]["short"], "ProcSleep ← main");
  const auto text = report_text(r, 5);
  EXPECT_EQ(text.find("pid 4242 client backend"), std::string::npos) << text;
  EXPECT_NE(text.find("Only pid 4243"), std::string::npos) << text;

  // The holder's: its own stall only, not the one it caused.
  const auto h = report_json(load(parse(stalls_file()), 4242), 5);
  ASSERT_EQ(h["stalls"].size(), 1u);
  EXPECT_EQ(h["stalls"][0]["kind"], "io-wait");
}

// A sleep older than the recording: its stack's weight, its class and the
// top stack it is part of are lower bounds, in JSON and as "≥" in text; the
// other classes are not.
TEST(Report, SeededSleepTimeIsALowerBound) {
  const nlohmann::json entries = {
      {{"kind", "offcpu"}, {"class", "Lock"}, {"pid", 4242}, {"tgid", 4242}, {"backend_type", "client backend"},
       {"weight", 8'000'000'000}, {"lower_bound", true}, {"frames", {"main", "ProcSleep"}}},
      {{"kind", "offcpu"}, {"class", "Lock"}, {"pid", 4242}, {"tgid", 4242}, {"backend_type", "client backend"},
       {"weight", 1'000'000'000}, {"frames", {"main", "ProcSleep"}}},
      {{"kind", "offcpu"}, {"class", "IO"}, {"pid", 4243}, {"tgid", 4243}, {"weight", 500'000'000},
       {"frames", {"main", "pread"}}},
  };
  std::string f = header() + encode(Type::Meta, {{"pgstall", "t"}});
  f += encode(Type::Stacks, {{"ts", 1}, {"entries", entries}});
  const auto r = load(parse(f));
  const auto j = report_json(r, 5);
  EXPECT_EQ(j["offcpu_by_class"]["Lock"]["lower_bound"], true);
  EXPECT_EQ(j["offcpu_by_class"]["Lock"]["seconds"], 9.0);  // both sleeps, one stack
  EXPECT_EQ(j["offcpu_by_class"]["IO"]["lower_bound"], false);
  ASSERT_EQ(j["top_offcpu"].size(), 2u);
  EXPECT_EQ(j["top_offcpu"][0]["lower_bound"], true);
  EXPECT_EQ(j["top_offcpu"][1]["lower_bound"], false);
  const auto text = report_text(r, 5);
  EXPECT_NE(text.find("  Lock         ≥9.00s"), std::string::npos) << text;
  EXPECT_NE(text.find("  IO            0.50s"), std::string::npos) << text;
}

// A damaged file reports what it could read and says what was skipped,
// instead of "the recorder was killed".
TEST(Report, DamageIsNamedNotBlamedOnAKill) {
  auto f = stalls_file();
  const auto good = parse(f);
  f[good.records[4].offset + kRecordHeaderSize + 2] ^= 0x40;  // the lock-sleep stall event
  const auto r = load(parse(f));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.ended);  // the End record after the damage was read
  EXPECT_EQ(r.stalls.size(), 1u);
  const auto text = report_text(r, 5);
  EXPECT_NE(text.find(fmt::format("! corrupt record at offset {} (checksum mismatch)", good.records[4].offset)),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("killed"), std::string::npos) << text;
  EXPECT_EQ(report_json(r, 5)["corrupt_records"], 1u);

  auto cut = load(parse(std::string_view(stalls_file()).substr(0, good.records.back().offset + 3)));
  EXPECT_NE(report_text(cut, 5).find("no end record: the recorder stopped mid-record (killed, or the disk filled)"),
            std::string::npos);
}
