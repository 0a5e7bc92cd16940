/* The one definition of every map and setting shared by the pgstall objects. */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct thread_states_map thread_states SEC(".maps");
struct counters_map counters SEC(".maps");
struct ring_drops_map ring_drops SEC(".maps");
struct events_map events SEC(".maps");
struct blk_inflight_map blk_inflight SEC(".maps");
struct blk_hist_map blk_hist SEC(".maps");
struct user_stacks_map user_stacks SEC(".maps");
struct stacks_map stacks SEC(".maps");
struct offcpu_agg_map offcpu_agg0 SEC(".maps");
struct offcpu_agg_map offcpu_agg1 SEC(".maps");
struct oncpu_agg_map oncpu_agg0 SEC(".maps");
struct oncpu_agg_map oncpu_agg1 SEC(".maps");

const volatile __u64 slow_syscall_ns = 1000000000ULL;
const volatile __u64 slow_offcpu_ns = 1000000000ULL;
volatile __u32 epoch;
volatile __u32 sc_gen;
const volatile __u32 offcpu_stacks = 0;
volatile __u32 agg_gen;

/* Kernel variants (core_fixes.bpf.h), set by userspace from the kernel's BTF:
 * these defaults are current kernels'. */
const volatile __u32 sched_switch_has_prev_state = 1;
const volatile __u32 block_rq_issue_has_queue = 0;
const volatile __u32 has_task_pt_regs = 1;
