/* pgstall ABI: the one header shared by the BPF programs and the C++ side.
 * Fixed-width fields only; every ring record starts with a u32 type tag.
 * The C++ side static_asserts sizes and offsets (userspace/capture/abi.h). */
#ifndef PGSTALL_ABI_H
#define PGSTALL_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define PGSTALL_MIX_SLOTS 8   /* distinct syscall numbers tracked per window: a loop of up to 8 */
#define PGSTALL_FP_RING 8     /* recent (syscall, args, ret) fingerprints kept */
#define PGSTALL_SEQ_LEN 16    /* last calls kept per window, in order (a power of two) */
#define PGSTALL_COMM_LEN 16
#define PGSTALL_NO_SYSCALL (-1)

/* thread_state.flags */
#define PGSTALL_F_TRACKED 1u
/* Asleep since before pgstall (seeded from /proc, no switch-out seen): its
 * sleep is aggregated at its wake with no stack, as offcpu_key.seeded. The
 * next switch-out clears it. */
#define PGSTALL_F_SEEDED_SLEEP 2u
/* In do_exit (PF_EXITING seen at a switch-out or at sched_process_exit): its
 * memory may be locked by its own teardown (exit_mmap holds the mmap lock),
 * so userspace reads nothing from it. */
#define PGSTALL_F_EXITING 4u

/* What Postgres' USDT probes say a thread waits on: thread_state.off_pg,
 * offcpu_key.pg and rec_pg_wait.what (kept as __u32 fields). */
enum pgstall_pg_wait_kind {
	PGSTALL_PG_NONE = 0,
	PGSTALL_PG_LOCK = 1,    /* heavyweight lock (lock__wait__start) */
	PGSTALL_PG_LWLOCK = 2,  /* LWLock (lwlock__wait__start) */
};

/* Kernel error numbers the BPF code compares with. BPF C has no <errno.h>
 * (vmlinux.h carries types, not macros); userspace/capture/abi.h checks them
 * against the C library's. */
enum pgstall_kernel_errno {
	PGSTALL_ENOMEM = 12,  /* bpf_get_stackid: the stack map is full */
	PGSTALL_EEXIST = 17,  /* bpf_get_stackid: the hash bucket holds another stack
	                         (we never pass BPF_F_REUSE_STACKID) */
	PGSTALL_ENOSYS = 38,  /* x86-64 syscall entry leaves -ENOSYS in ax until the syscall returns */
};

/* Per-CPU drop/seen counters (array index). */
enum pgstall_counter {
	PGSTALL_CNT_SYSCALLS = 0,     /* syscalls seen from tracked threads */
	PGSTALL_CNT_SWITCHES,         /* context switches of tracked threads */
	PGSTALL_CNT_WAKEUPS,          /* sched_waking of tracked threads */
	PGSTALL_CNT_FORKS,            /* tracked children created */
	PGSTALL_CNT_EXITS,
	PGSTALL_CNT_EXECS,
	PGSTALL_CNT_BLOCK_ISSUE,
	PGSTALL_CNT_BLOCK_COMPLETE,
	PGSTALL_CNT_RING_EVENTS,      /* records submitted */
	PGSTALL_CNT_RING_DROPS,       /* not written by the kernel: userspace reports here the sum of
	                                 the ring_drops map (per probe), read at the same time */
	PGSTALL_CNT_STORAGE_FAILS,    /* task storage could not be created: child untracked */
	PGSTALL_CNT_BLOCK_MAP_FULL,   /* in-flight block request not recorded */
	PGSTALL_CNT_LOCK_WAITS,       /* USDT lock__wait__start of tracked threads */
	PGSTALL_CNT_LWLOCK_WAITS,     /* USDT lwlock__wait__start */
	PGSTALL_CNT_DEADLOCKS,        /* USDT deadlock__found */
	PGSTALL_CNT_USTACK_LOST,      /* LWLock wait whose user stack could not be kept */
	PGSTALL_CNT_STACKS_LOST,      /* record: a stack not kept (stack map full or bucket taken) */
	PGSTALL_CNT_AGG_FULL,         /* record: a stack's weight not aggregated (aggregation map full) */
	PGSTALL_CNT_ONCPU_SAMPLES,    /* record: on-CPU samples of tracked threads */
	PGSTALL_CNT__MAX
};

/* Ring records lost (bpf_ringbuf_reserve failed: the ring was full), per
 * probe that could not write one: the ring_drops per-CPU array's index. */
enum pgstall_ring_probe {
	PGSTALL_RP_SCHED_SWITCH = 0,  /* PGSTALL_REC_OFFCPU_SLOW: a long sleep's end and its waker */
	PGSTALL_RP_FORK,              /* PGSTALL_REC_FORK */
	PGSTALL_RP_EXIT,              /* PGSTALL_REC_EXIT */
	PGSTALL_RP_EXEC,              /* PGSTALL_REC_EXEC */
	PGSTALL_RP_SYS_EXIT,          /* PGSTALL_REC_SYSCALL_SLOW */
	PGSTALL_RP_LOCK_WAIT_DONE,    /* PGSTALL_REC_PG_WAIT_DONE of a heavyweight lock */
	PGSTALL_RP_LWLOCK_WAIT_DONE,  /* PGSTALL_REC_PG_WAIT_DONE of an LWLock */
	PGSTALL_RP_DEADLOCK,          /* PGSTALL_REC_DEADLOCK */
	PGSTALL_RP_CHECKPOINT,        /* PGSTALL_REC_CHECKPOINT (every checkpoint probe) */
	PGSTALL_RP__MAX
};

/* One window of the syscall mix, swapped when userspace bumps the epoch. */
struct pgstall_mix_slot {
	__u32 nr_plus1;  /* syscall number + 1; 0 = free slot (a zeroed window is empty) */
	__u32 count;
	__s64 last_ret;
	__u32 same_ret;  /* calls that returned the same value as the previous one */
	__u32 _pad;
};

/* One completed call in a window's sequence: enough to see a short cycle and
 * what each call returned. */
struct pgstall_seq_call {
	__s32 nr;
	__s32 ret;   /* the result truncated to 32 bits: errors and byte counts */
	__s32 arg0;  /* the first argument as an int: the fd of fd calls */
	__u32 arg2;  /* the third argument truncated: the byte count of read/write */
};

struct pgstall_window {
	__u32 epoch;
	__u32 total;        /* syscalls in the window */
	__u32 repeats;      /* calls whose fingerprint matched one of the recent ones */
	__u32 other;        /* calls that found no free mix slot */
	__u32 client_io;    /* socket send/recv family: the backend talks to someone */
	__u32 block_issued; /* block requests issued by the thread */
	__u64 oncpu_ns;     /* CPU time accounted in the window (at switch-out) */
	struct pgstall_mix_slot mix[PGSTALL_MIX_SLOTS];
	/* The window's last PGSTALL_SEQ_LEN calls; call i (counting from 0 in
	 * the window) is at seq[i % PGSTALL_SEQ_LEN], so total says which is
	 * the oldest. */
	struct pgstall_seq_call seq[PGSTALL_SEQ_LEN];
};

#define PGSTALL_TRANCHE_LEN 32
#define PGSTALL_USTACK_DEPTH 32    /* user frames kept at an LWLock wait's start */
#define PGSTALL_USTACKS 1024       /* distinct user stacks kept (stack-trace map) */
#define PGSTALL_QUERY_LEN 256      /* query text kept (--queries only) */
#define PGSTALL_STACK_DEPTH 64     /* frames kept per stack for flame graphs (record) */
#define PGSTALL_NO_STACK (-1)      /* no stack: none taken, or none there (a user-mode sample has no kernel stack) */
#define PGSTALL_LOST_STACK (-2)    /* a stack that was there but could not be kept (counted) */

/* Postgres' own words for a wait, from its USDT probes (when the binary has
 * them and they are attached). */
struct pgstall_pg_wait {
	__u64 lock_since_ns;    /* heavyweight lock wait started (0: none) */
	__u32 lock_field[4];    /* LOCKTAG fields 1-4 (field4 is 16 bits in Postgres) */
	__u32 lock_type;        /* LockTagType, version-specific enum */
	__s32 lock_mode;        /* LOCKMODE: 1 AccessShareLock .. 8 AccessExclusiveLock */
	__u64 lwlock_since_ns;  /* LWLock wait started (0: none) */
	__s32 lwlock_mode;      /* LWLockMode: 0 exclusive, 1 shared, 2 wait-until-free */
	__s32 lwlock_stack_id;  /* user stack at the wait's start in user_stacks; < 0: none */
	char lwlock_tranche[PGSTALL_TRANCHE_LEN];
};

/* Per-thread in-flight state, in task storage; userspace reads it by pidfd. */
struct pgstall_thread_state {
	__u32 flags;
	__u32 tgid;
	/* current syscall */
	__s32 sc_nr;           /* PGSTALL_NO_SYSCALL when not in a syscall */
	__u32 _pad0;
	__u64 sc_start_ns;
	__u64 sc_args[4];
	/* scheduler */
	__u64 offcpu_since_ns; /* 0 while on CPU */
	__u64 oncpu_since_ns;  /* 0 while off CPU */
	__u32 offcpu_state;    /* prev_state at switch-out (1 = S, 2 = D, ...) */
	__u32 last_waker_pid;  /* who woke it last (sched_waking) */
	__u64 last_wake_ns;
	__u64 oncpu_total_ns;  /* cumulative */
	__u64 nr_syscalls;     /* cumulative */
	__u64 nr_switches;     /* cumulative */
	__u64 nr_sleeps;       /* cumulative: switch-outs to sleep (not preemptions) */
	/* fingerprints of recent syscalls, for "same call again" */
	__u64 fp[PGSTALL_FP_RING];
	__u32 fp_idx;
	__u32 _pad1;
	struct pgstall_window cur;
	struct pgstall_window prev;  /* the last complete window */
	/* The syscall the thread went to sleep in, read from its saved user
	 * registers at switch-out: known even while the syscall tracepoints are
	 * detached. PGSTALL_NO_SYSCALL when it slept outside a syscall. */
	__s32 sleep_sc_nr;
	__u32 sc_gen;          /* syscall-tracing generation of the last sys_enter/exit */
	__u64 sleep_sc_args[4];
	struct pgstall_pg_wait pg;
	/* The statement running, from query__start/done: only with --queries
	 * (those probes fire on every statement, and the text can hold
	 * personal data). query_since_ns 0: none (or not traced). */
	__u64 query_since_ns;
	char query[PGSTALL_QUERY_LEN];
	/* Stacks at the last switch-out to sleep, in `stacks` (record only):
	 * the exact stacks of a thread stalled now. */
	__s32 off_kstack;
	__s32 off_ustack;
	__u32 off_pg;          /* Postgres wait at switch-out: enum pgstall_pg_wait_kind */
	__u32 _pad2;
	/* User registers saved at its last switch-out to sleep (pc, sp, frame
	 * pointer): where userspace starts a DWARF unwind of a stalled thread. */
	__u64 sleep_pc;
	__u64 sleep_sp;
	__u64 sleep_fp;
	/* Cumulative time runnable but not running: preempted (switched out in
	 * TASK_RUNNING) until it ran again. On CPU plus this is how busy a thread
	 * is whatever the machine's load: a runaway query on a saturated CPU gets
	 * half of it, and is still busy. */
	__u64 runq_total_ns;
	/* Cumulative sched_waking of this thread. A backend answering a fast
	 * client is woken for each message even when the wake-up comes before
	 * it has switched out (then nr_sleeps does not count it): what tells it
	 * from a loop on CPU, which nobody wakes. */
	__u64 nr_wakeups;
};

/* Off-CPU time aggregated in the kernel (record): one entry per thread,
 * stack pair and kind of sleep; the weight is added when the thread runs
 * again. */
struct pgstall_offcpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 kstack;
	__s32 ustack;
	__u32 state;   /* prev_state at switch-out: 1 S, 2 D, ... */
	__s32 sc_nr;   /* the syscall it slept in, -1 none */
	__u32 pg;      /* enum pgstall_pg_wait_kind (from USDT) */
	__u32 seeded;  /* 1: a sleep that began before pgstall; its time is a lower bound, no stack */
};
struct pgstall_offcpu_val {
	__u64 ns;
	__u64 count;
};
/* On-CPU samples (cpu-clock perf events), per thread and stack pair. */
struct pgstall_oncpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 kstack;
	__s32 ustack;
};

/* Ring records */
enum pgstall_rec_type {
	PGSTALL_REC_FORK = 1,
	PGSTALL_REC_EXIT = 2,
	PGSTALL_REC_SYSCALL_SLOW = 3,  /* a syscall that took longer than slow_syscall_ns */
	PGSTALL_REC_OFFCPU_SLOW = 4,   /* an off-CPU period longer than slow_offcpu_ns */
	PGSTALL_REC_EXEC = 5,
	PGSTALL_REC_PG_WAIT_DONE = 6,  /* a lock/LWLock wait longer than slow_offcpu_ns ended */
	PGSTALL_REC_DEADLOCK = 7,      /* deadlock__found: this backend found a deadlock */
	PGSTALL_REC_CHECKPOINT = 8,    /* a checkpoint began, entered a phase or ended */
};

/* Checkpoint phases, in the order CreateCheckPoint passes them. */
enum pgstall_checkpoint_phase {
	PGSTALL_CKPT_START = 1,         /* checkpoint__start (flags) */
	PGSTALL_CKPT_SYNC = 2,          /* buffer__checkpoint__sync__start: buffers written, fsync next */
	PGSTALL_CKPT_BUFFERS_DONE = 3,  /* buffer__checkpoint__done: fsyncs done */
	PGSTALL_CKPT_DONE = 4,          /* checkpoint__done */
	PGSTALL_CKPT_WRITE = 5,         /* buffer__checkpoint__start: SLRUs done, buffers next */
};

struct pgstall_rec_hdr {
	__u32 type;
	__u32 pid;   /* thread id */
	__u32 tgid;
	__u32 cpu;
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};

struct pgstall_rec_fork {
	struct pgstall_rec_hdr h;
	__u32 child_pid;
	__u32 child_tgid;
	char comm[PGSTALL_COMM_LEN];
};

struct pgstall_rec_exit {
	struct pgstall_rec_hdr h;
	__s32 exit_code;
	__u32 _pad;
};

struct pgstall_rec_syscall {
	struct pgstall_rec_hdr h;
	__s32 nr;
	__u32 _pad;
	__s64 ret;
	__u64 start_ns;
	__u64 args[4];
};

struct pgstall_rec_offcpu {
	struct pgstall_rec_hdr h;
	__u64 start_ns;
	__u32 state;     /* prev_state when it went off CPU */
	__u32 waker_pid; /* who woke it (0 if unknown) */
	__s32 sc_nr;     /* syscall it slept in, -1 if none */
	__u32 _pad;
};

struct pgstall_rec_pg_wait {
	struct pgstall_rec_hdr h;
	__u32 what;              /* enum pgstall_pg_wait_kind: PGSTALL_PG_LOCK or PGSTALL_PG_LWLOCK */
	__u32 waker_pid;         /* the last waker when the wait ended */
	struct pgstall_pg_wait w;
};

struct pgstall_rec_checkpoint {
	struct pgstall_rec_hdr h;
	__u32 phase;  /* enum pgstall_checkpoint_phase */
	__u32 flags;  /* CHECKPOINT_* flags, at PGSTALL_CKPT_START */
};

/* In-flight block request, keyed by the request pointer. */
struct pgstall_blk_inflight {
	__u64 issue_ns;
	__u32 dev;
	__u32 pid;       /* issuing thread, 0 if not a tracked one */
	__u64 sector;
	__u32 nr_sector;
	__u32 op;        /* REQ_OP_* low bits */
};

#define PGSTALL_BLK_HIST_SLOTS 32  /* log2 microseconds */

#endif
