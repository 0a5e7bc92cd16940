#include "capture/checkpoints.h"

#include "capture/abi.h"

namespace pgstall::capture {

bool Checkpoints::on_probe(int pid, int postmaster, uint32_t phase, uint32_t flags, uint64_t ts) {
  model::CheckpointEvent& c = by_postmaster_[postmaster];
  c.pid = pid;
  c.postmaster = postmaster;
  switch (phase) {
    case PGSTALL_CKPT_START:
      c.times = {};
      c.times.start_ns = ts;
      c.flags = flags;
      c.started = true;
      events_.push_back(c);
      return true;
    case PGSTALL_CKPT_WRITE: c.times.write_ns = ts; return true;
    case PGSTALL_CKPT_SYNC: c.times.sync_ns = ts; return true;
    case PGSTALL_CKPT_BUFFERS_DONE: c.times.buffers_done_ns = ts; return true;
    case PGSTALL_CKPT_DONE:
      c.times.done_ns = ts;
      c.started = false;
      events_.push_back(c);
      by_postmaster_.erase(postmaster);
      return true;
  }
  return false;
}

std::optional<model::CheckpointEvent> Checkpoints::in_progress(int postmaster) const {
  auto it = by_postmaster_.find(postmaster);
  if (it == by_postmaster_.end() || !it->second.times.start_ns) return std::nullopt;
  return it->second;
}

}  // namespace pgstall::capture
