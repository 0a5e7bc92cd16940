#include "model/lockgraph.h"

#include <cstring>
#include <map>

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

// LOCKMODE m is in mask (a mode read mid-change may be anything).
bool mode_in(uint32_t mask, int m) { return m > 0 && m < 32 && (mask & (1u << m)); }

}  // namespace

std::optional<LockLayout> lock_layout(int pg_major) {
  if (pg_major == 15) {
    // offsetof() on x86_64, postgresql-server-dev-15 (15.20-0+deb12u1).
    LockLayout l{};
    l.proc_links = 0;
    l.proc_xid = 52;
    l.proc_pid = 64;
    l.proc_wait_lock = 112;
    l.proc_wait_lock_mode = 128;
    l.proc_wait_event_info = 712;
    l.proc_lock_group_leader = 840;
    l.lock_proclocks = 24;
    l.lock_wait_procs = 40;
    l.proclock_my_proc = 8;
    l.proclock_group_leader = 16;
    l.proclock_hold_mask = 24;
    l.proclock_lock_link = 32;
    return l;
  }
  return std::nullopt;
}

namespace {

// The waiter, as far as its PGPROC has been read.
struct Waiter {
  const MemReader& mem;
  const LockLayout& L;
  int pid;
  uint64_t proc, wait_lock, own_group;
  int mode;
};

// The waiters ahead of w in its lock's wait queue (waitProcs, an SHM_QUEUE
// of PGPROC.links in queue order): PGPROC address -> the mode it wants.
Result<std::map<uint64_t, int>> queue_ahead(const Waiter& w) {
  const uint64_t head = w.wait_lock + w.L.lock_wait_procs;
  uint64_t node = 0;
  if (!get(w.mem, head + 8, node)) {  // the list head's next
    return fail(fmt::format("pid {}: the wait queue of its waitLock is not readable", w.pid));
  }
  std::map<uint64_t, int> ahead;
  for (size_t seen = 0;; ++seen) {
    // It waits, so it is in the queue: reaching the head without it is a
    // queue that changed under the walk (a removed node's links are NULL).
    if (node == head || !plausible_pointer(node) || seen > kMaxProcLocks) {
      return fail(fmt::format("pid {}: the wait queue of its waitLock changed while read", w.pid));
    }
    const uint64_t queued = node - w.L.proc_links;
    if (queued == w.proc) return ahead;
    uint64_t queued_lock = 0, next = 0;
    int32_t queued_mode = 0;
    if (!get(w.mem, queued + w.L.proc_wait_lock, queued_lock) ||
        !get(w.mem, queued + w.L.proc_wait_lock_mode, queued_mode) || !get(w.mem, node + 8, next)) {
      return fail(fmt::format("pid {}: a waiter ahead of it at {} is not readable", w.pid, hex(queued)));
    }
    if (queued_lock != w.wait_lock) {
      return fail(fmt::format("pid {}: the wait queue of its waitLock changed while read", w.pid));
    }
    ahead[queued] = queued_mode;
    node = next;
  }
}

// The LOCK's PROCLOCKs, in list order: each holder of a conflicting mode,
// and each waiter ahead whose wanted mode conflicts, outside w's lock group.
Result<void> walk_proclocks(const Waiter& w, const std::map<uint64_t, int>& ahead, LockWaitRead& r) {
  const uint32_t conflicts = lock_conflicts(w.mode);
  const uint64_t head = w.wait_lock + w.L.lock_proclocks;
  uint64_t node = 0;
  if (!get(w.mem, head + 8, node)) {  // the list head's next
    return fail(fmt::format("pid {}: the holders list of its waitLock is not readable", w.pid));
  }
  while (node != head) {
    if (!plausible_pointer(node) || ++r.holders_seen > kMaxProcLocks) {
      return fail(fmt::format("pid {}: the holders list of its waitLock changed while read", w.pid));
    }
    const uint64_t proclock = node - w.L.proclock_lock_link;
    uint64_t holder_proc = 0, holder_group = 0, next = 0;
    uint32_t hold_mask = 0;
    if (!get(w.mem, proclock + w.L.proclock_my_proc, holder_proc) ||
        !get(w.mem, proclock + w.L.proclock_group_leader, holder_group) ||
        !get(w.mem, proclock + w.L.proclock_hold_mask, hold_mask) || !get(w.mem, node + 8, next)) {
      return fail(fmt::format("pid {}: a holder of its waitLock is not readable", w.pid));
    }
    node = next;
    if (holder_proc == w.proc || holder_group == w.own_group) continue;
    LockHolder h{0, hold_mask, 0};
    if (!(hold_mask & conflicts)) {
      // Holds nothing in its way: in its way still if queued ahead for a
      // conflicting mode.
      auto it = ahead.find(holder_proc);
      if (it == ahead.end() || !mode_in(conflicts, it->second)) continue;
      h.wants = it->second;
    }
    if (!plausible_pointer(holder_proc)) {
      return fail(fmt::format("pid {}: a holder of its waitLock has no PGPROC", w.pid));
    }
    int32_t holder_pid = 0;
    if (!get(w.mem, holder_proc + w.L.proc_pid, holder_pid)) {
      return fail(fmt::format("pid {}: a holder's PGPROC at {} is not readable", w.pid, hex(holder_proc)));
    }
    h.pid = holder_pid;
    r.blockers.push_back(h);
  }
  return {};
}

// The LOCKTAG at `lock`: four uint32 fields (the fourth a uint16), the type,
// the method.
bool read_tag(const MemReader& mem, uint64_t lock, LockTag& t) {
  unsigned char tag[16];
  if (!mem(lock, tag, sizeof tag)) return false;
  std::memcpy(&t.field[0], tag + 0, 4);
  std::memcpy(&t.field[1], tag + 4, 4);
  std::memcpy(&t.field[2], tag + 8, 4);
  uint16_t f4 = 0;
  std::memcpy(&f4, tag + 12, 2);
  t.field[3] = f4;
  t.type_id = tag[14];
  return true;
}

}  // namespace

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
  if (!read_tag(mem, wait_lock, r.tag)) {
    return fail(fmt::format("pid {}: its waitLock at {} is not readable", pid, hex(wait_lock)));
  }
  const Waiter w{mem, L, pid, proc, wait_lock, group_leader ? group_leader : proc, mode};
  auto ahead = queue_ahead(w);
  Result<void> walked = ahead ? walk_proclocks(w, *ahead, r) : Result<void>(ahead.error());
  if (!walked) {
    // Granted (or given up) while read: its own wait is over, not torn.
    uint64_t now_lock = 0;
    if (get(mem, proc + L.proc_wait_lock, now_lock) && now_lock != wait_lock) {
      LockWaitRead granted;
      granted.xid = r.xid;
      return granted;
    }
    return walked.error();
  }
  r.queue_position = ahead->size();
  return r;
}

}  // namespace pgstall::model
