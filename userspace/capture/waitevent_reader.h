#pragma once
// Reads the wait event a backend publishes, from its memory, without stopping
// it: PostgreSQL 14+ exports `my_wait_event_info`, a pointer to the uint32 the
// backend sets (MyProc->wait_event_info once it has a PGPROC). Two
// process_vm_readv calls, read-only; no ptrace, nothing written.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace pgstall::capture {

class WaitEventReader {
 public:
  // The current wait_event_info of `pid` (0: not waiting); nullopt with a
  // message for an operator when it cannot be read.
  std::optional<uint32_t> read(int pid, std::string& err);
  // Forgets a process (it exited).
  void forget(int pid) { var_addr_.erase(pid); }

 private:
  struct Exe {
    bool pie = true;
    uint64_t sym_value = 0;    // st_value of my_wait_event_info
    uint64_t load_vaddr = 0;   // p_vaddr of the first PT_LOAD, page-aligned
    std::string error;         // set when the symbol cannot be used
  };
  const Exe& exe_of(int pid, dev_t dev, ino_t ino);
  std::optional<uint64_t> var_address(int pid, std::string& err);

  std::map<std::pair<dev_t, ino_t>, Exe> exes_;
  std::map<int, uint64_t> var_addr_;  // pid -> address of the pointer variable
};

}  // namespace pgstall::capture
