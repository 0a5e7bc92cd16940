/* Scheduler: off-CPU since when and in which state, on-CPU time, who woke a
 * tracked thread, and the tracked set following fork/exec/exit. sched_wakeup
 * reports waker 0 here (it runs on the target CPU): sched_waking runs in the
 * waker's context. */
#include "common.bpf.h"

/* task_struct.flags: in do_exit (include/linux/sched.h; a macro, not in BTF) */
#define PF_EXITING_FLAG 0x00000004

/* Off-CPU time by stack (record): added when the thread runs again, to the
 * buffer agg_gen selects. A full map is a counted loss. */
static __always_inline void add_offcpu(struct task_struct *t, struct pgstall_thread_state *st, __u64 ns)
{
	struct pgstall_offcpu_key k = {};
	k.tgid = t->tgid;
	k.pid = t->pid;
	k.kstack = st->off_kstack;
	k.ustack = st->off_ustack;
	k.state = st->offcpu_state;
	k.sc_nr = st->sleep_sc_nr;
	k.pg = st->off_pg;
	k.seeded = !!(st->flags & PGSTALL_F_SEEDED_SLEEP);
	struct pgstall_offcpu_val *v, zero = {};
	void *map = agg_gen & 1 ? (void *)&offcpu_agg1 : (void *)&offcpu_agg0;
	v = bpf_map_lookup_elem(map, &k);
	if (!v) {
		/* EEXIST here is another CPU adding the same key: fine */
		bpf_map_update_elem(map, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(map, &k);
		if (!v) {
			count(PGSTALL_CNT_AGG_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->ns, ns);
	__sync_fetch_and_add(&v->count, 1);
}

/* sched_switch, sched_waking and sched_process_fork have no raw_tp twin: each
 * needs the task storage of a task other than the current one (next, the
 * woken task, the child), and bpf_task_storage_get() takes only a trusted BTF
 * task pointer, which a raw_tp argument is not. Task storage for tracing
 * programs (5.13) came long after tp_btf (5.5): where these cannot load,
 * pgstall says so and stops (docs/KERNEL.md). */
SEC("tp_btf/sched_switch")
int BPF_PROG(pgstall_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = 0;
	struct pgstall_thread_state *st = tracked_state(prev);
	if (st) {
		__u32 prev_state = switch_prev_state(ctx, prev);
		now = bpf_ktime_get_ns();
		if (st->oncpu_since_ns) {
			__u64 ran = now - st->oncpu_since_ns;
			st->oncpu_total_ns += ran;
			window(st)->oncpu_ns += ran;
		}
		st->oncpu_since_ns = 0;
		st->offcpu_since_ns = now;
		st->offcpu_state = prev_state;
		st->flags &= ~PGSTALL_F_SEEDED_SLEEP; /* this sleep was seen to begin */
		if (prev->flags & PF_EXITING_FLAG)
			st->flags |= PGSTALL_F_EXITING;
		/* Which syscall it sleeps in, from its saved user registers. A
		 * preempted thread (state 0) is judged on CPU: skip the reads. */
		st->sleep_sc_nr = PGSTALL_NO_SYSCALL;
		if (prev_state) {
			st->nr_sleeps++;
			if (offcpu_stacks) {
				/* In prev's context: its kernel stack into the
				 * scheduler, its user stack at the syscall. */
				st->off_kstack = stack_id(bpf_get_stackid(ctx, &stacks, 0));
				st->off_ustack = stack_id(bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK));
				st->off_pg = st->pg.lock_since_ns   ? PGSTALL_PG_LOCK :
					     st->pg.lwlock_since_ns ? PGSTALL_PG_LWLOCK : PGSTALL_PG_NONE;
			}
			struct pt_regs *regs = task_user_regs(prev);
			long nr = regs ? SC_SLEEP_NR(regs) : -1;
			if (offcpu_stacks && regs) { /* record only: for unwinding a stalled thread */
				st->sleep_pc = USER_PC(regs);
				st->sleep_sp = USER_SP(regs);
				st->sleep_fp = USER_FP(regs);
			}
			if (nr >= 0) {
				st->sleep_sc_nr = nr;
				SAVE_SC_ARGS(st->sleep_sc_args, regs, SC_SLEEP_ARG);
			}
		}
		st->nr_switches++;
		count(PGSTALL_CNT_SWITCHES);
	}
	st = tracked_state(next);
	if (st) {
		if (!now)
			now = bpf_ktime_get_ns();
		__u64 since = st->offcpu_since_ns;
		if (since && now - since >= slow_offcpu_ns) {
			struct pgstall_rec_offcpu *r = reserve(sizeof(*r), PGSTALL_RP_SCHED_SWITCH);
			if (r) {
				/* the header is about next, not current */
				r->h.type = PGSTALL_REC_OFFCPU_SLOW;
				r->h.pid = next->pid;
				r->h.tgid = next->tgid;
				r->h.cpu = bpf_get_smp_processor_id();
				r->h.ts_ns = now;
				r->start_ns = since;
				r->state = st->offcpu_state;
				r->waker_pid = st->last_waker_pid;
				r->sc_nr = st->sleep_sc_nr;
				submit(r);
			}
		}
		/* A sleep that began before pgstall did has no stack: aggregated
		 * as seeded (userspace names it with the stack read at its stall). */
		if (offcpu_stacks && since && st->offcpu_state &&
		    (st->off_kstack != PGSTALL_NO_STACK || st->off_ustack != PGSTALL_NO_STACK ||
		     (st->flags & PGSTALL_F_SEEDED_SLEEP)))
			add_offcpu(next, st, now - since);
		st->flags &= ~PGSTALL_F_SEEDED_SLEEP;
		if (since && !st->offcpu_state) /* preempted: it waited for a CPU */
			st->runq_total_ns += now - since;
		st->offcpu_since_ns = 0;
		st->oncpu_since_ns = now;
	}
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(pgstall_sched_waking, struct task_struct *p)
{
	struct pgstall_thread_state *st = tracked_state(p);
	if (!st)
		return 0;
	st->last_waker_pid = (__u32)bpf_get_current_pid_tgid();
	st->last_wake_ns = bpf_ktime_get_ns();
	st->nr_wakeups++;
	count(PGSTALL_CNT_WAKEUPS);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pgstall_fork, struct task_struct *parent, struct task_struct *child)
{
	struct pgstall_thread_state *pst = tracked_state(parent);
	if (!pst)
		return 0;
	struct pgstall_thread_state *st =
		bpf_task_storage_get(&thread_states, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count(PGSTALL_CNT_STORAGE_FAILS);
		return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	st->flags = PGSTALL_F_TRACKED;
	st->tgid = child->tgid;
	st->sc_nr = PGSTALL_NO_SYSCALL;
	st->sleep_sc_nr = PGSTALL_NO_SYSCALL;
	st->off_kstack = PGSTALL_NO_STACK;
	st->off_ustack = PGSTALL_NO_STACK;
	/* the child has not run yet: it is runnable, off CPU */
	st->offcpu_since_ns = now;
	count(PGSTALL_CNT_FORKS);

	struct pgstall_rec_fork *r = reserve(sizeof(*r), PGSTALL_RP_FORK);
	if (r) {
		fill_hdr(&r->h, PGSTALL_REC_FORK, now);
		r->child_pid = child->pid;
		r->child_tgid = child->tgid;
		bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), child->comm);
		submit(r);
	}
	return 0;
}

/* exec and exit run in the task itself (p is current): their raw_tp twins
 * take it from bpf_get_current_task_btf() and share the body. */
static __always_inline int on_exec(struct task_struct *p)
{
	if (!tracked_state(p))
		return 0;
	count(PGSTALL_CNT_EXECS);
	struct pgstall_rec_hdr *r = reserve(sizeof(*r), PGSTALL_RP_EXEC);
	if (r) {
		fill_hdr(r, PGSTALL_REC_EXEC, bpf_ktime_get_ns());
		submit(r);
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pgstall_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(pgstall_exec_raw)
{
	return on_exec(bpf_get_current_task_btf());
}

static __always_inline int on_exit(struct task_struct *p)
{
	struct pgstall_thread_state *st = tracked_state(p);
	if (!st)
		return 0;
	st->flags |= PGSTALL_F_EXITING;
	count(PGSTALL_CNT_EXITS);
	struct pgstall_rec_exit *r = reserve(sizeof(*r), PGSTALL_RP_EXIT);
	if (r) {
		fill_hdr(&r->h, PGSTALL_REC_EXIT, bpf_ktime_get_ns());
		r->exit_code = p->exit_code;
		submit(r);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pgstall_exit, struct task_struct *p)
{
	return on_exit(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(pgstall_exit_raw)
{
	return on_exit(bpf_get_current_task_btf());
}
