#pragma once

// Map an open file's path to what it is inside a PostgreSQL data directory
// (layout as produced by relpath.c GetRelationPath):
//   base/<db>/<relfilenode>[_fork][.seg]            pg_default tablespace
//   base/<db>/t<backend>_<relfilenode>[_fork][.seg] temp relation
//   global/<relfilenode>[_fork][.seg]               shared catalogs
//   pg_tblspc/<spc>/PG_<major>_<catver>/<db>/<...>  other tablespaces
//   pg_wal/<24 hex digits>                          WAL segments
//   pg_xact/<hex>                                   commit log (SLRU)

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgstall::model {

inline constexpr uint32_t kDefaultTablespaceOid = 1663;  // pg_default
inline constexpr uint32_t kGlobalTablespaceOid = 1664;   // pg_global

enum class PgFileKind { Relation, Wal, Xact /* pg_xact */, Other };

struct PgFile {
    PgFileKind kind = PgFileKind::Other;
    uint32_t spc_oid = 0;  // 1663 for base/, 1664 for global/, else the tablespace oid; 0 = unknown
    uint32_t db_oid = 0;   // 0 for global
    uint32_t relfilenode = 0;
    std::string fork = "main";  // main, fsm, vm, init
    uint32_t segment = 0;       // .1, .2 ... (1 GB each by default)
    bool temp = false;          // t<backend>_<relfilenode>
    uint32_t temp_backend = 0;  // the <backend> of a temp relation (a ProcNumber/BackendId, not a pid)
    bool deleted = false;       // the fd's link ended in " (deleted)": the file was unlinked while open
    // Path relative to the data dir, e.g. "base/16384/2619". For a file reached
    // through a tablespace symlink whose oid is unknown: the absolute path.
    // Empty for the data directory itself.
    std::string rel;
};

// A pg_tblspc/<oid> symlink and its target.
struct Tablespace {
    uint32_t oid = 0;
    std::string location;  // resolved absolute target path, no trailing slash
};

// Resolve every pg_tblspc/<oid> symlink of data_dir, sorted by oid; empty on
// any error. Needs read access to the data dir (mode 0700: root or postgres).
std::vector<Tablespace> read_tablespaces(std::string_view data_dir);

// nullopt if the path is outside data_dir and not inside a tablespace.
// /proc/PID/fd links show the resolved path, so a file in a tablespace shows
// up at its real location: it is matched against `tablespaces` (which gives
// the oid), or failing that recognised by a "/PG_<major>_<catver>/<db>/<file>"
// tail (spc_oid 0). A trailing " (deleted)" is accepted and sets `deleted`.
// Paths are compared as strings: pass data_dir resolved (realpath or
// /proc/<postmaster>/cwd) like the fd links are.
std::optional<PgFile> classify_path(std::string_view abs_path, std::string_view data_dir,
                                    std::span<const Tablespace> tablespaces = {});

// "base/16384/2619 (db 16384, relfilenode 2619)",
// "base/16384/2619_fsm.1 (db 16384, relfilenode 2619, fsm fork, segment 1)",
// "pg_wal/000000010000000000000003 (WAL segment)".
std::string describe(const PgFile& file);

// readlink /proc/PID/fd/FD. nullopt on any error (process gone, fd closed,
// EACCES). The kernel's " (deleted)" suffix is kept; classify_path handles it.
// Non-file fds read as "socket:[123]", "pipe:[456]", "anon_inode:[eventpoll]".
std::optional<std::string> fd_path(int pid, int fd);

}  // namespace pgstall::model
