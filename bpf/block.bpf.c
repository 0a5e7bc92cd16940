/* Block layer: requests in flight (userspace finds the oldest per device),
 * a log2 latency histogram, and requests issued by tracked threads. Under a
 * frozen filesystem or a throttled device the delay is before the request
 * exists, so these say "the disk is fine" as often as "the disk is slow".
 *
 * Both have a raw_tp twin sharing their body (only the current task's
 * storage is touched); the request is read with BPF_CORE_READ either way. */
#include "common.bpf.h"

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = request_disk(rq);
	if (!disk)
		return 0;
	return (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline int rq_issue(struct request *rq)
{
	struct pgstall_blk_inflight v = {};
	__u64 key = (__u64)rq;
	struct pgstall_thread_state *st = tracked_state(bpf_get_current_task_btf());
	v.issue_ns = bpf_ktime_get_ns();
	v.dev = rq_dev(rq);
	v.sector = BPF_CORE_READ(rq, __sector);
	v.nr_sector = BPF_CORE_READ(rq, __data_len) >> 9;
	v.op = BPF_CORE_READ(rq, cmd_flags) & 0xff;
	if (st) {
		v.pid = (__u32)bpf_get_current_pid_tgid();
		window(st)->block_issued++;
	}
	if (bpf_map_update_elem(&blk_inflight, &key, &v, BPF_ANY))
		count(PGSTALL_CNT_BLOCK_MAP_FULL);
	count(PGSTALL_CNT_BLOCK_ISSUE);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(pgstall_block_rq_issue)
{
	return rq_issue(issued_request(ctx));
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(pgstall_block_rq_issue_raw)
{
	return rq_issue(issued_request(ctx));
}

static __always_inline int rq_complete(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct pgstall_blk_inflight *v = bpf_map_lookup_elem(&blk_inflight, &key);
	if (!v)
		return 0;
	__u64 us = (bpf_ktime_get_ns() - v->issue_ns) / 1000;
	bpf_map_delete_elem(&blk_inflight, &key);
	__u32 slot = 0;
	while (us > 1 && slot < PGSTALL_BLK_HIST_SLOTS - 1) {
		us >>= 1;
		slot++;
	}
	__u64 *c = bpf_map_lookup_elem(&blk_hist, &slot);
	if (c)
		(*c)++;
	count(PGSTALL_CNT_BLOCK_COMPLETE);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(pgstall_block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	return rq_complete(rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(pgstall_block_rq_complete_raw, struct request *rq)
{
	return rq_complete(rq);
}
