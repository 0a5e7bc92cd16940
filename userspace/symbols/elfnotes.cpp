#include "symbols/elfnotes.h"

#include <cstring>
#include <optional>

#include "symbols/elf.h"

namespace pgstall::symbols {

namespace {

struct Note {
  std::string provider, name;
  uint64_t pc = 0, base = 0;
};

struct NotesOf {
  std::vector<Note> notes;
  std::optional<uint64_t> stapsdt_base;  // address of .stapsdt.base, when present
  std::vector<LoadSegment> loads;
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

// One SystemTap note (type 3, named "stapsdt"): pc, base, semaphore, then
// provider\0 probe\0 arguments\0. nullopt when it is not one or is cut short.
std::optional<Note> parse_stapsdt(const ElfNote& n, size_t addr_size) {
  if (n.type != 3 || n.name != "stapsdt") return std::nullopt;
  const char* desc = n.desc.data();
  const char* end = desc + n.desc.size();
  const char* p = desc + 3 * addr_size;
  if (p >= end) return std::nullopt;
  const char* prov_end = static_cast<const char*>(memchr(p, 0, end - p));
  if (!prov_end) return std::nullopt;
  const char* probe = prov_end + 1;
  const char* probe_end = probe < end ? static_cast<const char*>(memchr(probe, 0, end - probe)) : nullptr;
  if (!probe_end) return std::nullopt;
  return Note{std::string(p, prov_end), std::string(probe, probe_end), read_addr(desc, addr_size),
              read_addr(desc + addr_size, addr_size)};
}

// The SystemTap notes of one file, with what placing them needs.
NotesOf read_notes(const std::string& path) {
  NotesOf out;
  auto elf = ElfFile::open(path);
  if (!elf) return out;
  if (auto loads = elf->load_segments()) out.loads = std::move(*loads);
  out.stapsdt_base = elf->section_address(".stapsdt.base");
  const size_t addr_size = elf->address_size();
  elf->for_each_note(".note.stapsdt", [&](const ElfNote& n) {
    if (auto note = parse_stapsdt(n, addr_size)) out.notes.push_back(std::move(*note));
    return true;
  });
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
    for (const auto& l : f.loads) {
      if (pc >= l.vaddr && pc < l.vaddr + l.filesz) {
        out.push_back(pc - l.vaddr + l.offset);
        break;
      }
    }
  }
  return out;
}

}  // namespace pgstall::symbols
