#include "capture/elfnotes.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>

namespace pgstall::capture {

std::map<std::string, int> usdt_sites(const std::string& path, const std::string& provider) {
  std::map<std::string, int> out;
  if (elf_version(EV_CURRENT) == EV_NONE) return out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t shstrndx = 0;
  if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    const size_t addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
      const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (!name || strcmp(name, ".note.stapsdt") != 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (!data) continue;
      GElf_Nhdr nh;
      size_t off = 0, name_off = 0, desc_off = 0;
      while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        // Type 3 notes named "stapsdt": pc, base, semaphore, then
        // provider\0 probe\0 arguments\0.
        if (nh.n_type != 3 || nh.n_namesz < 8 ||
            memcmp(static_cast<const char*>(data->d_buf) + name_off, "stapsdt", 8) != 0)
          continue;
        const char* desc = static_cast<const char*>(data->d_buf) + desc_off;
        const char* end = desc + nh.n_descsz;
        const char* p = desc + 3 * addr_size;
        if (p >= end) continue;
        const char* prov_end = static_cast<const char*>(memchr(p, 0, end - p));
        if (!prov_end || provider != std::string(p, prov_end)) continue;
        const char* probe = prov_end + 1;
        const char* probe_end = probe < end ? static_cast<const char*>(memchr(probe, 0, end - probe)) : nullptr;
        if (probe_end) ++out[std::string(probe, probe_end)];
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return out;
}

}  // namespace pgstall::capture
