// The recording file: round trip through the writer, and the reader on
// truncated and damaged files (what was whole is kept, the damage is named,
// nothing crashes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

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
  auto c = read_file(path);
  EXPECT_TRUE(c.error.empty()) << c.error;
  ASSERT_EQ(c.records.size(), 102u);
  EXPECT_EQ(c.records[0].body["pgstall"], "test");
  EXPECT_EQ(c.records[100].body["i"], 99);
  unlink(path.c_str());
  EXPECT_FALSE(read_file(path).error.empty());
  Writer w;
  auto opened = w.open("/nonexistent-dir/x.pgstall", {});
  EXPECT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("cannot create"), std::string::npos) << opened.error().message;
}

// A recorder killed mid-write: every cut of the file reads up to its last
// whole record, flagged truncated, never an error.
TEST(Record, EveryTruncationKeepsTheWholeRecords) {
  const auto f = sample_file();
  std::vector<size_t> ends;  // where each record ends
  for (const auto& r : parse(f).records) ends.push_back(r.offset);
  ends.push_back(f.size());
  for (size_t cut = 0; cut < f.size(); ++cut) {
    auto c = parse(std::string_view(f).substr(0, cut));
    ASSERT_TRUE(c.error.empty()) << "cut " << cut << ": " << c.error;
    size_t whole = 0;
    for (size_t i = 1; i < ends.size(); ++i)
      if (ends[i] <= cut) whole = i;
    EXPECT_EQ(c.records.size(), whole) << "cut " << cut;
    EXPECT_EQ(c.truncated, cut != kHeaderSize && std::find(ends.begin(), ends.end(), cut) == ends.end())
        << "cut " << cut;
  }
}

// Any byte flipped after the header is caught by a checksum or a length
// check, with its offset; what came before is kept.
TEST(Record, EveryFlippedByteIsNamedNotSwallowed) {
  const auto f = sample_file();
  const auto good = parse(f);
  for (size_t i = kHeaderSize; i < f.size(); ++i) {
    std::string bad = f;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    auto c = parse(bad);
    ASSERT_TRUE(!c.error.empty() || c.truncated) << "flip at " << i << " went unnoticed";
    for (size_t k = 0; k < c.records.size(); ++k) {
      ASSERT_LT(k, good.records.size());
      EXPECT_EQ(c.records[k].body, good.records[k].body) << "flip at " << i;
      EXPECT_LT(c.records[k].offset, i + 1) << "a damaged record was returned (flip at " << i << ")";
    }
  }
}

TEST(Record, NotARecordingAndOtherVersionsAreRefused) {
  EXPECT_NE(parse("hello, this is not it").error.find("not a pgstall recording"), std::string::npos);
  EXPECT_NE(parse("x").error.find("not a pgstall recording"), std::string::npos);
  auto h = header();
  h[8] = 9;
  EXPECT_NE(parse(h).error.find("version 9"), std::string::npos);
  EXPECT_TRUE(parse(header().substr(0, 5)).truncated);  // killed before the header was out
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
    EXPECT_TRUE(n == 0 || !c.error.empty() || c.truncated) << "garbage went unnoticed, round " << round;
  }
}

TEST(Record, SelectStacksByKindAndPid) {
  Recording r;
  r.stacks = {
      {{"kind", "offcpu"}, {"class", "Lock"}, {"pid", 4242}, {"backend_type", "client backend"},
       {"weight", 300}, {"frames", {"main", "ProcSleep"}}},
      {{"kind", "offcpu"}, {"class", "Lock"}, {"pid", 4242}, {"backend_type", "client backend"},
       {"weight", 200}, {"frames", {"main", "ProcSleep"}}},
      {{"kind", "offcpu"}, {"class", "IO"}, {"pid", 4243}, {"weight", 50}, {"frames", {"main", "pread"}}},
      {{"kind", "oncpu"}, {"class", "cpu"}, {"pid", 4242}, {"weight", 7}, {"frames", {"main"}}},
  };
  auto lock = select_stacks(r, "lock", 0);
  ASSERT_TRUE(lock) << lock.error().message;
  ASSERT_EQ(lock->size(), 1u);  // the two equal stacks merged
  EXPECT_EQ((*lock)[0].weight, 500u);
  EXPECT_EQ((*lock)[0].frames, (std::vector<std::string>{"client backend", "main", "ProcSleep"}));

  auto mine = select_stacks(r, "offcpu", 4243);
  ASSERT_TRUE(mine) << mine.error().message;
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].frames.front(), "postgres 4243");

  auto oncpu = select_stacks(r, "oncpu", 0);
  ASSERT_TRUE(oncpu) << oncpu.error().message;
  EXPECT_EQ(oncpu->size(), 1u);

  auto bad = select_stacks(r, "disk", 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "unknown kind 'disk': offcpu, oncpu, io or lock");
}
