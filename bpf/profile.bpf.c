/* On-CPU sampling (record): a cpu-clock perf event on every CPU at a chosen
 * rate (hardware events are not there in a VM); a sample of a tracked
 * thread counts its kernel and user stacks. */
#include "common.bpf.h"

SEC("perf_event")
int pgstall_oncpu_sample(struct bpf_perf_event_data *ctx)
{
	if (!tracked_state(bpf_get_current_task_btf()))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct pgstall_oncpu_key k = {};
	k.tgid = id >> 32;
	k.pid = (__u32)id;
	k.kstack = stack_id(bpf_get_stackid(ctx, &stacks, 0));
	k.ustack = stack_id(bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK));
	count(PGSTALL_CNT_ONCPU_SAMPLES);
	void *map = agg_gen & 1 ? (void *)&oncpu_agg1 : (void *)&oncpu_agg0;
	__u64 *v = bpf_map_lookup_elem(map, &k), one = 1;
	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	if (bpf_map_update_elem(map, &k, &one, BPF_NOEXIST)) {
		/* raced with another CPU adding the same key, or full */
		v = bpf_map_lookup_elem(map, &k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			count(PGSTALL_CNT_AGG_FULL);
	}
	return 0;
}
