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
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/process.h"

namespace pgstall::symbols {

class Symbolizer {
 public:
  // One name per address, innermost first, as given. Reads /proc/PID/maps
  // once per call; symbol tables are read once per file (device, inode) and
  // kept. An address in no file mapping prints as "[anon]+0x…"; a process
  // that is gone yields an empty list.
  // The maps of every pid seen are kept: a backend that has exited by the
  // time its stacks are read is named from its last maps.
  std::vector<std::string> symbolize(int pid, const std::vector<uint64_t>& addrs);

  // Reads and keeps pid's maps now, if not kept yet: its stacks can then be
  // named after it has exited. False when it is already gone.
  bool remember(int pid);
  // pid's file-backed mappings as kept (start, end, file offset, path), for
  // the record's symbol context; empty when never read.
  using MappedFile = model::MappedFile;
  std::vector<MappedFile> mapped_files(int pid) const;
  // Within a batch each pid's maps are read once (many stacks at a time).
  // Pids in `keep` are not re-read at all (their last maps serve): a
  // process in D state may hold its mmap lock, and reading its maps would
  // block until it lets go.
  void begin_batch(const std::set<int>& keep = {}) { batch_ = true, read_in_batch_ = keep; }
  void end_batch() { batch_ = false; }

  size_t cached_files() const { return files_.size(); }
  // GNU build-ids of the files symbols were read from, by path (hex), so a
  // "file+0xOFFSET" frame can be named later from the matching debug file.
  std::map<std::string, std::string> build_ids() const;
  // Where build-id debug files are looked for (<root>/.build-id/xx/rest.debug).
  void set_debug_root(std::string root) { debug_root_ = std::move(root); }

  // A file's symbols, as read (public for the reader in the .cpp).
  struct Sym {
    uint64_t start, size;
    std::string name;
  };
  struct File {
    std::vector<Sym> syms;  // sorted by start; zero-size symbols dropped
    std::string build_id;
    struct Load {
      uint64_t vaddr, offset, filesz;
    };
    std::vector<Load> loads;
    std::string path;
    std::string debug_file;  // the build-id debug file its names also came from ("" = none)
  };
  struct Mapping {
    uint64_t start, end, offset;
    dev_t dev;
    ino_t inode;
    std::string path;
  };

 private:
  std::shared_ptr<const File> file_for(int pid, const Mapping& m);

  std::map<std::pair<dev_t, ino_t>, std::shared_ptr<const File>> files_;
  std::map<int, std::vector<Mapping>> maps_;  // pid -> its last maps
  bool batch_ = false;
  std::set<int> read_in_batch_;
  std::string debug_root_ = "/usr/lib/debug";
};

}  // namespace pgstall::symbols
