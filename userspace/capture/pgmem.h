#pragma once
// A live backend's current wait_event_info, read from its memory the way
// pg_stat_activity would show it: no SQL, no stop, nothing written. Only
// process_vm_readv (the kernel's ptrace *access check* applies: root or
// CAP_SYS_PTRACE; nothing is attached).
//
// PostgreSQL 14+ exports `uint32 *my_wait_event_info`
// (src/include/utils/wait_event.h): until InitProcess it points at a
// process-local dummy, then at MyProc->wait_event_info in shared memory. A
// read is two process_vm_readv: that pointer, then the uint32 it points at.
// PostgreSQL 13 has no such pointer; its MyProc->wait_event_info sits at a
// build-dependent offset, which pgstall does not guess: unsupported.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace pgstall::symbols {
class ElfFile;
}

namespace pgstall::capture {

// What one executable file offers, from its ELF headers and symbol tables
// (libelf). Read once per file.
struct PgExecutable {
  std::string path;       // as /proc/PID/exe names it, " (deleted)" included
  std::string build_id;   // lowercase hex; empty when the file has none
  int pg_major = 0;       // from the install path (…/postgresql/15/bin/…); 0 when unknown
  bool is_postgres = false;  // defines PostgresMain
  bool has_symbols = false;  // has a .dynsym or .symtab at all
  std::optional<uint64_t> wait_event_ptr;  // link-time address of my_wait_event_info
  // Link-time address of `PgBackendStatus *MyBEEntry` (14+: backend_status.c
  // exports it): the backend's pg_stat_activity entry in shared memory.
  std::optional<uint64_t> be_entry_ptr;
  // The first PT_LOAD (lowest p_vaddr), rounded down to the page: the kernel
  // maps file offset `load_offset` at runtime address bias + `load_vaddr`.
  uint64_t load_vaddr = 0;
  uint64_t load_offset = 0;
  unsigned ptr_size = 8;  // 4 for an ELFCLASS32 binary
};

// Reads an open ELF file (from any fd: /proc/PID/exe, a path, a map_files
// entry). An error says why it is not an ELF executable this host can read.
Result<PgExecutable> inspect_executable(const symbols::ElfFile& elf);

// Why the wait event of a process running `exe` cannot be read, nullopt when
// it can (my_wait_event_info is there). `pg_major` 0 = unknown. For messages
// and `doctor`: "unsupported: PostgreSQL 13 has no my_wait_event_info …",
// "not a PostgreSQL server process …", "postgres binary has no
// my_wait_event_info symbol (stripped? …)".
std::optional<std::string> unsupported_reason(const PgExecutable& exe, int pg_major);

// "…/postgresql/15/bin/postgres" (Debian), "/usr/pgsql-15/bin/postgres"
// (PGDG RPM) → 15; a trailing " (deleted)" is ignored. 0 when the path says nothing.
int pg_major_from_path(std::string_view path);

// Reads the current wait_event_info of postgres processes. Caches, per
// executable file (dev, inode, size, mtime), its symbols; per pid the runtime
// address of my_wait_event_info, with a pidfd: a value is returned only if the
// process resolved was still alive after it was read, so a recycled pid is
// never read at a stale address (without pidfds, e.g. out of fds, its start
// time in /proc/PID/stat is compared instead, ~4x the cost). Holds one fd per
// cached pid. Not thread-safe.
class WaitEventReader {
 public:
  WaitEventReader();
  ~WaitEventReader();
  WaitEventReader(const WaitEventReader&) = delete;
  WaitEventReader& operator=(const WaitEventReader&) = delete;

  // 0 means "not waiting" (pg_stat_activity shows NULL); otherwise class in
  // the top byte, event in the low 16 bits. An error carries a message for the
  // operator ("pid 42: no such process", "pid 7 (/usr/bin/sleep): not a
  // PostgreSQL server …", "pid 9: unsupported: PostgreSQL 13 has no
  // my_wait_event_info …").
  Result<uint32_t> read(int pid);

  // Major version of pid's server (path, else the data dir's PG_VERSION), once
  // a read of it succeeded; 0 when unknown. Needed to decode the event.
  int pg_major(int pid) const;
  // The executable behind pid, once a read of it succeeded.
  std::shared_ptr<const PgExecutable> executable(int pid) const;
  // Runtime address of my_wait_event_info in pid, once a read of it succeeded.
  std::optional<uint64_t> pointer_address(int pid) const;
  // Where my_wait_event_info pointed at the last successful read of pid: once
  // the backend ran InitProcess, &MyProc->wait_event_info in shared memory
  // (before that, a process-local dummy).
  std::optional<uint64_t> wait_event_target(int pid) const;

  // When pid's current top-level statement began (pg_stat_activity's
  // query_start: st_activity_start_timestamp, µs since 2000-01-01), read from
  // shared memory through MyBEEntry; 0 when none yet; nullopt when it cannot
  // be read (no MyBEEntry symbol, no entry yet, or the entry does not name
  // pid). Only after a read() of pid succeeded. Statements run from inside
  // a function (SPI) do not change it: a loop inside one statement keeps it.
  std::optional<int64_t> statement_start(int pid);

  // Drops pid's cached address (call when it exits; a recycled pid is caught
  // anyway by its start time).
  void forget(int pid);
  size_t cached_pids() const { return pids_.size(); }
  size_t cached_executables() const { return exes_.size(); }

 private:
  struct ExeKey {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    auto operator<=>(const ExeKey&) const = default;
  };
  struct Target {
    UniqueFd pidfd;          // none when pidfd_open failed: starttime decides
    uint64_t starttime = 0;  // /proc/PID/stat field 22
    uint64_t ptr_addr = 0;
    uint64_t last_target = 0;  // what my_wait_event_info held at the last read
    uint64_t be_addr = 0;      // runtime address of MyBEEntry; 0 without the symbol
    uint64_t be_entry = 0;     // what MyBEEntry held (set once, at backend start); 0 until read
    int pg_major = 0;
    std::shared_ptr<const PgExecutable> exe;
  };

  Result<Target> resolve(int pid);
  Result<uint32_t> read_value(int pid, Target& t);
  // Whether t's process was still there: its pidfd not yet readable, or the
  // pid's start time unchanged.
  static bool still_same(int pid, const Target& t);

  std::map<ExeKey, std::shared_ptr<const PgExecutable>> exes_;
  std::map<int, Target> pids_;
};

}  // namespace pgstall::capture
