// The ELF reader on real files: this test binary (unstripped), the stripped
// test target and its build-id debug file, checked against binutils'
// readelf; errors for a missing file and a file that is not ELF. No root.
#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../integration/harness.h"
#include "symbols/elf.h"

using pgstall::symbols::ElfFile;
using pgstall::symbols::ElfNote;
using pgstall::symbols::ElfSymbol;
using pgstall::symbols::SymbolTables;
using pgstall::symbols::type_bit;
using namespace pgstall::itest;

extern "C" __attribute__((noinline)) int pgstall_elf_probe_fn(int x) {
  asm volatile("" ::: "memory");
  return x * 5 + 2;
}

namespace {

std::string self_exe() {
  char exe[4096] = {};
  EXPECT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  return exe;
}

std::string readelf_build_id(const std::string& path) {
  auto r = run("readelf -n " + path + " | awk '/Build ID/ {print $3}'");
  return r.out.empty() ? r.out : r.out.substr(0, r.out.find('\n'));
}

std::set<std::string> names(const ElfFile& f, SymbolTables t, unsigned mask) {
  std::set<std::string> out;
  f.for_each_symbol(t, mask, [&out](const ElfSymbol& s) {
    out.insert(std::string(s.name));
    return true;
  });
  return out;
}

// A temporary file holding `bytes`, removed at the end of the scope.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& bytes) {
    char p[] = "/tmp/pgstall-elf-test-XXXXXX";
    const int fd = mkstemp(p);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    close(fd);
    path = p;
  }
  ~TempFile() { unlink(path.c_str()); }
};

}  // namespace

TEST(ElfFile, LoadSegmentsBuildIdAndSymbolsOfThisBinary) {
  const std::string exe = self_exe();
  auto f = ElfFile::open(exe);
  ASSERT_TRUE(f) << f.error().message;

  auto loads = f->load_segments();
  ASSERT_TRUE(loads) << loads.error().message;
  const auto first = run("readelf -lW " + exe + " | awk '$1 == \"LOAD\" {print $2, $3, $5, $6}'");
  std::istringstream in(first.out);
  std::vector<std::vector<uint64_t>> expected;
  std::string off, vaddr, filesz, memsz;
  while (in >> off >> vaddr >> filesz >> memsz)
    expected.push_back({std::stoull(vaddr, nullptr, 16), std::stoull(off, nullptr, 16), std::stoull(filesz, nullptr, 16),
                        std::stoull(memsz, nullptr, 16)});
  ASSERT_EQ(loads->size(), expected.size()) << first.out;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*loads)[i].vaddr, expected[i][0]) << i;
    EXPECT_EQ((*loads)[i].offset, expected[i][1]) << i;
    EXPECT_EQ((*loads)[i].filesz, expected[i][2]) << i;
    EXPECT_EQ((*loads)[i].memsz, expected[i][3]) << i;
  }

  const std::string id = f->build_id();
  EXPECT_EQ(id.size(), 40u) << id;
  EXPECT_EQ(id, readelf_build_id(exe));
  EXPECT_EQ(f->address_size(), 8u);
  auto eh = f->header();
  ASSERT_TRUE(eh) << eh.error().message;
  EXPECT_EQ(eh->e_ident[EI_CLASS], ELFCLASS64);

  // The probe function: in .symtab only (not exported), as a function, with
  // its size and address.
  EXPECT_TRUE(f->has_symbols());
  bool seen = false;
  f->for_each_symbol(SymbolTables::Both, type_bit(STT_FUNC), [&](const ElfSymbol& s) {
    if (s.name != "pgstall_elf_probe_fn") return true;
    seen = true;
    EXPECT_EQ(s.type, STT_FUNC);
    EXPECT_GT(s.size, 0u);
    return false;
  });
  EXPECT_TRUE(seen);
  EXPECT_TRUE(names(*f, SymbolTables::Symtab, type_bit(STT_FUNC)).count("pgstall_elf_probe_fn"));
  EXPECT_FALSE(names(*f, SymbolTables::Dynsym, type_bit(STT_FUNC)).count("pgstall_elf_probe_fn"));
  EXPECT_FALSE(names(*f, SymbolTables::Both, type_bit(STT_OBJECT)).count("pgstall_elf_probe_fn"));

  // Stopping: fn returning false ends the walk at once.
  int calls = 0;
  f->for_each_symbol(SymbolTables::Both, type_bit(STT_FUNC), [&calls](const ElfSymbol&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);

  // The build-id note read as a note of its section.
  std::vector<ElfNote> notes;
  f->for_each_note(".note.gnu.build-id", [&notes](const ElfNote& n) {
    notes.push_back(n);
    return true;
  });
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].type, static_cast<uint32_t>(NT_GNU_BUILD_ID));
  EXPECT_EQ(notes[0].name, "GNU");
  EXPECT_EQ(notes[0].desc.size(), 20u);
  EXPECT_TRUE(f->section_address(".text"));
  EXPECT_FALSE(f->section_address(".no-such-section"));
}

// The stripped target keeps only its exported function, in .dynsym; its
// debug file (found by build-id) has the static one in .symtab.
TEST(ElfFile, StrippedBinaryAndItsDebugFile) {
  auto f = ElfFile::open(PGSTALL_TEST_TARGET);
  ASSERT_TRUE(f) << f.error().message;
  const std::string id = f->build_id();
  ASSERT_EQ(id.size(), 40u) << id;
  EXPECT_EQ(id, readelf_build_id(PGSTALL_TEST_TARGET));
  const auto dynsym = names(*f, SymbolTables::Both, type_bit(STT_FUNC));
  EXPECT_TRUE(dynsym.count("pgstall_exported_entry"));
  EXPECT_FALSE(dynsym.count("pgstall_hidden_work"));
  EXPECT_TRUE(names(*f, SymbolTables::Symtab, ~0u).empty());  // no .symtab left

  auto d = ElfFile::open(std::string(PGSTALL_DEBUG_ROOT) + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) +
                         ".debug");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->build_id(), id);
  EXPECT_TRUE(names(*d, SymbolTables::Symtab, type_bit(STT_FUNC)).count("pgstall_hidden_work"));
}

// A file whose section headers were cut off (as sstrip does): the build-id
// still comes from its PT_NOTE segment.
TEST(ElfFile, BuildIdFromTheNoteSegmentWithoutSectionHeaders) {
  std::ifstream in(PGSTALL_TEST_TARGET, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), sizeof(Elf64_Ehdr));
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  std::memcpy(bytes.data(), &eh, sizeof eh);
  TempFile cut(bytes);
  auto f = ElfFile::open(cut.path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE(f->has_symbols());
  EXPECT_EQ(f->build_id(), readelf_build_id(PGSTALL_TEST_TARGET));
}

TEST(ElfFile, Errors) {
  auto missing = ElfFile::open("/nonexistent/pgstall-elf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/pgstall-elf: No such file or directory");

  TempFile text("not an ELF file, just text\n");
  auto f = ElfFile::open(text.path);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message, "not an ELF file");

  auto from_fd = ElfFile::open(pgstall::UniqueFd(open(text.path.c_str(), O_RDONLY | O_CLOEXEC)));
  ASSERT_FALSE(from_fd);
  EXPECT_EQ(from_fd.error().message, "not an ELF file");

  auto bad_fd = ElfFile::open(pgstall::UniqueFd());
  ASSERT_FALSE(bad_fd);
  EXPECT_EQ(bad_fd.error().message.rfind("libelf: ", 0), 0u) << bad_fd.error().message;
}
