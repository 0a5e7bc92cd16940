#include "model/lockgraph.h"

#include <cstring>

#include <fmt/format.h>

namespace pgstall::model {
namespace {

// A walk longer than this is a torn list, not a lock with that many holders:
// max_connections + prepared transactions on any server watched here is far less.
constexpr size_t kMaxProcLocks = 4096;

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

template <typename T>
bool get(const MemReader& mem, uint64_t addr, T& out) {
  return mem(addr, &out, sizeof out);
}

bool plausible_pointer(uint64_t p) { return p != 0 && p % 8 == 0 && p < (1ULL << 47); }

}  // namespace

std::optional<LockLayout> lock_layout(int pg_major) {
  if (pg_major == 15) {
    // offsetof() on x86_64, postgresql-server-dev-15 (15.20-0+deb12u1).
    LockLayout l{};
    l.proc_xid = 52;
    l.proc_pid = 64;
    l.proc_wait_lock = 112;
    l.proc_wait_lock_mode = 128;
    l.proc_wait_event_info = 712;
    l.proc_lock_group_leader = 840;
    l.lock_proclocks = 24;
    l.proclock_my_proc = 8;
    l.proclock_group_leader = 16;
    l.proclock_hold_mask = 24;
    l.proclock_lock_link = 32;
    return l;
  }
  return std::nullopt;
}

Result<LockWaitRead> read_lock_wait(const MemReader& mem, int pid, uint64_t wait_event_target,
                                    const LockLayout& L) {
  if (wait_event_target < L.proc_wait_event_info) {
    return fail(fmt::format("pid {}: wait_event_info at {} is not inside a PGPROC", pid, hex(wait_event_target)));
  }
  const uint64_t proc = wait_event_target - L.proc_wait_event_info;
  int32_t proc_pid = 0;
  if (!get(mem, proc + L.proc_pid, proc_pid)) {
    return fail(fmt::format("pid {}: its PGPROC at {} is not readable", pid, hex(proc)));
  }
  if (proc_pid != pid) {
    // Not yet InitProcess'd (my_wait_event_info still points at a local
    // dummy), or a layout that is not the one assumed.
    return fail(fmt::format("pid {}: the PGPROC at {} says pid {}: not its PGPROC", pid, hex(proc), proc_pid));
  }
  LockWaitRead r;
  uint64_t wait_lock = 0, group_leader = 0;
  int32_t mode = 0;
  if (!get(mem, proc + L.proc_xid, r.xid) || !get(mem, proc + L.proc_wait_lock, wait_lock) ||
      !get(mem, proc + L.proc_wait_lock_mode, mode) || !get(mem, proc + L.proc_lock_group_leader, group_leader)) {
    return fail(fmt::format("pid {}: short read of its PGPROC at {}", pid, hex(proc)));
  }
  if (!wait_lock) return r;
  if (!plausible_pointer(wait_lock)) {
    return fail(fmt::format("pid {}: waitLock {} is not a pointer", pid, hex(wait_lock)));
  }
  r.waiting = true;
  r.tag.mode = mode;

  // LOCKTAG: four uint32 fields (the fourth a uint16), the type, the method.
  unsigned char tag[16];
  if (!mem(wait_lock, tag, sizeof tag)) {
    return fail(fmt::format("pid {}: its waitLock at {} is not readable", pid, hex(wait_lock)));
  }
  std::memcpy(&r.tag.field[0], tag + 0, 4);
  std::memcpy(&r.tag.field[1], tag + 4, 4);
  std::memcpy(&r.tag.field[2], tag + 8, 4);
  uint16_t f4 = 0;
  std::memcpy(&f4, tag + 12, 2);
  r.tag.field[3] = f4;
  r.tag.type_id = tag[14];

  const uint64_t own_group = group_leader ? group_leader : proc;
  const uint32_t conflicts = lock_conflicts(mode);
  const uint64_t head = wait_lock + L.lock_proclocks;
  uint64_t node = 0;
  if (!get(mem, head + 8, node)) {  // the list head's next
    return fail(fmt::format("pid {}: the holders list of its waitLock is not readable", pid));
  }
  while (node != head) {
    if (!plausible_pointer(node) || ++r.holders_seen > kMaxProcLocks) {
      return fail(fmt::format("pid {}: the holders list of its waitLock changed while read", pid));
    }
    const uint64_t proclock = node - L.proclock_lock_link;
    uint64_t holder_proc = 0, holder_group = 0, next = 0;
    uint32_t hold_mask = 0;
    if (!get(mem, proclock + L.proclock_my_proc, holder_proc) ||
        !get(mem, proclock + L.proclock_group_leader, holder_group) ||
        !get(mem, proclock + L.proclock_hold_mask, hold_mask) || !get(mem, node + 8, next)) {
      return fail(fmt::format("pid {}: a holder of its waitLock is not readable", pid));
    }
    if (holder_proc != proc && holder_group != own_group && (hold_mask & conflicts)) {
      if (!plausible_pointer(holder_proc)) {
        return fail(fmt::format("pid {}: a holder of its waitLock has no PGPROC", pid));
      }
      int32_t holder_pid = 0;
      if (!get(mem, holder_proc + L.proc_pid, holder_pid)) {
        return fail(fmt::format("pid {}: a holder's PGPROC at {} is not readable", pid, hex(holder_proc)));
      }
      r.blockers.push_back({holder_pid, hold_mask});
    }
    node = next;
  }
  return r;
}


}  // namespace pgstall::model
