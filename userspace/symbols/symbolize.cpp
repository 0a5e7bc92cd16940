#include "symbols/symbolize.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "model/procfs.h"
#include "symbols/elf.h"
#include "util/fd.h"

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
// .dynsym: both, deduplicated by the caller.
void read_functions(const ElfFile& elf, std::vector<Symbolizer::Sym>& out) {
  elf.for_each_symbol(SymbolTables::Both, type_bit(STT_FUNC), [&out](const ElfSymbol& s) {
    if (s.size && !s.name.empty()) out.push_back({s.value, s.size, std::string(s.name)});
    return true;
  });
}

// The file a mapping maps: map_files opens the very file mapped, even one
// deleted by an upgrade; the path serves when the process is gone (and the
// file still there).
UniqueFd open_mapped(int pid, const Symbolizer::Mapping& m) {
  UniqueFd fd(open(fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, m.start, m.end).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) return fd;
  fd.reset(open(m.path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat sb {};
  if (fd && (fstat(fd.get(), &sb) != 0 || sb.st_dev != m.dev || sb.st_ino != m.inode))
    fd.reset();  // another file by that name now
  return fd;
}

}  // namespace

std::shared_ptr<const Symbolizer::File> Symbolizer::file_for(int pid, const Mapping& m) {
  const auto key = std::make_pair(m.dev, m.inode);
  if (auto it = files_.find(key); it != files_.end()) return it->second;

  auto f = std::make_shared<File>();
  f->path = m.path;
  UniqueFd fd = open_mapped(pid, m);
  if (!fd) return f;  // not kept: a later call may reach the file
  if (auto elf = ElfFile::open(std::move(fd))) {
    if (auto loads = elf->load_segments())
      for (const auto& l : *loads) f->loads.push_back({l.vaddr, l.offset, l.filesz});
    read_functions(*elf, f->syms);
    f->build_id = elf->build_id();
  }
  // Debian's stripped binaries: the debug file of the same build-id, when
  // installed, names the static functions too.
  if (f->build_id.size() > 2) {
    const std::string dbg = fmt::format("{}/.build-id/{}/{}.debug", debug_root_, f->build_id.substr(0, 2),
                                        f->build_id.substr(2));
    if (auto elf = ElfFile::open(dbg)) {
      std::vector<Sym> d;
      read_functions(*elf, d);
      if (!d.empty()) {
        f->syms.insert(f->syms.end(), d.begin(), d.end());
        f->debug_file = dbg;
      }
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
    if (auto m = model::parse_maps_line(line))
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
