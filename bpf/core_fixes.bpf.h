/* Every kernel difference the pgstall programs depend on, each with the
 * kernel change that made it. A renamed field is resolved by CO-RE at load
 * (bpf_core_field_exists); a tracepoint whose arguments changed by a flag
 * userspace sets between open and load from the kernel's BTF (the parameters
 * of btf_trace_<tracepoint>), never from the version number: distributions
 * backport. The flags' defaults are what current kernels do, and the
 * verifier never visits the branch a flag turns off, so a read the running
 * kernel would reject is never checked. docs/KERNEL.md says what each costs. */
#ifndef PGSTALL_CORE_FIXES_BPF_H
#define PGSTALL_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Set by userspace (capture/tracer.cpp) from the kernel's BTF; defined in maps.bpf.c. */
extern const volatile __u32 sched_switch_has_prev_state;
extern const volatile __u32 block_rq_issue_has_queue;
extern const volatile __u32 has_task_pt_regs;

/* A tracepoint argument, read at a constant offset in its own instruction:
 * left to itself the compiler may fold `flag ? ctx[1] : ctx[0]` into one read
 * at a computed offset, which the verifier rejects ("dereference of modified
 * ctx ptr") when the offset is not zero. */
#define TP_ARG(ctx, i)                                                               \
	({                                                                           \
		__u64 arg_;                                                          \
		asm volatile("%0 = *(u64 *)(%1 + %2)" : "=r"(arg_) : "r"(ctx), "i"((i) * 8)); \
		arg_;                                                                \
	})

/* sched_switch(preempt, prev, next, prev_state): prev_state is passed since
 * 5.18, commit fa2c3254d7cf ("sched/tracing: Don't re-read p->state when
 * emitting sched_switch event"). Before, read it from the task, which still
 * holds it when the tracepoint runs (a wake-up racing the switch may already
 * have made it runnable): task_struct::__state, named `state` (a long) before
 * 5.14, commit 2f064a59a11f ("sched: Change task_struct::state"). */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/* ctx: sched_switch's arguments. The fourth is read only where it exists: the
 * verifier rejects a read past a tp_btf program's last argument. */
static __always_inline __u32 switch_prev_state(__u64 *ctx, struct task_struct *prev)
{
	if (sched_switch_has_prev_state)
		return (__u32)TP_ARG(ctx, 3);
	return task_state(prev);
}

/* block_rq_issue(rq): its first argument was the request_queue before 5.11,
 * commit a54895fa057c ("block: remove the request_queue to argument request
 * based tracepoints"), backported to 5.10.137. block_rq_complete has passed
 * the request first since 4.13 at the latest, long before task storage
 * existed for tracing programs (5.13): no variant. */
static __always_inline struct request *issued_request(__u64 *ctx)
{
	if (block_rq_issue_has_queue)
		return (struct request *)TP_ARG(ctx, 1);
	return (struct request *)TP_ARG(ctx, 0);
}

/* A request's disk: request_queue::disk since 5.15, commit d152c682f03c
 * ("block: add an explicit ->disk backpointer to the request_queue"); before,
 * request::rq_disk, removed in 5.17 by commit f3fa33acca9f ("block: remove
 * the ->rq_disk field in struct request"). */
struct request___pre_5_17 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *request_disk(struct request *rq)
{
	struct request_queue *q = 0;
	if (bpf_core_field_exists(q->disk))
		return BPF_CORE_READ(rq, q, disk);
	return BPF_CORE_READ((struct request___pre_5_17 *)rq, rq_disk);
}

/* bpf_task_pt_regs() since 5.15, commit dd6e10fbd9fb ("bpf: Add
 * bpf_task_pt_regs() helper"): without it the syscall a thread sleeps in is
 * not known at switch-out, and the task iterator is not loaded. */
static __always_inline struct pt_regs *task_user_regs(struct task_struct *t)
{
	if (!has_task_pt_regs)
		return 0;
	return (struct pt_regs *)bpf_task_pt_regs(t);
}

#endif
