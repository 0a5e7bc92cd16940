#pragma once

// PostgreSQL's wait_event_info, decoded the way pg_stat_activity shows it
// (wait_event_type, wait_event), for PostgreSQL 13-17.
//
// A backend publishes one uint32 (PGPROC.wait_event_info, 0 when not
// waiting): the top byte is the wait class (PG_WAIT_*), the low 16 bits the
// event; bits 16-23 are reserved and always zero. For LWLock the event is the
// tranche id, for Lock the LockTagType, for the other fixed classes a
// position in a per-version enum, so the same number means different events
// in different majors.
//
// Names follow the newest minor release of each major. A few names changed
// inside a major without their ids moving: "CommitTSBuffer" (early 13-15
// minors) became "CommitTsBuffer", and 17.0 showed LWLocks as "WALWriteLock"
// where later 17 minors show "WALWrite". Events a minor release appended
// decode on every minor of that major; older minors never publish them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pgstall::model {

// Top byte of wait_event_info (PG_WAIT_* in src/include/utils/wait_event.h;
// src/include/pgstat.h in 13). 0x02 has never been used.
enum class WaitClass : uint8_t {
  LWLock = 0x01,
  Lock = 0x03,
  BufferPin = 0x04,
  Activity = 0x05,
  Client = 0x06,
  Extension = 0x07,
  IPC = 0x08,
  Timeout = 0x09,
  IO = 0x0A,
  InjectionPoint = 0x0B,  // 17 only
};

struct WaitEvent {
  std::string type;  // wait_event_type spelling: "LWLock", "IO", ...
  std::string name;  // wait_event spelling: "WALWrite", ... or a placeholder
  // False when name is a placeholder, never a guessed name:
  //   "event 0x4f"             an id this version does not define
  //   "unassigned tranche 45"  an LWLock slot the version leaves empty
  //   "extension tranche 97"   an LWLock tranche an extension registered
  //   "custom event 3"         17's WaitEventExtensionNew()/injection points
  // The last two have names only inside the server's memory.
  // An unknown class gives type "class 0x0c".
  bool known = true;

  std::string text() const;  // "LWLock:WALWrite"

  friend bool operator==(const WaitEvent&, const WaitEvent&) = default;
};

inline constexpr int kWaitEventMinMajor = 13;
inline constexpr int kWaitEventMaxMajor = 17;

bool wait_events_supported(int pg_major);

// nullopt for info 0 (not waiting) and for majors outside 13-17. Otherwise a
// WaitEvent, with placeholders for whatever this major does not name.
std::optional<WaitEvent> decode_wait_event(uint32_t info, int pg_major);

// Names of one class's events for a major, indexed by event id (for LWLock:
// by tranche id, up to the first extension tranche). An empty entry is an id
// the version leaves unassigned (LWLock gaps only). Empty span for classes
// without a fixed table (BufferPin, Extension, InjectionPoint) and for
// unsupported majors.
std::span<const std::string_view> wait_event_table(WaitClass cls, int pg_major);

// pg_locks.mode spelling of a LOCKMODE: 1 AccessShareLock .. 8
// AccessExclusiveLock (src/include/storage/lockdefs.h, the same in 13-17);
// nullopt otherwise (0 is NoLock, never held or awaited).
std::optional<std::string_view> lock_mode_name(int mode);

// pg_locks.locktype spelling of a LockTagType ("relation", "transactionid",
// ...; "applytransaction" from 16 on); nullopt if the major lacks it.
std::optional<std::string_view> lock_tag_type_name(uint8_t tag, int pg_major);

namespace detail {
struct WaitEventTables {
  int major;
  std::span<const std::string_view> lwlock, lock, activity, client, ipc, timeout, io;
};
// One entry per major, 13..17 in order (wait_event_tables.cpp).
extern const WaitEventTables kWaitEventTables[];
extern const std::size_t kWaitEventTablesCount;
}  // namespace detail

}  // namespace pgstall::model
