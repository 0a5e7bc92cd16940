#include "capture/symbolize.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "capture/pgmem.h"

namespace pgstall::capture {
namespace {

std::string base_name(std::string_view path) {
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted)
    path.remove_suffix(kDeleted.size());
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::shared_ptr<const Symbolizer::File> Symbolizer::file_for(int pid, uint64_t start, uint64_t end, dev_t dev,
                                                               ino_t ino) {
  const auto key = std::make_pair(dev, ino);
  if (auto it = files_.find(key); it != files_.end()) return it->second;

  auto f = std::make_shared<File>();
  // map_files opens the very file mapped, even one deleted by an upgrade.
  const std::string link = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, start, end);
  const int fd = open(link.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && elf_version(EV_CURRENT) != EV_NONE) {
    if (Elf* e = elf_begin(fd, ELF_C_READ_MMAP, nullptr)) {
      size_t phnum = 0;
      if (elf_getphdrnum(e, &phnum) == 0) {
        for (size_t i = 0; i < phnum; ++i) {
          GElf_Phdr ph;
          if (gelf_getphdr(e, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
            f->loads.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz});
        }
      }
      // .symtab when the file has one (unstripped), and .dynsym: both, deduplicated.
      for (Elf_Scn* scn = elf_nextscn(e, nullptr); scn; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)) continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data || !sh.sh_entsize) continue;
        const size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < n; ++i) {
          GElf_Sym s;
          if (!gelf_getsym(data, static_cast<int>(i), &s)) continue;
          if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || s.st_size == 0) continue;
          const char* name = elf_strptr(e, sh.sh_link, s.st_name);
          if (name && *name) f->syms.push_back({s.st_value, s.st_size, name});
        }
      }
      elf_end(e);
    }
  }
  if (fd >= 0) close(fd);
  std::sort(f->syms.begin(), f->syms.end(), [](const Sym& a, const Sym& b) {
    return a.start != b.start ? a.start < b.start : a.name < b.name;
  });
  f->syms.erase(std::unique(f->syms.begin(), f->syms.end(),
                            [](const Sym& a, const Sym& b) { return a.start == b.start && a.size == b.size; }),
                f->syms.end());
  files_[key] = f;
  return f;
}

std::vector<std::string> Symbolizer::symbolize(int pid, const std::vector<uint64_t>& addrs) {
  std::vector<std::string> out;
  std::ifstream in(fmt::format("/proc/{}/maps", pid));
  if (!in) return out;
  std::vector<std::pair<MapsLine, std::string>> maps;  // the line, and its path kept alive
  std::string line;
  while (std::getline(in, line)) {
    if (auto m = parse_maps_line(line)) {
      std::string path(m->path);
      maps.emplace_back(*m, std::move(path));
    }
  }
  for (uint64_t a : addrs) {
    const auto it = std::find_if(maps.begin(), maps.end(),
                                 [a](const auto& m) { return a >= m.first.start && a < m.first.end; });
    if (it == maps.end() || it->first.inode == 0 || it->second.empty() || it->second[0] != '/') {
      out.push_back(fmt::format("[anon]+{:#x}", a));
      continue;
    }
    const MapsLine& m = it->first;
    const uint64_t off = a - m.start + m.offset;
    const std::string file = base_name(it->second);
    auto f = file_for(pid, m.start, m.end, makedev(m.dev_major, m.dev_minor), m.inode);
    std::string name;
    for (const auto& l : f->loads) {
      if (off < l.offset || off >= l.offset + l.filesz) continue;
      const uint64_t vaddr = off - l.offset + l.vaddr;
      auto s = std::upper_bound(f->syms.begin(), f->syms.end(), vaddr,
                                [](uint64_t v, const Sym& x) { return v < x.start; });
      if (s != f->syms.begin()) {
        --s;
        if (vaddr < s->start + s->size) name = s->name;
      }
      break;
    }
    out.push_back(name.empty() ? fmt::format("{}+{:#x}", file, off) : name);
  }
  return out;
}

}  // namespace pgstall::capture
