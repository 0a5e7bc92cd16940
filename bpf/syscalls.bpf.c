/* Syscall entry/exit of tracked threads: the in-flight syscall, per-window
 * syscall mix, last calls and "same call again" fingerprints for the hot-loop
 * detector.
 * Runs on every syscall on the machine (untracked threads cost one task
 * storage lookup that finds nothing), so userspace attaches these two only
 * while a busy thread needs them; sched_switch knows the syscall a thread
 * sleeps in without them.
 *
 * Each has a raw_tp twin, loaded instead where tp_btf programs do not load
 * (or with Config::force_raw_tp): both touch only the current task's
 * storage, which bpf_get_current_task_btf() gives either kind, and share one
 * body; the twin reads pt_regs through bpf_probe_read_kernel, having no BTF
 * pointer to it. */
#include "common.bpf.h"

/* The entry of a tracked thread's syscall; its arguments are the caller's to
 * save (it knows how it may read pt_regs). NULL: not a tracked thread. */
static __always_inline struct pgstall_thread_state *sys_enter(long id)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	st->sc_nr = id;
	st->sc_gen = sc_gen;
	st->sc_start_ns = bpf_ktime_get_ns();
	return st;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(pgstall_sys_enter, struct pt_regs *regs, long id)
{
	struct pgstall_thread_state *st = sys_enter(id);
	if (st)
		SAVE_SC_ARGS(st->sc_args, regs, SC_ARG);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(pgstall_sys_enter_raw, struct pt_regs *regs, long id)
{
	struct pgstall_thread_state *st = sys_enter(id);
	if (st)
		SAVE_SC_ARGS(st->sc_args, regs, SC_ARG_CORE);
	return 0;
}

/* The hash of a path argument's text (0: none, or unreadable). One helper
 * call and at most PGSTALL_PATH_LEN bytes hashed, for path syscalls only. */
static __always_inline __u64 path_hash(__s32 nr, const __u64 *args)
{
	int pa = pgstall_sc_path_arg(nr);
	if (pa < 0)
		return 0;
	char path[PGSTALL_PATH_LEN];
	long n = bpf_probe_read_user_str(path, sizeof(path), (const void *)args[pa & 1]);
	return n > 0 ? pgstall_path_hash(path, n) : 0;
}

static __always_inline int sys_exit(long ret)
{
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	if (!st)
		return 0;
	__s32 nr = st->sc_nr;
	if (nr < 0 || st->sc_gen != sc_gen) { /* entered before tracking or tracing began */
		st->sc_nr = PGSTALL_NO_SYSCALL;
		st->sc_gen = sc_gen;
		return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	__u64 start = st->sc_start_ns;
	st->sc_nr = PGSTALL_NO_SYSCALL;
	st->nr_syscalls++;
	count(PGSTALL_CNT_SYSCALLS);

	pgstall_count_syscall(st, epoch, nr, ret, path_hash(nr, st->sc_args));

	if (now - start >= slow_syscall_ns) {
		struct pgstall_rec_syscall *r = reserve(sizeof(*r), PGSTALL_RP_SYS_EXIT);
		if (r) {
			fill_hdr(&r->h, PGSTALL_REC_SYSCALL_SLOW, now);
			r->nr = nr;
			r->ret = ret;
			r->start_ns = start;
			r->args[0] = st->sc_args[0];
			r->args[1] = st->sc_args[1];
			r->args[2] = st->sc_args[2];
			r->args[3] = st->sc_args[3];
			submit(r);
		}
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pgstall_sys_exit, struct pt_regs *regs, long ret)
{
	return sys_exit(ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(pgstall_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return sys_exit(ret);
}
