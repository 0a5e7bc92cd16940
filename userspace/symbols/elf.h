#pragma once
// One ELF file open for reading with elfutils' libelf: what pgstall needs of
// executables and shared libraries — load segments, the GNU build-id,
// symbols, notes — and nothing else. Owns its fd and its Elf*.
#include <gelf.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace pgstall::symbols {

// A PT_LOAD program header.
struct LoadSegment {
  uint64_t vaddr = 0, offset = 0, filesz = 0, memsz = 0;
};

// A defined symbol (st_shndx != SHN_UNDEF). name lives as long as the file.
struct ElfSymbol {
  std::string_view name;
  uint64_t value = 0, size = 0;
  unsigned char type = STT_NOTYPE;  // STT_FUNC, STT_OBJECT, ...
};

// A note; name without its terminating NUL. Views live as long as the file.
struct ElfNote {
  uint32_t type = 0;
  std::string_view name;
  std::string_view desc;
};

enum class SymbolTables { Dynsym, Symtab, Both };

// Bit for a symbol type in for_each_symbol's mask: type_bit(STT_FUNC).
constexpr unsigned type_bit(unsigned char stt) { return 1u << stt; }

class ElfFile {
 public:
  // Errors: "libelf: <why>" when libelf cannot read it, "not an ELF file",
  // or, for a path, "<path>: <strerror>".
  static Result<ElfFile> open(const std::string& path);
  static Result<ElfFile> open(UniqueFd fd);

  ElfFile(ElfFile&& o) noexcept;
  ElfFile& operator=(ElfFile&& o) noexcept;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile();

  Result<GElf_Ehdr> header() const;
  unsigned address_size() const;  // 4 for ELFCLASS32, else 8
  // PT_LOAD headers, in file order.
  Result<std::vector<LoadSegment>> load_segments() const;
  // GNU build-id in lowercase hex, from the note sections, else (no section
  // has one) the PT_NOTE segments; "" when the file has none.
  std::string build_id() const;

  // Whether the file has a .dynsym or .symtab at all.
  bool has_symbols() const;
  // Defined symbols whose type is in type_mask, table by table in file
  // order. fn returns false to stop.
  void for_each_symbol(SymbolTables tables, unsigned type_mask,
                       const std::function<bool(const ElfSymbol&)>& fn) const;
  // Notes of every SHT_NOTE section of that name. fn returns false to stop.
  void for_each_note(std::string_view section, const std::function<bool(const ElfNote&)>& fn) const;
  // Address (sh_addr) of the first section of that name.
  std::optional<uint64_t> section_address(std::string_view section) const;

 private:
  ElfFile(UniqueFd fd, Elf* e) : fd_(std::move(fd)), elf_(e) {}

  UniqueFd fd_;
  Elf* elf_ = nullptr;
};

}  // namespace pgstall::symbols
