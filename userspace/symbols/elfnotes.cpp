#include "symbols/elfnotes.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <optional>

namespace pgstall::symbols {

namespace {

struct Note {
  std::string provider, name;
  uint64_t pc = 0, base = 0;
};

struct NotesOf {
  std::vector<Note> notes;
  std::optional<uint64_t> stapsdt_base;  // address of .stapsdt.base, when present
  std::vector<GElf_Phdr> loads;           // PT_LOAD headers
};

uint64_t read_addr(const char* p, size_t size) {
  if (size == 4) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
  }
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

// The SystemTap notes of one file (type 3 notes named "stapsdt": pc, base,
// semaphore, then provider\0 probe\0 arguments\0).
NotesOf read_notes(const std::string& path) {
  NotesOf out;
  if (elf_version(EV_CURRENT) == EV_NONE) return out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t shstrndx = 0, phnum = 0;
  if (elf && elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) out.loads.push_back(ph);
    }
  }
  if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    const size_t addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) continue;
      const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (!name) continue;
      if (strcmp(name, ".stapsdt.base") == 0) out.stapsdt_base = sh.sh_addr;
      if (sh.sh_type != SHT_NOTE || strcmp(name, ".note.stapsdt") != 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (!data) continue;
      GElf_Nhdr nh;
      size_t off = 0, name_off = 0, desc_off = 0;
      while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        if (nh.n_type != 3 || nh.n_namesz < 8 ||
            memcmp(static_cast<const char*>(data->d_buf) + name_off, "stapsdt", 8) != 0)
          continue;
        const char* desc = static_cast<const char*>(data->d_buf) + desc_off;
        const char* end = desc + nh.n_descsz;
        const char* p = desc + 3 * addr_size;
        if (p >= end) continue;
        const char* prov_end = static_cast<const char*>(memchr(p, 0, end - p));
        if (!prov_end) continue;
        const char* probe = prov_end + 1;
        const char* probe_end = probe < end ? static_cast<const char*>(memchr(probe, 0, end - probe)) : nullptr;
        if (!probe_end) continue;
        out.notes.push_back({std::string(p, prov_end), std::string(probe, probe_end), read_addr(desc, addr_size),
                             read_addr(desc + addr_size, addr_size)});
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return out;
}

}  // namespace

std::map<std::string, int> usdt_sites(const std::string& path, const std::string& provider) {
  std::map<std::string, int> out;
  for (const auto& n : read_notes(path).notes)
    if (n.provider == provider) ++out[n.name];
  return out;
}

std::vector<uint64_t> usdt_file_offsets(const std::string& path, const std::string& provider,
                                        const std::string& probe) {
  std::vector<uint64_t> out;
  const auto f = read_notes(path);
  for (const auto& n : f.notes) {
    if (n.provider != provider || n.name != probe) continue;
    uint64_t pc = n.pc;
    if (f.stapsdt_base && n.base) pc += *f.stapsdt_base - n.base;
    for (const auto& ph : f.loads) {
      if (pc >= ph.p_vaddr && pc < ph.p_vaddr + ph.p_filesz) {
        out.push_back(pc - ph.p_vaddr + ph.p_offset);
        break;
      }
    }
  }
  return out;
}

}  // namespace pgstall::symbols
