/* The in-kernel decisions of the hot-loop detector, as pure functions over
 * the ABI structs: no BPF helpers, no maps, no globals. The BPF programs call
 * them (through common.bpf.h) and tests/unit/bpf_logic_test.cpp compiles the
 * same code as C++, so what the kernel decides is tested without a kernel. */
#ifndef PGSTALL_LOGIC_H
#define PGSTALL_LOGIC_H

#include "pgstall.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Socket send/receive syscalls: a backend making them is talking to a client,
 * which is progress, not a loop. Postgres uses send()/recv(). */
static __always_inline int pgstall_sc_is_client_io(long nr)
{
#if defined(__TARGET_ARCH_x86) || (!defined(__bpf__) && defined(__x86_64__))
	return nr >= 44 && nr <= 47; /* sendto recvfrom sendmsg recvmsg */
#elif defined(__TARGET_ARCH_arm64) || (!defined(__bpf__) && defined(__aarch64__))
	return nr == 206 || nr == 207 || nr == 211 || nr == 212;
#else
#error "pgstall: unsupported architecture"
#endif
}

/* Which argument of a syscall is a path, or -1: its text, not the address of
 * the buffer holding it, says whether a call is the same again (a loop that
 * opens the same file passes the name in a fresh palloc'd buffer each turn).
 * The common path calls only; the rest keep their address in the fingerprint. */
static __always_inline int pgstall_sc_path_arg(long nr)
{
#if defined(__TARGET_ARCH_x86) || (!defined(__bpf__) && defined(__x86_64__))
	switch (nr) {
	case 2:   /* open */
	case 4:   /* stat */
	case 6:   /* lstat */
	case 21:  /* access */
	case 85:  /* creat */
	case 87:  /* unlink */
	case 89:  /* readlink */
		return 0;
	case 257: /* openat */
	case 262: /* newfstatat */
	case 263: /* unlinkat */
	case 267: /* readlinkat */
	case 269: /* faccessat */
	case 332: /* statx */
	case 437: /* openat2 */
	case 439: /* faccessat2 */
		return 1;
	}
#elif defined(__TARGET_ARCH_arm64) || (!defined(__bpf__) && defined(__aarch64__))
	switch (nr) {
	case 35:  /* unlinkat */
	case 48:  /* faccessat */
	case 56:  /* openat */
	case 78:  /* readlinkat */
	case 79:  /* newfstatat */
	case 291: /* statx */
	case 437: /* openat2 */
	case 439: /* faccessat2 */
		return 1;
	}
#endif
	return -1;
}

#define PGSTALL_PATH_LEN 128  /* bytes of a path argument hashed */

/* FNV-1a of a path's first n bytes, n as bpf_probe_read_user_str returns it
 * (the NUL included), at most PGSTALL_PATH_LEN. */
static __always_inline __u64 pgstall_path_hash(const char *s, long n)
{
	__u64 h = 0xcbf29ce484222325ULL;
	for (int i = 0; i < PGSTALL_PATH_LEN; i++) {
		if (i >= n)
			break;
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	}
	return h;
}

/* The thread's window for this epoch. When userspace has bumped the epoch
 * since the thread's last event, the finished window moves to prev (so
 * userspace always has one complete window to read) and a zeroed one starts. */
static __always_inline struct pgstall_window *pgstall_window_at(struct pgstall_thread_state *st, __u32 epoch)
{
	if (st->cur.epoch != epoch) {
		__builtin_memcpy(&st->prev, &st->cur, sizeof(st->prev));
		__builtin_memset(&st->cur, 0, sizeof(st->cur));
		st->cur.epoch = epoch;
	}
	return &st->cur;
}

static __always_inline __u64 pgstall_mix64(__u64 h, __u64 v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

/* A completed syscall's fingerprint: its number, first four arguments and
 * result. */
static __always_inline __u64 pgstall_fingerprint(__s32 nr, const __u64 *args, __s64 ret)
{
	__u64 h = pgstall_mix64(nr, args[0]);
	h = pgstall_mix64(h, args[1]);
	h = pgstall_mix64(h, args[2]);
	h = pgstall_mix64(h, args[3]);
	return pgstall_mix64(h, ret);
}

/* Whether fp matches one of the thread's last PGSTALL_FP_RING fingerprints;
 * then remembers it, in place of the oldest. */
static __always_inline int pgstall_fp_seen(struct pgstall_thread_state *st, __u64 fp)
{
	int seen = 0;
	for (int i = 0; i < PGSTALL_FP_RING; i++)
		if (st->fp[i] == fp)
			seen = 1;
	st->fp[st->fp_idx & (PGSTALL_FP_RING - 1)] = fp;
	st->fp_idx++;
	return seen;
}

/* Counts a call in the window's mix: in the slot of its number, else in the
 * first free slot; a call that finds neither is counted in other. same_ret
 * counts calls that returned what the previous call of that number did. */
static __always_inline void pgstall_mix_add(struct pgstall_window *w, __s32 nr, __s64 ret)
{
	for (int i = 0; i < PGSTALL_MIX_SLOTS; i++) {
		struct pgstall_mix_slot *s = &w->mix[i];
		if (s->nr_plus1 == 0)
			s->nr_plus1 = nr + 1;
		if (s->nr_plus1 == (__u32)nr + 1) {
			if (s->count > 0 && s->last_ret == ret)
				s->same_ret++;
			s->count++;
			s->last_ret = ret;
			return;
		}
	}
	w->other++;
}

/* Appends a call to the window's sequence, in place of the oldest once it is
 * full. Call it before counting the call in total: total is the call's index. */
static __always_inline void pgstall_seq_add(struct pgstall_window *w, __s32 nr, const __u64 *args, __s64 ret)
{
	struct pgstall_seq_call *c = &w->seq[w->total & (PGSTALL_SEQ_LEN - 1)];
	c->nr = nr;
	c->ret = (__s32)ret;
	c->arg0 = (__s32)args[0];
	c->arg2 = (__u32)args[2];
}

/* A completed syscall (number nr, arguments in st->sc_args, result ret) of a
 * tracked thread, counted in its window for this epoch. path_hash: the
 * pgstall_path_hash of its path argument (pgstall_sc_path_arg), 0 when it has
 * none or it could not be read. */
static __always_inline void pgstall_count_syscall(struct pgstall_thread_state *st, __u32 epoch, __s32 nr,
						  __s64 ret, __u64 path_hash)
{
	struct pgstall_window *w = pgstall_window_at(st, epoch);
	pgstall_seq_add(w, nr, st->sc_args, ret);
	w->total++;
	if (pgstall_sc_is_client_io(nr))
		w->client_io++;
	/* The same call with the same arguments and result as a recent one is no
	 * progress: a scan reading advancing offsets never matches. A path counts
	 * by its text. */
	__u64 args[4] = {st->sc_args[0], st->sc_args[1], st->sc_args[2], st->sc_args[3]};
	int pa = pgstall_sc_path_arg(nr);
	if (path_hash && pa >= 0)
		args[pa & 1] = path_hash;
	if (pgstall_fp_seen(st, pgstall_fingerprint(nr, args, ret)))
		w->repeats++;
	pgstall_mix_add(w, nr, ret);
}

#endif
