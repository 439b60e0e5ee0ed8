// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU profiling on a software cpu-clock perf event per CPU (no hardware
 * counters needed). Each sample carries the kernel and user stacks, unwound
 * by the kernel with frame pointers, and, when the loader asks, a copy of the
 * top of the user stack with the user registers, for user space to unwind
 * code built without frame pointers from its .eh_frame tables.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "output.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader. */
const volatile __u32 target_tgid = 0; /* 0: every process */
const volatile __u8 copy_stack = 0;   /* copy the user stack for .eh_frame unwinding */

#define STACK_BYTES (SONDE_STACK_DEPTH * 8)
#define PAGE	    4096
/* A power-of-two mask at least STACK_BYTES, to bound offsets for the verifier. */
#define STACK_MASK 2047

/* The record, built in place: header, kernel then user addresses, stack bytes. */
struct sample_scratch {
	struct sonde_sample_event ev;
	/* Room for both stacks (masked offsets) and the copy, plus one page. */
	__u8 data[STACK_MASK + 1 + SONDE_STACK_COPY + PAGE];
};

/* One slot per CPU (the loader sets max_entries); too large for a per-CPU array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_scratch);
} scratch SEC(".maps");

/* Processes sampled lately: the first sample of another wakes user space at
 * once, so it can read the process's mappings before the process exits. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} known SEC(".maps");

/* enum sonde_profile_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_PROF_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Keeps the ABI struct in the object's BTF for the generated skeleton types. */
struct sonde_sample_event _abi_sample = {};

/* Copies the user stack from @sp up, page by page, stopping at the first page
 * that cannot be read (the top of the stack, or one swapped out). */
static __always_inline __u32 copy_user_stack(__u8 *dst, __u64 sp)
{
	__u32 copied = 0;

	for (int i = 0; i < SONDE_STACK_COPY / PAGE + 1; i++) {
		__u32 want = PAGE - ((sp + copied) & (PAGE - 1));

		if (want > SONDE_STACK_COPY - copied)
			want = SONDE_STACK_COPY - copied;
		if (want == 0)
			break;
		copied &= SONDE_STACK_COPY - 1;
		want = ((want - 1) & (PAGE - 1)) + 1;
		if (bpf_probe_read_user(dst + copied, want, (void *)(sp + copied))) {
			count(&counters, SONDE_PROF_STACK_COPY_SHORT);
			break;
		}
		copied += want;
	}
	return copied;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, cpu = bpf_get_smp_processor_id();
	struct task_struct *task;
	struct sample_scratch *s;
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u32 off = 0, size;
	__u8 one = 1;
	long n;

	count(&counters, SONDE_PROF_SAMPLES);
	if (tgid == 0) {
		count(&counters, SONDE_PROF_IDLE);
		return 0;
	}
	if (target_tgid && tgid != target_tgid) {
		count(&counters, SONDE_PROF_FILTERED);
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s)
		return 0;

	s->ev.flags = 0;
	/* Kernel addresses are the upper half (the context allows only 8-byte loads
	 * of the registers, so not cs). */
	if ((__s64)ctx->regs.ip < 0) {
		s->ev.flags |= SONDE_SAMPLE_KERNEL_MODE;
		n = bpf_get_stack(ctx, s->data, STACK_BYTES, 0);
		if (n < 0) {
			count(&counters, SONDE_PROF_KSTACK_FAILED);
			n = 0;
		}
		off = n & STACK_MASK;
		if (off > STACK_BYTES)
			off = STACK_BYTES;
	}
	s->ev.kstack_len = off / 8;

	task = bpf_get_current_task_btf();
	s->ev.ustack_len = 0;
	s->ev.stack_len = 0;
	s->ev.user_ip = 0;
	s->ev.user_sp = 0;
	s->ev.user_bp = 0;
	if (task->mm) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
		__u32 ulen;

		n = bpf_get_stack(ctx, s->data + off, STACK_BYTES, BPF_F_USER_STACK);
		if (n < 0) {
			count(&counters, SONDE_PROF_USTACK_FAILED);
			n = 0;
		}
		ulen = n & STACK_MASK;
		if (ulen > STACK_BYTES)
			ulen = STACK_BYTES;
		s->ev.ustack_len = ulen / 8;
		off += ulen;
		if (regs) {
			s->ev.user_ip = BPF_CORE_READ(regs, ip);
			s->ev.user_sp = BPF_CORE_READ(regs, sp);
			s->ev.user_bp = BPF_CORE_READ(regs, bp);
		}
		if (copy_stack && s->ev.user_sp) {
			off &= STACK_MASK;
			s->ev.stack_len = copy_user_stack(s->data + off, s->ev.user_sp);
			off += s->ev.stack_len;
		}
	}

	s->ev.pid = tgid;
	s->ev.tid = (__u32)id;
	s->ev.cpu = cpu;
	s->ev.cgroup_id = bpf_get_current_cgroup_id();
	s->ev.start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(s->ev.comm, sizeof(s->ev.comm));
	if (!bpf_map_lookup_elem(&known, &tgid)) {
		bpf_map_update_elem(&known, &tgid, &one, BPF_ANY);
		s->ev.flags |= SONDE_SAMPLE_NEW_PROCESS;
		flags = BPF_RB_FORCE_WAKEUP;
	} else if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
	}
	size = sizeof(s->ev) + off;
	if (size > sizeof(*s))
		return 0;
	fill_header(&s->ev.hdr, SONDE_EVENT_SAMPLE, size);
	if (bpf_ringbuf_output(&events, s, size, flags))
		count(&lost, SONDE_EVENT_SAMPLE);
	return 0;
}
