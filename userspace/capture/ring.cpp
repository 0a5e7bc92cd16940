#include "capture/ring.h"

#include <algorithm>
#include <cstring>

namespace pgstall::capture::ring {

model::PgWait pg_wait_of(const pgstall_pg_wait& w) {
  model::PgWait p;
  p.lock_since_ns = w.lock_since_ns;
  std::copy(std::begin(w.lock_field), std::end(w.lock_field), p.lock_field.begin());
  p.lock_type = w.lock_type;
  p.lock_mode = w.lock_mode;
  p.lwlock_since_ns = w.lwlock_since_ns;
  p.lwlock_tranche.assign(w.lwlock_tranche, strnlen(w.lwlock_tranche, sizeof w.lwlock_tranche));
  p.lwlock_mode = w.lwlock_mode;
  return p;
}

Record decode(const void* data, size_t size) {
  if (size < sizeof(pgstall_rec_hdr)) return Bad{};
  const auto* h = static_cast<const pgstall_rec_hdr*>(data);
  switch (h->type) {
    case PGSTALL_REC_FORK: {
      if (size < sizeof(pgstall_rec_fork)) return Bad{};
      const auto* r = static_cast<const pgstall_rec_fork*>(data);
      return Fork{static_cast<int>(h->tgid), static_cast<int>(r->child_pid), r->child_pid != r->child_tgid};
    }
    case PGSTALL_REC_EXIT: return Exit{static_cast<int>(h->pid), h->pid != h->tgid};
    case PGSTALL_REC_EXEC: return Exec{static_cast<int>(h->pid)};
    case PGSTALL_REC_SYSCALL_SLOW: return SlowSyscall{};
    case PGSTALL_REC_OFFCPU_SLOW: {
      if (size < sizeof(pgstall_rec_offcpu)) return Bad{};
      const auto* r = static_cast<const pgstall_rec_offcpu*>(data);
      return SlowOffcpu{static_cast<int>(h->pid), h->ts_ns, r->waker_pid};
    }
    case PGSTALL_REC_PG_WAIT_DONE: return PgWaitDone{};
    case PGSTALL_REC_DEADLOCK: {
      if (size < sizeof(pgstall_rec_pg_wait)) return Bad{};
      const auto* r = static_cast<const pgstall_rec_pg_wait*>(data);
      return Deadlock{static_cast<int>(h->pid), h->ts_ns, pg_wait_of(r->w)};
    }
    case PGSTALL_REC_CHECKPOINT: {
      if (size < sizeof(pgstall_rec_checkpoint)) return Bad{};
      const auto* r = static_cast<const pgstall_rec_checkpoint*>(data);
      return Checkpoint{static_cast<int>(h->tgid), h->ts_ns, r->phase, r->flags};
    }
  }
  return Bad{};
}

}  // namespace pgstall::capture::ring
