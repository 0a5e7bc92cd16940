#pragma once
// The BPF ABI seen from C++: the shared header, with its layout pinned so a
// change on one side cannot silently misread the other. Every field of every
// struct in pgstall.h: its offset and its size. A failure here is an ABI
// change: the BPF programs write these bytes and the C++ side reads them.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "pgstall.h"

#define PGSTALL_FIELD(type, field, offset, size)                                              \
  static_assert(offsetof(type, field) == (offset) && sizeof(((type*)nullptr)->field) == (size), \
                #type "." #field " moved or changed size")

static_assert(sizeof(pgstall_mix_slot) == 24);
PGSTALL_FIELD(pgstall_mix_slot, nr_plus1, 0, 4);
PGSTALL_FIELD(pgstall_mix_slot, count, 4, 4);
PGSTALL_FIELD(pgstall_mix_slot, last_ret, 8, 8);
PGSTALL_FIELD(pgstall_mix_slot, same_ret, 16, 4);
PGSTALL_FIELD(pgstall_mix_slot, _pad, 20, 4);

static_assert(sizeof(pgstall_seq_call) == 16);
PGSTALL_FIELD(pgstall_seq_call, nr, 0, 4);
PGSTALL_FIELD(pgstall_seq_call, ret, 4, 4);
PGSTALL_FIELD(pgstall_seq_call, arg0, 8, 4);
PGSTALL_FIELD(pgstall_seq_call, arg2, 12, 4);

static_assert(sizeof(pgstall_window) == 480);
PGSTALL_FIELD(pgstall_window, epoch, 0, 4);
PGSTALL_FIELD(pgstall_window, total, 4, 4);
PGSTALL_FIELD(pgstall_window, repeats, 8, 4);
PGSTALL_FIELD(pgstall_window, other, 12, 4);
PGSTALL_FIELD(pgstall_window, client_io, 16, 4);
PGSTALL_FIELD(pgstall_window, block_issued, 20, 4);
PGSTALL_FIELD(pgstall_window, oncpu_ns, 24, 8);
PGSTALL_FIELD(pgstall_window, mix, 32, 192);
PGSTALL_FIELD(pgstall_window, seq, 224, 256);

static_assert(sizeof(pgstall_pg_wait) == 80);
PGSTALL_FIELD(pgstall_pg_wait, lock_since_ns, 0, 8);
PGSTALL_FIELD(pgstall_pg_wait, lock_field, 8, 16);
PGSTALL_FIELD(pgstall_pg_wait, lock_type, 24, 4);
PGSTALL_FIELD(pgstall_pg_wait, lock_mode, 28, 4);
PGSTALL_FIELD(pgstall_pg_wait, lwlock_since_ns, 32, 8);
PGSTALL_FIELD(pgstall_pg_wait, lwlock_mode, 40, 4);
PGSTALL_FIELD(pgstall_pg_wait, lwlock_stack_id, 44, 4);
PGSTALL_FIELD(pgstall_pg_wait, lwlock_tranche, 48, 32);

static_assert(sizeof(pgstall_thread_state) == 1592);
PGSTALL_FIELD(pgstall_thread_state, flags, 0, 4);
PGSTALL_FIELD(pgstall_thread_state, tgid, 4, 4);
PGSTALL_FIELD(pgstall_thread_state, sc_nr, 8, 4);
PGSTALL_FIELD(pgstall_thread_state, _pad0, 12, 4);
PGSTALL_FIELD(pgstall_thread_state, sc_start_ns, 16, 8);
PGSTALL_FIELD(pgstall_thread_state, sc_args, 24, 32);
PGSTALL_FIELD(pgstall_thread_state, offcpu_since_ns, 56, 8);
PGSTALL_FIELD(pgstall_thread_state, oncpu_since_ns, 64, 8);
PGSTALL_FIELD(pgstall_thread_state, offcpu_state, 72, 4);
PGSTALL_FIELD(pgstall_thread_state, last_waker_pid, 76, 4);
PGSTALL_FIELD(pgstall_thread_state, last_wake_ns, 80, 8);
PGSTALL_FIELD(pgstall_thread_state, oncpu_total_ns, 88, 8);
PGSTALL_FIELD(pgstall_thread_state, nr_syscalls, 96, 8);
PGSTALL_FIELD(pgstall_thread_state, nr_switches, 104, 8);
PGSTALL_FIELD(pgstall_thread_state, nr_sleeps, 112, 8);
PGSTALL_FIELD(pgstall_thread_state, fp, 120, 64);
PGSTALL_FIELD(pgstall_thread_state, fp_idx, 184, 4);
PGSTALL_FIELD(pgstall_thread_state, _pad1, 188, 4);
PGSTALL_FIELD(pgstall_thread_state, cur, 192, 480);
PGSTALL_FIELD(pgstall_thread_state, prev, 672, 480);
PGSTALL_FIELD(pgstall_thread_state, sleep_sc_nr, 1152, 4);
PGSTALL_FIELD(pgstall_thread_state, sc_gen, 1156, 4);
PGSTALL_FIELD(pgstall_thread_state, sleep_sc_args, 1160, 32);
PGSTALL_FIELD(pgstall_thread_state, pg, 1192, 80);
PGSTALL_FIELD(pgstall_thread_state, query_since_ns, 1272, 8);
PGSTALL_FIELD(pgstall_thread_state, query, 1280, 256);
PGSTALL_FIELD(pgstall_thread_state, off_kstack, 1536, 4);
PGSTALL_FIELD(pgstall_thread_state, off_ustack, 1540, 4);
PGSTALL_FIELD(pgstall_thread_state, off_pg, 1544, 4);
PGSTALL_FIELD(pgstall_thread_state, _pad2, 1548, 4);
PGSTALL_FIELD(pgstall_thread_state, sleep_pc, 1552, 8);
PGSTALL_FIELD(pgstall_thread_state, sleep_sp, 1560, 8);
PGSTALL_FIELD(pgstall_thread_state, sleep_fp, 1568, 8);
PGSTALL_FIELD(pgstall_thread_state, runq_total_ns, 1576, 8);
PGSTALL_FIELD(pgstall_thread_state, nr_wakeups, 1584, 8);

static_assert(sizeof(pgstall_offcpu_key) == 32);
PGSTALL_FIELD(pgstall_offcpu_key, tgid, 0, 4);
PGSTALL_FIELD(pgstall_offcpu_key, pid, 4, 4);
PGSTALL_FIELD(pgstall_offcpu_key, kstack, 8, 4);
PGSTALL_FIELD(pgstall_offcpu_key, ustack, 12, 4);
PGSTALL_FIELD(pgstall_offcpu_key, state, 16, 4);
PGSTALL_FIELD(pgstall_offcpu_key, sc_nr, 20, 4);
PGSTALL_FIELD(pgstall_offcpu_key, pg, 24, 4);
PGSTALL_FIELD(pgstall_offcpu_key, seeded, 28, 4);

static_assert(sizeof(pgstall_offcpu_val) == 16);
PGSTALL_FIELD(pgstall_offcpu_val, ns, 0, 8);
PGSTALL_FIELD(pgstall_offcpu_val, count, 8, 8);

static_assert(sizeof(pgstall_oncpu_key) == 16);
PGSTALL_FIELD(pgstall_oncpu_key, tgid, 0, 4);
PGSTALL_FIELD(pgstall_oncpu_key, pid, 4, 4);
PGSTALL_FIELD(pgstall_oncpu_key, kstack, 8, 4);
PGSTALL_FIELD(pgstall_oncpu_key, ustack, 12, 4);

static_assert(sizeof(pgstall_rec_hdr) == 24);
PGSTALL_FIELD(pgstall_rec_hdr, type, 0, 4);
PGSTALL_FIELD(pgstall_rec_hdr, pid, 4, 4);
PGSTALL_FIELD(pgstall_rec_hdr, tgid, 8, 4);
PGSTALL_FIELD(pgstall_rec_hdr, cpu, 12, 4);
PGSTALL_FIELD(pgstall_rec_hdr, ts_ns, 16, 8);

static_assert(sizeof(pgstall_rec_fork) == 48);
PGSTALL_FIELD(pgstall_rec_fork, h, 0, 24);
PGSTALL_FIELD(pgstall_rec_fork, child_pid, 24, 4);
PGSTALL_FIELD(pgstall_rec_fork, child_tgid, 28, 4);
PGSTALL_FIELD(pgstall_rec_fork, comm, 32, 16);

static_assert(sizeof(pgstall_rec_exit) == 32);
PGSTALL_FIELD(pgstall_rec_exit, h, 0, 24);
PGSTALL_FIELD(pgstall_rec_exit, exit_code, 24, 4);
PGSTALL_FIELD(pgstall_rec_exit, _pad, 28, 4);

static_assert(sizeof(pgstall_rec_syscall) == 80);
PGSTALL_FIELD(pgstall_rec_syscall, h, 0, 24);
PGSTALL_FIELD(pgstall_rec_syscall, nr, 24, 4);
PGSTALL_FIELD(pgstall_rec_syscall, _pad, 28, 4);
PGSTALL_FIELD(pgstall_rec_syscall, ret, 32, 8);
PGSTALL_FIELD(pgstall_rec_syscall, start_ns, 40, 8);
PGSTALL_FIELD(pgstall_rec_syscall, args, 48, 32);

static_assert(sizeof(pgstall_rec_offcpu) == 48);
PGSTALL_FIELD(pgstall_rec_offcpu, h, 0, 24);
PGSTALL_FIELD(pgstall_rec_offcpu, start_ns, 24, 8);
PGSTALL_FIELD(pgstall_rec_offcpu, state, 32, 4);
PGSTALL_FIELD(pgstall_rec_offcpu, waker_pid, 36, 4);
PGSTALL_FIELD(pgstall_rec_offcpu, sc_nr, 40, 4);
PGSTALL_FIELD(pgstall_rec_offcpu, _pad, 44, 4);

static_assert(sizeof(pgstall_rec_pg_wait) == 112);
PGSTALL_FIELD(pgstall_rec_pg_wait, h, 0, 24);
PGSTALL_FIELD(pgstall_rec_pg_wait, what, 24, 4);
PGSTALL_FIELD(pgstall_rec_pg_wait, waker_pid, 28, 4);
PGSTALL_FIELD(pgstall_rec_pg_wait, w, 32, 80);

static_assert(sizeof(pgstall_rec_checkpoint) == 32);
PGSTALL_FIELD(pgstall_rec_checkpoint, h, 0, 24);
PGSTALL_FIELD(pgstall_rec_checkpoint, phase, 24, 4);
PGSTALL_FIELD(pgstall_rec_checkpoint, flags, 28, 4);

static_assert(sizeof(pgstall_blk_inflight) == 32);
PGSTALL_FIELD(pgstall_blk_inflight, issue_ns, 0, 8);
PGSTALL_FIELD(pgstall_blk_inflight, dev, 8, 4);
PGSTALL_FIELD(pgstall_blk_inflight, pid, 12, 4);
PGSTALL_FIELD(pgstall_blk_inflight, sector, 16, 8);
PGSTALL_FIELD(pgstall_blk_inflight, nr_sector, 24, 4);
PGSTALL_FIELD(pgstall_blk_inflight, op, 28, 4);

#undef PGSTALL_FIELD

// The window's mix has PGSTALL_MIX_SLOTS slots, its sequence PGSTALL_SEQ_LEN
// calls and the fingerprint ring PGSTALL_FP_RING entries (both powers of two:
// the BPF side masks their indices). The hot-loop detector looks for cycles of
// up to PGSTALL_MIX_SLOTS calls, seen at least twice in the sequence.
static_assert(sizeof(pgstall_window::mix) == PGSTALL_MIX_SLOTS * sizeof(pgstall_mix_slot));
static_assert(sizeof(pgstall_window::seq) == PGSTALL_SEQ_LEN * sizeof(pgstall_seq_call));
static_assert(sizeof(pgstall_thread_state::fp) == PGSTALL_FP_RING * sizeof(__u64));
static_assert((PGSTALL_FP_RING & (PGSTALL_FP_RING - 1)) == 0);
static_assert((PGSTALL_SEQ_LEN & (PGSTALL_SEQ_LEN - 1)) == 0);
static_assert(PGSTALL_SEQ_LEN >= 2 * PGSTALL_MIX_SLOTS && PGSTALL_FP_RING >= PGSTALL_MIX_SLOTS);

// The kernel's error numbers as the BPF side spells them.
static_assert(PGSTALL_ENOMEM == ENOMEM && PGSTALL_EEXIST == EEXIST && PGSTALL_ENOSYS == ENOSYS);

namespace pgstall::capture {

// Weighted stacks drained from the kernel's aggregation maps (record).
struct StackDrain {
  std::vector<std::pair<pgstall_offcpu_key, pgstall_offcpu_val>> offcpu;
  std::vector<std::pair<pgstall_oncpu_key, uint64_t>> oncpu;
};

}  // namespace pgstall::capture
