/* Declarations shared by every pgstall BPF object; the definitions live in
 * maps.bpf.c. All objects are linked into one skeleton (one load, one set of
 * maps). */
#ifndef PGSTALL_COMMON_BPF_H
#define PGSTALL_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "pgstall.h"
#include "logic.h"
#include "core_fixes.bpf.h"

#if defined(__TARGET_ARCH_x86)
/* A syscall argument from pt_regs: SC_ARG through a BTF pointer (tp_btf),
 * SC_ARG_CORE through bpf_probe_read_kernel (any pointer). */
#define SC_ARG(regs, i) ((i) == 0 ? (regs)->di : (i) == 1 ? (regs)->si : (i) == 2 ? (regs)->dx : (regs)->r10)
#define SC_ARG_CORE(regs, i) \
	((i) == 0 ? BPF_CORE_READ(regs, di) : (i) == 1 ? BPF_CORE_READ(regs, si) : \
	 (i) == 2 ? BPF_CORE_READ(regs, dx) : BPF_CORE_READ(regs, r10))
/* Saved user registers of a task switched out (read from its kernel stack).
 * Syscall entry stores -ENOSYS in ax until the syscall returns; an exception
 * or interrupt leaves the user's own ax there, so ax == -ENOSYS with a
 * plausible orig_ax says "inside syscall orig_ax". */
#define SC_SLEEP_NR(regs) \
	((long)BPF_CORE_READ(regs, ax) == -PGSTALL_ENOSYS && BPF_CORE_READ(regs, orig_ax) < 1024 ? \
		 (long)BPF_CORE_READ(regs, orig_ax) : -1L)
#define SC_SLEEP_ARG(regs, i) SC_ARG_CORE(regs, i)
#define USER_PC(regs) BPF_CORE_READ(regs, ip)
#define USER_SP(regs) BPF_CORE_READ(regs, sp)
#define USER_FP(regs) BPF_CORE_READ(regs, bp)
#elif defined(__TARGET_ARCH_arm64)
#define SC_ARG(regs, i) ((regs)->regs[i])
#define SC_ARG_CORE(regs, i) BPF_CORE_READ(regs, regs[i])
/* arm64 keeps the syscall number apart; NO_SYSCALL (-1) outside one. */
#define SC_SLEEP_NR(regs) ((long)(int)BPF_CORE_READ(regs, syscallno))
#define SC_SLEEP_ARG(regs, i) ((i) == 0 ? BPF_CORE_READ(regs, orig_x0) : BPF_CORE_READ(regs, regs[i]))
#define USER_PC(regs) BPF_CORE_READ(regs, pc)
#define USER_SP(regs) BPF_CORE_READ(regs, sp)
#define USER_FP(regs) BPF_CORE_READ(regs, regs[29])
#else
#error "pgstall: unsupported architecture"
#endif
/* The four syscall arguments pgstall keeps, read from regs with ARG. */
#define SAVE_SC_ARGS(dst, regs, ARG)          \
	do {                                  \
		(dst)[0] = ARG(regs, 0);      \
		(dst)[1] = ARG(regs, 1);      \
		(dst)[2] = ARG(regs, 2);      \
		(dst)[3] = ARG(regs, 3);      \
	} while (0)

struct thread_states_map {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pgstall_thread_state);
};
struct counters_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGSTALL_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
};
struct ring_drops_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGSTALL_RP__MAX);
	__type(key, __u32);
	__type(value, __u64);
};
struct events_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by userspace before load */
};
struct user_stacks_map {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, PGSTALL_USTACKS);
	__type(key, __u32);
	__uint(value_size, PGSTALL_USTACK_DEPTH * sizeof(__u64));
};
/* Flame-graph stacks (record). Sized by userspace before load: 1 entry when
 * not recording. */
struct stacks_map {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__uint(value_size, PGSTALL_STACK_DEPTH * sizeof(__u64));
};
/* Double-buffered: programs add to the map agg_gen selects, userspace flips
 * agg_gen and drains the other one, so nothing is lost between read and
 * delete. */
struct offcpu_agg_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pgstall_offcpu_key);
	__type(value, struct pgstall_offcpu_val);
};
struct oncpu_agg_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pgstall_oncpu_key);
	__type(value, __u64);
};
struct blk_inflight_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* struct request * */
	__type(value, struct pgstall_blk_inflight);
};
struct blk_hist_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PGSTALL_BLK_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
};

extern struct thread_states_map thread_states SEC(".maps");
extern struct counters_map counters SEC(".maps");
extern struct ring_drops_map ring_drops SEC(".maps");
extern struct events_map events SEC(".maps");
extern struct blk_inflight_map blk_inflight SEC(".maps");
extern struct blk_hist_map blk_hist SEC(".maps");
extern struct user_stacks_map user_stacks SEC(".maps");
extern struct stacks_map stacks SEC(".maps");
extern struct offcpu_agg_map offcpu_agg0 SEC(".maps");
extern struct offcpu_agg_map offcpu_agg1 SEC(".maps");
extern struct oncpu_agg_map oncpu_agg0 SEC(".maps");
extern struct oncpu_agg_map oncpu_agg1 SEC(".maps");

/* Configuration, set by userspace between open and load. */
extern const volatile __u64 slow_syscall_ns;
extern const volatile __u64 slow_offcpu_ns;
/* Window epoch, bumped by userspace through the mmapped .bss. */
extern volatile __u32 epoch;
/* Syscall-tracing generation, bumped by userspace each time it attaches the
 * syscall tracepoints: a thread's sc_* fields are current only when its
 * sc_gen equals it (else the exit was missed while detached). */
extern volatile __u32 sc_gen;
/* Record: take stacks at switch-out and aggregate off-CPU time by stack. */
extern const volatile __u32 offcpu_stacks;
/* Which aggregation buffer the programs add to (0 or 1); flipped by userspace. */
extern volatile __u32 agg_gen;

static __always_inline void count(enum pgstall_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		(*v)++;
}

/* A stack id from bpf_get_stackid: a stack that was there and could not be
 * kept (map full: -ENOMEM; bucket taken by another stack: -EEXIST, see
 * kernel/bpf/stackmap.c) is a counted loss; no stack at all (-EFAULT) is not. */
static __always_inline __s32 stack_id(long id)
{
	if (id >= 0)
		return (__s32)id;
	if (id == -PGSTALL_ENOMEM || id == -PGSTALL_EEXIST) {
		count(PGSTALL_CNT_STACKS_LOST);
		return PGSTALL_LOST_STACK;
	}
	return PGSTALL_NO_STACK;
}

static __always_inline struct pgstall_thread_state *tracked_state(struct task_struct *t)
{
	return bpf_task_storage_get(&thread_states, t, 0, 0);
}

/* Reserve a ring record; a failure is counted under the probe that lost it
 * (one counter, so the total userspace prints is their sum, never out of
 * step with them), never silent. Records go out with BPF_RB_NO_WAKEUP:
 * userspace drains on a timer, wake-ups were the main per-event cost
 * measured here. */
static __always_inline void *reserve(__u64 size, enum pgstall_ring_probe probe)
{
	void *r = bpf_ringbuf_reserve(&events, size, 0);
	if (!r) {
		__u32 key = probe;
		__u64 *v = bpf_map_lookup_elem(&ring_drops, &key);
		if (v)
			(*v)++;
	}
	return r;
}

static __always_inline void submit(void *r)
{
	count(PGSTALL_CNT_RING_EVENTS);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_hdr(struct pgstall_rec_hdr *h, __u32 type, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	h->type = type;
	h->pid = (__u32)id;
	h->tgid = id >> 32;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = now;
}

/* The thread's window for the epoch userspace has set (logic.h). */
static __always_inline struct pgstall_window *window(struct pgstall_thread_state *st)
{
	return pgstall_window_at(st, epoch);
}

#endif
