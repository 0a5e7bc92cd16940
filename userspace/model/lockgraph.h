#pragma once
// Who holds the heavyweight lock a backend waits for, read from shared
// memory the way pg_blocking_pids() sees it, with no SQL and nothing written:
// the waiter's PGPROC (my_wait_event_info points into it) names the LOCK it
// sleeps on (waitLock) and the mode it wants; the LOCK's list of PROCLOCKs
// names every PGPROC holding a mode of it. A holder blocks when a mode it
// holds conflicts with the mode wanted and it is not in the waiter's lock
// group (parallel workers of the same query). The LOCK's wait queue
// (waitProcs) names the waiters ahead of it: one of those whose own request
// conflicts with the mode wanted blocks it too, as pg_blocking_pids() says
// (a "soft" blocker: the lock manager grants in queue order, so a reader
// queued behind an ALTER TABLE waits for the ALTER, which waits for the
// holder).
//
// The read takes none of the lock manager's locks: while locks change hands
// it may see a list half-updated. Every pointer is checked before it is
// followed, every walk is bounded, and nothing is believed unless the
// PGPROC's own pid field is the pid read. Fast-path relation locks (weak
// modes on unshared relations, kept in the PGPROC, not in the lock table) are
// not seen; a strong request moves them into the table first, so a waiter
// behind them finds them there.
//
// Field offsets differ across major versions. Only layouts measured here are
// used: PostgreSQL 15 on x86_64 (offsetof() against Debian's
// postgresql-server-dev-15 headers; checked by the integration test against
// pg_locks and pg_blocking_pids()).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/locktag.h"
#include "util/result.h"

namespace pgstall::model {

struct LockLayout {
  // PGPROC (src/include/storage/proc.h)
  // links: its node in the wait queue of the lock it sleeps on.
  size_t proc_links, proc_xid, proc_pid, proc_wait_lock, proc_wait_lock_mode, proc_wait_event_info,
      proc_lock_group_leader;
  // LOCK (src/include/storage/lock.h): tag first, then the list of PROCLOCKs,
  // then the wait queue (PROC_QUEUE: its list head first)
  size_t lock_proclocks, lock_wait_procs;
  // PROCLOCK: tag {myLock, myProc}, groupLeader, holdMask, lockLink (the list node)
  size_t proclock_my_proc, proclock_group_leader, proclock_hold_mask, proclock_lock_link;
};

// nullopt: no layout known for this major version (the wait is then shown
// without its holders, from USDT or the wait event).
std::optional<LockLayout> lock_layout(int pg_major);

// Reads len bytes at addr in the address space the graph is read through
// (any backend's: shared memory sits at the same address in all of them).
// False when the range is not readable.
using MemReader = std::function<bool(uint64_t addr, void* buf, size_t len)>;

// One that blocks the waiter: a holder of a conflicting mode, or a waiter
// queued ahead of it that wants a conflicting mode.
struct LockHolder {
  int pid = 0;             // 0: a prepared transaction (its PGPROC has no process)
  uint32_t hold_mask = 0;  // bit m: holds LOCKMODE m
  // 0: it holds a conflicting mode. Else it holds none, but waits ahead of
  // the waiter in the lock's queue for this LOCKMODE, which conflicts.
  int wants = 0;
  bool queued() const { return wants != 0; }
};

struct LockWaitRead {
  uint32_t xid = 0;        // the waiter's top-level xid, 0 = none assigned
  bool waiting = false;    // waitLock is set: asleep on a heavyweight lock
  LockTag tag;      // what it waits for (type name left to the caller)
  // Holders of conflicting modes and conflicting waiters ahead of it, in the
  // order of the LOCK's PROCLOCK list (pg_blocking_pids()'s order).
  std::vector<LockHolder> blockers;
  size_t holders_seen = 0;           // PROCLOCKs walked, its own included
  size_t queue_position = 0;         // waiters ahead of it in the lock's queue
};

// Reads the PGPROC of `pid` at wait_event_target - proc_wait_event_info.
// An error with a reason when the memory does not read as pid's PGPROC or a
// list is torn mid-walk, unless the waiter's own waitLock changed meanwhile:
// then it was granted (or gave up) while read, and it is not waiting.
Result<LockWaitRead> read_lock_wait(const MemReader& mem, int pid, uint64_t wait_event_target,
                                    const LockLayout& layout);

}  // namespace pgstall::model
