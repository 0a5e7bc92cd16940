#pragma once
// Names for user-space return addresses of a live process, from the ELF
// symbol tables of the files it maps (libelf): the function whose
// [value, value + size) holds the address, or, outside every symbol,
// "file+0xOFFSET" (the file offset, to be symbolised later with debug
// files) — never the nearest name before it, which would be a wrong one:
// Debian's postgres is stripped to .dynsym, so static functions have no name.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pgstall::capture {

class Symbolizer {
 public:
  // One name per address, innermost first, as given. Reads /proc/PID/maps
  // once per call; symbol tables are read once per file (device, inode) and
  // kept. An address in no file mapping prints as "[anon]+0x…"; a process
  // that is gone yields an empty list.
  std::vector<std::string> symbolize(int pid, const std::vector<uint64_t>& addrs);

  size_t cached_files() const { return files_.size(); }

 private:
  struct Sym {
    uint64_t start, size;
    std::string name;
  };
  struct File {
    std::vector<Sym> syms;  // sorted by start; zero-size symbols dropped
    struct Load {
      uint64_t vaddr, offset, filesz;
    };
    std::vector<Load> loads;
  };
  std::shared_ptr<const File> file_for(int pid, uint64_t start, uint64_t end, dev_t dev, ino_t ino);

  std::map<std::pair<dev_t, ino_t>, std::shared_ptr<const File>> files_;
};

}  // namespace pgstall::capture
