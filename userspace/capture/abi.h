#pragma once
// The BPF ABI seen from C++: the shared header, with its layout pinned so a
// change on one side cannot silently misread the other.
#include <cstddef>

#include "pgstall.h"

static_assert(sizeof(pgstall_mix_slot) == 24);
static_assert(offsetof(pgstall_window, mix) == 32 && sizeof(pgstall_window) == 32 + PGSTALL_MIX_SLOTS * 24);
static_assert(offsetof(pgstall_thread_state, sc_start_ns) == 16);
static_assert(offsetof(pgstall_thread_state, fp) % 8 == 0);
static_assert(sizeof(pgstall_thread_state) % 8 == 0);
static_assert(offsetof(pgstall_rec_hdr, ts_ns) == 16 && sizeof(pgstall_rec_hdr) == 24);
static_assert(offsetof(pgstall_rec_fork, child_pid) == sizeof(pgstall_rec_hdr));
static_assert(sizeof(pgstall_rec_syscall) == 24 + 8 + 8 + 8 + 32);
static_assert(sizeof(pgstall_rec_offcpu) == 24 + 8 + 16);
static_assert(sizeof(pgstall_blk_inflight) == 32);
static_assert(sizeof(pgstall_offcpu_key) == 32 && sizeof(pgstall_offcpu_val) == 16);
static_assert(sizeof(pgstall_oncpu_key) == 16);
