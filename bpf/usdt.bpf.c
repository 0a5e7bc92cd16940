/* PostgreSQL's own USDT probes, contention only: a heavyweight lock wait
 * (lock tag + mode), an LWLock wait (tranche + mode), a deadlock found, and
 * a checkpoint's start, phases and end (a few per checkpoint).
 * Per-acquire probes fire millions of times a second and are never attached.
 * Attached per postgres binary with pid -1, so backends forked later are
 * covered; untracked processes cost one task storage lookup. */
#include "common.bpf.h"
#include <bpf/usdt.bpf.h>

SEC("usdt")
int BPF_USDT(pgstall_lock_wait_start, unsigned int f1, unsigned int f2, unsigned int f3, unsigned int f4,
	     unsigned int type, int mode)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	st->pg.lock_since_ns = bpf_ktime_get_ns();
	st->pg.lock_field[0] = f1;
	st->pg.lock_field[1] = f2;
	st->pg.lock_field[2] = f3;
	st->pg.lock_field[3] = f4;
	st->pg.lock_type = type;
	st->pg.lock_mode = mode;
	count(PGSTALL_CNT_LOCK_WAITS);
	return 0;
}

/* A wait that lasted long enough to matter goes to the ring, with its tag:
 * the history of what was waited for, after the fact. */
static __always_inline void wait_done(struct pgstall_thread_state *st, enum pgstall_pg_wait_kind what, __u64 since)
{
	__u64 now = bpf_ktime_get_ns();
	if (!since || now - since < slow_offcpu_ns)
		return;
	struct pgstall_rec_pg_wait *r =
		reserve(sizeof(*r), what == PGSTALL_PG_LOCK ? PGSTALL_RP_LOCK_WAIT_DONE : PGSTALL_RP_LWLOCK_WAIT_DONE);
	if (!r)
		return;
	fill_hdr(&r->h, PGSTALL_REC_PG_WAIT_DONE, now);
	r->what = what;
	r->waker_pid = st->last_waker_pid;
	__builtin_memcpy(&r->w, &st->pg, sizeof(r->w));
	submit(r);
}

SEC("usdt")
int BPF_USDT(pgstall_lock_wait_done)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	wait_done(st, PGSTALL_PG_LOCK, st->pg.lock_since_ns);
	st->pg.lock_since_ns = 0;
	return 0;
}

SEC("usdt")
int BPF_USDT(pgstall_lwlock_wait_start, const char *tranche, int mode)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	st->pg.lwlock_since_ns = bpf_ktime_get_ns();
	st->pg.lwlock_mode = mode;
	if (bpf_probe_read_user_str(st->pg.lwlock_tranche, sizeof(st->pg.lwlock_tranche), tranche) < 0)
		st->pg.lwlock_tranche[0] = 0;
	/* Who waits: the sleep itself is a futex in libc, whose frames end the
	 * walk; here, inside Postgres (frame pointers kept), the callers are
	 * all there. */
	st->pg.lwlock_stack_id = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
	if (st->pg.lwlock_stack_id < 0)
		count(PGSTALL_CNT_USTACK_LOST); /* map full, or a hash collision with another stack */
	count(PGSTALL_CNT_LWLOCK_WAITS);
	return 0;
}

SEC("usdt")
int BPF_USDT(pgstall_lwlock_wait_done)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	wait_done(st, PGSTALL_PG_LWLOCK, st->pg.lwlock_since_ns);
	st->pg.lwlock_since_ns = 0;
	return 0;
}

SEC("usdt")
int BPF_USDT(pgstall_deadlock_found)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	count(PGSTALL_CNT_DEADLOCKS);
	struct pgstall_rec_pg_wait *r = reserve(sizeof(*r), PGSTALL_RP_DEADLOCK);
	if (!r)
		return 0;
	fill_hdr(&r->h, PGSTALL_REC_DEADLOCK, bpf_ktime_get_ns());
	r->what = PGSTALL_PG_LOCK;
	r->waker_pid = 0;
	__builtin_memcpy(&r->w, &st->pg, sizeof(r->w));
	submit(r);
	return 0;
}

/* Opt-in (--queries): every statement's start and end. Costly (a uprobe
 * trap per statement twice) and the text may hold personal data, so it is
 * never loaded by default. */
SEC("usdt")
int BPF_USDT(pgstall_query_start, const char *query)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	st->query_since_ns = bpf_ktime_get_ns();
	if (bpf_probe_read_user_str(st->query, sizeof(st->query), query) < 0)
		st->query[0] = 0;
	return 0;
}

SEC("usdt")
int BPF_USDT(pgstall_query_done)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	st->query_since_ns = 0;
	return 0;
}

static __always_inline int checkpoint_rec(__u32 phase, __u32 flags)
{
	if (!tracked_state(bpf_get_current_task_btf()))
		return 0;
	struct pgstall_rec_checkpoint *r = reserve(sizeof(*r), PGSTALL_RP_CHECKPOINT);
	if (!r)
		return 0;
	fill_hdr(&r->h, PGSTALL_REC_CHECKPOINT, bpf_ktime_get_ns());
	r->phase = phase;
	r->flags = flags;
	submit(r);
	return 0;
}

SEC("usdt")
int BPF_USDT(pgstall_checkpoint_start, int flags)
{
	return checkpoint_rec(PGSTALL_CKPT_START, flags);
}

SEC("usdt")
int BPF_USDT(pgstall_checkpoint_write_start, int flags)
{
	return checkpoint_rec(PGSTALL_CKPT_WRITE, flags);
}

SEC("usdt")
int BPF_USDT(pgstall_checkpoint_sync_start)
{
	return checkpoint_rec(PGSTALL_CKPT_SYNC, 0);
}

SEC("usdt")
int BPF_USDT(pgstall_checkpoint_buffers_done)
{
	return checkpoint_rec(PGSTALL_CKPT_BUFFERS_DONE, 0);
}

/* checkpoint__done's arguments are RIP-relative memory operands
 * (-4@40+CheckpointStats(%rip)), which libbpf 1.1's USDT attach rejects:
 * a plain uprobe at the probe's address, no arguments read. */
SEC("uprobe")
int pgstall_checkpoint_done(struct pt_regs *ctx)
{
	return checkpoint_rec(PGSTALL_CKPT_DONE, 0);
}
