#include "capture/waitevent_reader.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace pgstall::capture {
namespace {

constexpr const char* kSymbol = "my_wait_event_info";

bool read_mem(int pid, uint64_t addr, void* out, size_t len) {
  iovec local{out, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

}  // namespace

const WaitEventReader::Exe& WaitEventReader::exe_of(int pid, dev_t dev, ino_t ino) {
  auto [it, fresh] = exes_.try_emplace({dev, ino});
  Exe& e = it->second;
  if (!fresh) return e;
  // /proc/PID/exe opens the running binary even when a package upgrade has
  // replaced the file on disk.
  const std::string path = fmt::format("/proc/{}/exe", pid);
  if (elf_version(EV_CURRENT) == EV_NONE) {
    e.error = "libelf is unusable";
    return e;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    e.error = fmt::format("cannot open {}: {}", path, strerror(errno));
    return e;
  }
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  GElf_Ehdr eh;
  if (!elf || !gelf_getehdr(elf, &eh)) {
    e.error = fmt::format("{} is not an ELF file", path);
  } else {
    e.pie = eh.e_type == ET_DYN;
    size_t nph = 0;
    elf_getphdrnum(elf, &nph);
    for (size_t i = 0; i < nph; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) {
        e.load_vaddr = ph.p_vaddr & ~(ph.p_align ? ph.p_align - 1 : 0);
        break;
      }
    }
    bool found = false;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn && !found; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB)) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
      for (size_t i = 0; data && i < n; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF) continue;
        const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
        if (name && strcmp(name, kSymbol) == 0) {
          e.sym_value = sym.st_value;
          found = true;
          break;
        }
      }
    }
    if (!found)
      e.error = fmt::format("the postgres binary exports no {} (PostgreSQL 13 or older, or a build without it)",
                            kSymbol);
  }
  if (elf) elf_end(elf);
  close(fd);
  return e;
}

std::optional<uint64_t> WaitEventReader::var_address(int pid, std::string& err) {
  if (auto it = var_addr_.find(pid); it != var_addr_.end()) return it->second;
  const std::string exe = fmt::format("/proc/{}/exe", pid);
  struct stat sb {};
  if (stat(exe.c_str(), &sb) != 0) {
    err = fmt::format("pid {}: cannot read {}: {}", pid, exe, strerror(errno));
    return std::nullopt;
  }
  const Exe& e = exe_of(pid, sb.st_dev, sb.st_ino);
  if (!e.error.empty()) {
    err = fmt::format("pid {}: {}", pid, e.error);
    return std::nullopt;
  }
  uint64_t addr = e.sym_value;
  if (e.pie) {
    // The load base: the executable's mapping at file offset 0.
    std::ifstream maps(fmt::format("/proc/{}/maps", pid));
    std::string line;
    bool found = false;
    while (std::getline(maps, line)) {
      std::istringstream in(line);
      std::string range, perms, offset, dev;
      unsigned long inode = 0;
      if (!(in >> range >> perms >> offset >> dev >> inode)) continue;
      if (inode != sb.st_ino || std::stoull(offset, nullptr, 16) != 0) continue;
      uint64_t start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
      addr = start - e.load_vaddr + e.sym_value;
      found = true;
      break;
    }
    if (!found) {
      err = fmt::format("pid {}: its executable is not in /proc/{}/maps", pid, pid);
      return std::nullopt;
    }
  }
  var_addr_[pid] = addr;
  return addr;
}

std::optional<uint32_t> WaitEventReader::read(int pid, std::string& err) {
  auto var = var_address(pid, err);
  if (!var) return std::nullopt;
  uint64_t ptr = 0;
  uint32_t info = 0;
  if (!read_mem(pid, *var, &ptr, sizeof ptr) || ptr == 0 || !read_mem(pid, ptr, &info, sizeof info)) {
    err = fmt::format("pid {}: process_vm_readv: {}", pid, ptr == 0 && errno == 0 ? "null pointer" : strerror(errno));
    return std::nullopt;
  }
  return info;
}

}  // namespace pgstall::capture
