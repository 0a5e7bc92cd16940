#include "symbols/elf.h"

#include <fcntl.h>
#include <libelf.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pgstall::symbols {
namespace {

Error libelf_error() {
  const char* m = elf_errmsg(-1);
  return fail(std::string("libelf: ") + (m ? m : "unknown error"));
}

bool libelf_ready() {
  // elf_version must be called once before any other libelf call.
  static const bool ok = elf_version(EV_CURRENT) != EV_NONE;
  return ok;
}

// Walks the notes of one data block; fn returns false to stop (then false).
bool walk_notes(Elf_Data* d, const std::function<bool(const ElfNote&)>& fn) {
  if (!d) return true;
  const char* base = static_cast<const char*>(d->d_buf);
  GElf_Nhdr nh;
  size_t off = 0, name_off = 0, desc_off = 0;
  while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
    std::string_view name(base + name_off, nh.n_namesz);
    if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
    if (!fn({nh.n_type, name, std::string_view(base + desc_off, nh.n_descsz)})) return false;
  }
  return true;
}

std::string hex_bytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

std::optional<std::string> build_id_note(const ElfNote& n) {
  if (n.type == NT_GNU_BUILD_ID && n.name == "GNU") return hex_bytes(n.desc);
  return std::nullopt;
}

}  // namespace

Result<ElfFile> ElfFile::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(path + ": " + std::strerror(errno));
  return open(std::move(fd));
}

Result<ElfFile> ElfFile::open(UniqueFd fd) {
  if (!libelf_ready()) return libelf_error();
  Elf* e = elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr);
  if (!e) return libelf_error();
  ElfFile f(std::move(fd), e);
  if (elf_kind(e) != ELF_K_ELF) return fail("not an ELF file");
  return f;
}

ElfFile::ElfFile(ElfFile&& o) noexcept : fd_(std::move(o.fd_)), elf_(std::exchange(o.elf_, nullptr)) {}

ElfFile& ElfFile::operator=(ElfFile&& o) noexcept {
  if (this != &o) {
    if (elf_) elf_end(elf_);
    elf_ = std::exchange(o.elf_, nullptr);
    fd_ = std::move(o.fd_);
  }
  return *this;
}

ElfFile::~ElfFile() {
  if (elf_) elf_end(elf_);
}

Result<GElf_Ehdr> ElfFile::header() const {
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf_, &eh)) return libelf_error();
  return eh;
}

unsigned ElfFile::address_size() const { return gelf_getclass(elf_) == ELFCLASS32 ? 4 : 8; }

Result<std::vector<LoadSegment>> ElfFile::load_segments() const {
  size_t phnum = 0;
  if (elf_getphdrnum(elf_, &phnum) != 0) return libelf_error();
  std::vector<LoadSegment> out;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf_, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
      out.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
  }
  return out;
}

std::string ElfFile::build_id() const {
  std::string id;
  auto find = [&id](const ElfNote& n) {
    if (auto hex = build_id_note(n)) id = std::move(*hex);
    return id.empty();
  };
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn && id.empty(); scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE) walk_notes(elf_getdata(scn, nullptr), find);
  }
  size_t phnum = 0;
  if (!id.empty() || elf_getphdrnum(elf_, &phnum) != 0) return id;
  for (size_t i = 0; i < phnum && id.empty(); ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf_, static_cast<int>(i), &ph) || ph.p_type != PT_NOTE) continue;
    // Notes in an 8-aligned segment use 8-byte padding (ELF_T_NHDR8).
    walk_notes(elf_getdata_rawchunk(elf_, static_cast<int64_t>(ph.p_offset), ph.p_filesz,
                                    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
               find);
  }
  return id;
}

bool ElfFile::has_symbols() const {
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB) && sh.sh_entsize) return true;
  }
  return false;
}

void ElfFile::for_each_symbol(SymbolTables tables, unsigned type_mask,
                              const std::function<bool(const ElfSymbol&)>& fn) const {
  const bool dynsym = tables != SymbolTables::Symtab, symtab = tables != SymbolTables::Dynsym;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize) continue;
    if (!(sh.sh_type == SHT_DYNSYM && dynsym) && !(sh.sh_type == SHT_SYMTAB && symtab)) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (!d) continue;
    const size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; ++i) {
      GElf_Sym s;
      if (!gelf_getsym(d, static_cast<int>(i), &s) || s.st_shndx == SHN_UNDEF) continue;
      const unsigned char type = GELF_ST_TYPE(s.st_info);
      if (!(type_mask & type_bit(type))) continue;
      const char* name = elf_strptr(elf_, sh.sh_link, s.st_name);
      if (name && !fn({name, s.st_value, s.st_size, type})) return;
    }
  }
}

void ElfFile::for_each_note(std::string_view section, const std::function<bool(const ElfNote&)>& fn) const {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf_, &shstrndx) != 0) return;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
    const char* name = elf_strptr(elf_, shstrndx, sh.sh_name);
    if (name && section == name && !walk_notes(elf_getdata(scn, nullptr), fn)) return;
  }
}

std::optional<uint64_t> ElfFile::section_address(std::string_view section) const {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf_, &shstrndx) != 0) return std::nullopt;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (const char* name = elf_strptr(elf_, shstrndx, sh.sh_name); name && section == name) return sh.sh_addr;
  }
  return std::nullopt;
}

}  // namespace pgstall::symbols
