// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process lifecycle on tracepoints only: fork (raw tracepoint, for the child
 * task), exec and exit (classic tracepoints). No kprobes, fentry or LSM.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "output.h"
#include "path.h"
#include "task.h"

char LICENSE[] SEC("license") = "GPL";

/* Twice the argv bound, so a masked offset plus one bounded read always fits. */
#define DATA_MAX (2 * SONDE_ARGS_MAX)

/* Per-CPU room to build one exec record; the names are scratch, not output. */
struct exec_scratch {
	struct sonde_exec_event ev;
	char data[DATA_MAX];
	struct path_names names;
};

/* One slot per CPU (the loader sets max_entries); too large for a per-CPU array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

/* Keeps the ABI structs in the object's BTF for the generated skeleton types. */
struct sonde_exec_event _abi_exec = {};
struct sonde_exit_event _abi_exit = {};
struct sonde_fork_event _abi_fork = {};

/* include/linux/sched.h: macros are not in BTF. */
#define PF_KTHREAD 0x00200000
/* include/uapi/linux/stat.h */
#define S_IFMT	 00170000
#define S_IFSOCK 0140000
#define S_IFCHR	 0020000
#define S_IFBLK	 0060000

/* sched_process_exit gained group_dead in Linux 6.16. */
struct trace_event_raw_sched_process_exit___since_6_16 {
	bool group_dead;
} __attribute__((preserve_access_index));

static __always_inline __u32 pid_ns_inum(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	bpf_core_read(&upid, sizeof(upid), &pid->numbers[level & 31]);
	return BPF_CORE_READ(upid.ns, ns.inum);
}

static __always_inline void fill_identity(struct sonde_exec_event *ev, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);

	ev->uid = BPF_CORE_READ(cred, uid.val);
	ev->gid = BPF_CORE_READ(cred, gid.val);
	ev->euid = BPF_CORE_READ(cred, euid.val);
	ev->egid = BPF_CORE_READ(cred, egid.val);
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->pid_ns = pid_ns_inum(task);
	ev->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	ev->net_ns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->tty[0] = 0;
	if (tty)
		bpf_core_read_str(ev->tty, sizeof(ev->tty), &tty->name);
}

/* What fd @fd of @task is: its inode's mode, a socket's family, a device's number. */
static __always_inline void fill_stdio(struct sonde_stdio *out, struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct inode *inode;
	struct socket *sock;
	__u16 mode;

	out->mode = 0;
	out->family = 0;
	out->rdev = 0;
	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	out->mode = mode;
	switch (mode & S_IFMT) {
	case S_IFSOCK:
		/* NULL for an O_PATH fd on a socket file, and so family 0. */
		sock = BPF_CORE_READ(file, private_data);
		if (sock)
			out->family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
		break;
	case S_IFCHR:
	case S_IFBLK:
		out->rdev = BPF_CORE_READ(inode, i_rdev);
		break;
	}
}

/* Writes the collected names at @off, flagging @flag if cut; returns the length. */
static __always_inline __u32 append_names(struct exec_scratch *s, __u32 off, bool truncated,
					  __u32 flag)
{
	__u32 len = write_path(s->data, off, &s->names, &truncated);

	if (truncated)
		s->ev.flags |= flag;
	return len;
}

/* Appends the working directory at @off; returns its length. */
static __always_inline __u32 append_cwd(struct exec_scratch *s, __u32 off, struct task_struct *task)
{
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct path pwd = BPF_CORE_READ(fs, pwd);
	bool truncated = false;

	collect_dentry_names(&s->names, pwd.dentry, pwd.mnt, &fs->root, &truncated);
	return append_names(s, off, truncated, SONDE_EXEC_CWD_TRUNCATED);
}

/* Appends the unified-hierarchy cgroup path at @off; returns its length. */
static __always_inline __u32 append_cgroup(struct exec_scratch *s, __u32 off,
					   struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	bool truncated = false;

	collect_kernfs_names(&s->names, kn, &truncated);
	return append_names(s, off, truncated, SONDE_EXEC_CGROUP_TRUNCATED);
}

/* Appends the argv block (NUL-separated, as in /proc/PID/cmdline); returns its length. */
static __always_inline __u32 append_args(struct exec_scratch *s, __u32 off,
					 struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long len = BPF_CORE_READ(mm, arg_end) - start;

	if (len > SONDE_ARGS_MAX) {
		len = SONDE_ARGS_MAX;
		s->ev.flags |= SONDE_EXEC_ARGS_TRUNCATED;
	}
	off &= SONDE_ARGS_MAX - 1;
	if (bpf_probe_read_user(&s->data[off], len, (void *)start)) {
		s->ev.flags |= SONDE_EXEC_ARGS_UNREADABLE;
		return 0;
	}
	return len;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 cpu = bpf_get_smp_processor_id();
	struct exec_scratch *s = bpf_map_lookup_elem(&exec_scratch, &cpu);
	unsigned int filename = ctx->__data_loc_filename & 0xFFFF;
	__u32 off = 0, len;
	long n;

	if (!s)
		return 0;
	s->ev.flags = 0;
	fill_task(&s->ev.task, task);
	fill_identity(&s->ev, task);
	fill_stdio(&s->ev.stdio[0], task, 0);
	fill_stdio(&s->ev.stdio[1], task, 1);
	fill_stdio(&s->ev.stdio[2], task, 2);

	n = bpf_probe_read_kernel_str(s->data, SONDE_PATH_MAX, (void *)ctx + filename);
	len = n > 0 ? n - 1 : 0;
	if (len == SONDE_PATH_MAX - 1)
		s->ev.flags |= SONDE_EXEC_FILENAME_TRUNCATED;
	s->ev.filename_len = len;
	off += len;

	len = append_cwd(s, off, task);
	s->ev.cwd_len = len;
	off += len;

	len = append_cgroup(s, off, task);
	s->ev.cgroup_len = len;
	off += len;

	len = append_args(s, off, task);
	s->ev.args_len = len;
	off += len;

	off &= DATA_MAX - 1;
	fill_header(&s->ev.hdr, SONDE_EVENT_EXEC, sizeof(s->ev) + off);
	output(s, sizeof(s->ev) + off, SONDE_EVENT_EXEC);
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	struct sonde_fork_event ev;

	/* A new thread is not a new process; kernel threads are not processes. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid) ||
	    BPF_CORE_READ(child, flags) & PF_KTHREAD)
		return 0;
	fill_header(&ev.hdr, SONDE_EVENT_FORK, sizeof(ev));
	fill_task(&ev.task, child);
	output(&ev, sizeof(ev), SONDE_EVENT_FORK);
	return 0;
}

/* True when the exiting task is the last of its thread group. */
static __always_inline bool group_dead(void *ctx, struct task_struct *task)
{
	struct trace_event_raw_sched_process_exit___since_6_16 *tp = ctx;

	if (bpf_core_field_exists(tp->group_dead))
		return tp->group_dead;
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sonde_exit_event ev;

	if (!group_dead(ctx, task) || BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return 0;
	fill_header(&ev.hdr, SONDE_EVENT_EXIT, sizeof(ev));
	fill_task(&ev.task, task);
	ev.exit_code = BPF_CORE_READ(task, exit_code);
	ev._pad = 0;
	output(&ev, sizeof(ev), SONDE_EVENT_EXIT);
	return 0;
}
