// The symbolizer on live processes: this test binary (symbols with sizes in
// .symtab) and the cluster's postgres (Debian's, stripped to .dynsym): a
// named function by its name, anything outside every symbol as file+offset,
// anonymous memory as such. Needs the test cluster for the postgres part.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../integration/harness.h"
#include "symbols/symbolize.h"

using namespace pgstall::itest;

extern "C" __attribute__((noinline)) int pgstall_symbolize_probe_fn(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}

namespace {

// The first mapping of `path_suffix` in pid's maps: start and file offset.
std::pair<uint64_t, uint64_t> first_mapping(int pid, const std::string& path_suffix) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < path_suffix.size() ||
        line.compare(line.size() - path_suffix.size(), path_suffix.size(), path_suffix) != 0)
      continue;
    uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    std::istringstream f(line);
    std::string range, perms, off;
    f >> range >> perms >> off;
    return {start, std::stoull(off, nullptr, 16)};
  }
  return {0, 0};
}

}  // namespace

TEST(Symbolize, OwnFunctionsByNameTheRestAsFileOffset) {
  pgstall::symbols::Symbolizer sym;
  const auto fn = reinterpret_cast<uint64_t>(&pgstall_symbolize_probe_fn);
  char exe[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  const std::string self = exe;
  const std::string base = self.substr(self.rfind('/') + 1);
  auto [start, off] = first_mapping(getpid(), self);
  ASSERT_NE(start, 0u);
  ASSERT_EQ(off, 0u);
  void* heap = std::malloc(64);
  auto names = sym.symbolize(getpid(), {fn + 1, start, reinterpret_cast<uint64_t>(heap)});
  std::free(heap);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "pgstall_symbolize_probe_fn");
  EXPECT_EQ(names[1], base + "+0x0");  // the ELF header: inside no function
  EXPECT_EQ(names[2].rfind("[anon]+0x", 0), 0u) << names[2];
  EXPECT_EQ(sym.cached_files(), 1u);
  EXPECT_TRUE(sym.symbolize(999999, {fn}).empty());  // no such process
}

TEST(Symbolize, DebiansStrippedPostgres) {
  ASSERT_EQ(geteuid(), 0u) << "needs root: another user's /proc/PID/map_files";
  auto env = cluster_env(true);
  const int pm = postmaster_pid(env);
  ASSERT_GT(pm, 0) << "no test cluster";
  const std::string bin = env["PGSTALL_BINDIR"] + "/postgres";
  // PostgresMain's link-time address and size from .dynsym.
  auto r = run("nm -D -S --defined-only " + bin + " | awk '$4 == \"PostgresMain\" {print $1, $2}'");
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream f(r.out);
  std::string value_hex, size_hex;
  f >> value_hex >> size_hex;
  ASSERT_FALSE(value_hex.empty()) << "PostgresMain not in .dynsym of " << bin;
  const uint64_t value = std::stoull(value_hex, nullptr, 16), size = std::stoull(size_hex, nullptr, 16);
  auto [start, off] = first_mapping(pm, "/bin/postgres");
  ASSERT_NE(start, 0u);
  ASSERT_EQ(off, 0u);
  const uint64_t bias = start;  // PIE: first PT_LOAD at vaddr 0, offset 0
  pgstall::symbols::Symbolizer sym;
  auto names = sym.symbolize(pm, {bias + value + size / 2, bias + 0x40});
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "PostgresMain");
  EXPECT_EQ(names[1], "postgres+0x40");
}

// A binary built without frame pointers and stripped, its symbols in a
// build-id debug file (built by the test suite): the static function is
// file+offset until the debug root is given, then named; the exported one is
// named from .dynsym either way; the build-id is reported.
TEST(Symbolize, StrippedBinaryNamedFromItsBuildIdDebugFile) {
  FILE* p = popen(PGSTALL_TEST_TARGET " & echo $!", "r");
  ASSERT_NE(p, nullptr);
  // Its two addresses ("0x…") and, from the shell, its pid: in either order.
  uint64_t hidden = 0, exported = 0;
  int pid = 0;
  char tok[64];
  for (int i = 0; i < 3 && fscanf(p, "%63s", tok) == 1; ++i) {
    if (std::string(tok).rfind("0x", 0) == 0)
      (hidden ? exported : hidden) = std::stoull(tok, nullptr, 16);
    else
      pid = std::stoi(tok);
  }
  ASSERT_TRUE(hidden && exported && pid > 0) << "the test target printed nothing";
  struct Kill {
    int pid;
    ~Kill() { kill(pid, SIGKILL); }
  } killer{pid};
  const std::string base = std::string(PGSTALL_TEST_TARGET).substr(std::string(PGSTALL_TEST_TARGET).rfind('/') + 1);

  pgstall::symbols::Symbolizer plain;
  plain.set_debug_root("/nonexistent");
  auto names = plain.symbolize(pid, {hidden + 1, exported + 1});
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].rfind(base + "+0x", 0), 0u) << names[0];  // not in .dynsym: never a wrong name
  EXPECT_EQ(names[1], "pgstall_exported_entry");

  pgstall::symbols::Symbolizer with_debug;
  with_debug.set_debug_root(PGSTALL_DEBUG_ROOT);
  names = with_debug.symbolize(pid, {hidden + 1, exported + 1});
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "pgstall_hidden_work");
  EXPECT_EQ(names[1], "pgstall_exported_entry");
  auto ids = with_debug.build_ids();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.begin()->second.size(), 40u) << ids.begin()->second;  // SHA-1 build-id, hex
  pclose(p);
}
