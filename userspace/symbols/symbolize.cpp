#include "symbols/symbolize.h"

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

namespace pgstall::symbols {
namespace {

std::string base_name(std::string_view path) {
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted)
    path.remove_suffix(kDeleted.size());
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Function symbols with sizes from .symtab (when the file has one) and
// .dynsym, and the GNU build-id note.
void read_sections(Elf* e, Symbolizer::FileSyms& f) {
  // .symtab when the file has one (unstripped), and .dynsym: both, deduplicated.
  for (Elf_Scn* scn = elf_nextscn(e, nullptr); scn; scn = elf_nextscn(e, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (sh.sh_type == SHT_NOTE && f.build_id.empty()) {
      Elf_Data* data = elf_getdata(scn, nullptr);
      GElf_Nhdr nh;
      size_t off = 0, name_off = 0, desc_off = 0;
      while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        const char* base = static_cast<const char*>(data->d_buf);
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::string_view(base + name_off, 3) == "GNU") {
          for (size_t i = 0; i < nh.n_descsz; ++i)
            f.build_id += fmt::format("{:02x}", static_cast<unsigned char>(base[desc_off + i]));
          break;
        }
      }
      continue;
    }
    if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !sh.sh_entsize) continue;
    const size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; ++i) {
      GElf_Sym s;
      if (!gelf_getsym(data, static_cast<int>(i), &s)) continue;
      if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || s.st_size == 0) continue;
      const char* name = elf_strptr(e, sh.sh_link, s.st_name);
      if (name && *name) f.syms.push_back({s.st_value, s.st_size, name});
    }
  }
}

}  // namespace

std::shared_ptr<const Symbolizer::File> Symbolizer::file_for(int pid, const Mapping& m) {
  const auto key = std::make_pair(m.dev, m.inode);
  if (auto it = files_.find(key); it != files_.end()) return it->second;

  auto f = std::make_shared<File>();
  f->path = m.path;
  // map_files opens the very file mapped, even one deleted by an upgrade;
  // the path serves when the process is gone (and the file still there).
  const std::string link = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, m.start, m.end);
  int fd = open(link.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fd = open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat sb {};
    if (fd >= 0 && (fstat(fd, &sb) != 0 || sb.st_dev != m.dev || sb.st_ino != m.inode)) {
      close(fd);  // another file by that name now
      fd = -1;
    }
  }
  if (fd < 0) return f;  // not kept: a later call may reach the file
  if (elf_version(EV_CURRENT) != EV_NONE) {
    if (Elf* e = elf_begin(fd, ELF_C_READ_MMAP, nullptr)) {
      size_t phnum = 0;
      if (elf_getphdrnum(e, &phnum) == 0) {
        for (size_t i = 0; i < phnum; ++i) {
          GElf_Phdr ph;
          if (gelf_getphdr(e, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
            f->loads.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz});
        }
      }
      read_sections(e, *f);
      elf_end(e);
    }
  }
  close(fd);
  // Debian's stripped binaries: the debug file of the same build-id, when
  // installed, names the static functions too.
  if (f->build_id.size() > 2) {
    const std::string dbg = fmt::format("{}/.build-id/{}/{}.debug", debug_root_, f->build_id.substr(0, 2),
                                        f->build_id.substr(2));
    if (int dfd = open(dbg.c_str(), O_RDONLY | O_CLOEXEC); dfd >= 0) {
      if (Elf* e = elf_begin(dfd, ELF_C_READ_MMAP, nullptr)) {
        FileSyms d;
        read_sections(e, d);
        if (!d.syms.empty()) {
          f->syms.insert(f->syms.end(), d.syms.begin(), d.syms.end());
          f->debug_file = dbg;
        }
        elf_end(e);
      }
      close(dfd);
    }
  }
  std::sort(f->syms.begin(), f->syms.end(), [](const Sym& a, const Sym& b) {
    return a.start != b.start ? a.start < b.start : a.name < b.name;
  });
  f->syms.erase(std::unique(f->syms.begin(), f->syms.end(),
                            [](const Sym& a, const Sym& b) { return a.start == b.start && a.size == b.size; }),
                f->syms.end());
  files_[key] = f;
  return f;
}

std::map<std::string, std::string> Symbolizer::build_ids() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, f] : files_)
    if (!f->build_id.empty()) out[f->path] = f->build_id;
  return out;
}

namespace {

std::vector<Symbolizer::Mapping> read_maps(int pid) {
  std::vector<Symbolizer::Mapping> out;
  std::ifstream in(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (in && std::getline(in, line))
    if (auto m = capture::parse_maps_line(line))
      out.push_back({m->start, m->end, m->offset, makedev(m->dev_major, m->dev_minor), m->inode, std::string(m->path)});
  return out;
}

}  // namespace

bool Symbolizer::remember(int pid) {
  if (maps_.count(pid)) return true;
  auto m = read_maps(pid);
  if (m.empty()) return false;
  maps_[pid] = std::move(m);
  return true;
}

std::vector<Symbolizer::MappedFile> Symbolizer::mapped_files(int pid) const {
  std::vector<MappedFile> out;
  if (auto it = maps_.find(pid); it != maps_.end())
    for (const auto& m : it->second)
      if (m.inode && !m.path.empty() && m.path[0] == '/') out.push_back({m.start, m.end, m.offset, m.path});
  return out;
}

std::vector<std::string> Symbolizer::symbolize(int pid, const std::vector<uint64_t>& addrs) {
  std::vector<std::string> out;
  if (!batch_ || read_in_batch_.insert(pid).second)
    if (auto fresh = read_maps(pid); !fresh.empty()) maps_[pid] = std::move(fresh);
  auto mit = maps_.find(pid);
  if (mit == maps_.end()) return out;  // never seen, and gone
  const auto& maps = mit->second;
  for (uint64_t a : addrs) {
    const auto it = std::find_if(maps.begin(), maps.end(), [a](const Mapping& m) { return a >= m.start && a < m.end; });
    if (it == maps.end() || it->inode == 0 || it->path.empty() || it->path[0] != '/') {
      out.push_back(fmt::format("[anon]+{:#x}", a));
      continue;
    }
    const uint64_t off = a - it->start + it->offset;
    const std::string file = base_name(it->path);
    auto f = file_for(pid, *it);
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

}  // namespace pgstall::symbols
