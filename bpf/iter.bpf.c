/* The user registers of one sleeping task, on demand (record): a task
 * iterator, attached for one tid, writes its saved pc, stack and frame
 * pointer. For a stall that began before pgstall did, no switch-out was seen
 * to save them; these start the DWARF unwind of its user stack. */
#include "common.bpf.h"

SEC("iter/task")
int pgstall_task_regs(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	struct pt_regs *regs = task_user_regs(task);
	if (!regs)
		return 0;
	__u64 out[3];
	out[0] = USER_PC(regs);
	out[1] = USER_SP(regs);
	out[2] = USER_FP(regs);
	bpf_seq_write(ctx->meta->seq, out, sizeof(out));
	return 0;
}
