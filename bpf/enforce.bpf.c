// SPDX-License-Identifier: GPL-2.0-only
/*
 * Enforcement without kprobes or BPF-LSM (issue 7):
 *
 * - kill at exec: the raw tracepoint sched_process_exec runs in the execing
 *   task once the new image is mapped but before it returns to user space.
 *   bpf_send_signal(SIGKILL) queues the signal for the current process; it is
 *   delivered on the way back to user space, so the new image never runs an
 *   instruction. A raw tracepoint, not a classic one: the kernel skips a
 *   classic tracepoint program whenever another BPF program is running on
 *   the CPU, which would let an exec through.
 * - deny connect: cgroup/connect4 and cgroup/connect6 programs, and
 *   cgroup/sendmsg4 and cgroup/sendmsg6 for datagrams sent to an address
 *   without a connect, attached by the loader to the cgroup v2 root, return
 *   0 (EPERM to the caller) for destinations in the connect_rules LPM trie
 *   of the task's cgroup or any ancestor cgroup.
 *
 * Every enforcement, and every dry run, is an ENFORCE record on this
 * object's ring buffer. PID 1 and the agent (agent_tgid) are never signalled.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "output.h"
#include "task.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL	 9
#define AF_INET	 2
#define AF_INET6 10

/* The agent's thread group id, set by the loader: never signalled. */
const volatile __u32 agent_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sonde_kill_key);
	__type(value, struct sonde_kill_rule);
} kill_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct sonde_connect_key);
	__type(value, struct sonde_connect_rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} connect_rules SEC(".maps");

/*
 * How many kill rules ([0]) and connect rules ([1]) are installed, written by
 * user space: with none, a hook returns at once.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} rule_counts SEC(".maps");

static __always_inline bool have_rules(__u32 which)
{
	__u32 *n = bpf_map_lookup_elem(&rule_counts, &which);

	return n && *n;
}

/* Per-CPU room for a lookup key and a record: too large for the stack. */
struct scratch {
	struct sonde_kill_key key;
	struct sonde_enforce_event ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* The connect programs' own: a connect may preempt an exec on the same CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_enforce_event);
} connect_scratch SEC(".maps");

/* Keeps the ABI structs in the object's BTF for the generated skeleton types. */
struct sonde_enforce_event _abi_enforce = {};
struct sonde_kill_key _abi_kill_key = {};
struct sonde_kill_rule _abi_kill_rule = {};
struct sonde_connect_key _abi_connect_key = {};
struct sonde_connect_rule _abi_connect_rule = {};

static __always_inline bool comm_equal(const char *a, const char *b)
{
	return *(const __u64 *)a == *(const __u64 *)b &&
	       *(const __u64 *)(a + 8) == *(const __u64 *)(b + 8);
}

/* True when a real_parent of @task within SONDE_ENFORCE_ANCESTRY_MAX has comm @want. */
static __always_inline bool has_ancestor(struct task_struct *task, const char *want)
{
	struct task_struct *t = BPF_CORE_READ(task, real_parent);
	char comm[16];

	for (int i = 0; i < SONDE_ENFORCE_ANCESTRY_MAX; i++) {
		if (!t || BPF_CORE_READ(t, pid) == 0)
			return false;
		__builtin_memset(comm, 0, sizeof(comm));
		bpf_probe_read_kernel_str(comm, sizeof(comm), &t->comm);
		if (comm_equal(comm, want))
			return true;
		t = BPF_CORE_READ(t, real_parent);
	}
	return false;
}

static __always_inline bool in_cgroup(__u64 cgroup_id, __u32 level)
{
	if (!cgroup_id)
		return true;
	return bpf_get_current_ancestor_cgroup_id(level) == cgroup_id;
}

/* The rule for the filled-in key whose conditions the task meets, if any. */
static __always_inline struct sonde_kill_rule *match(struct sonde_kill_key *key,
						     struct task_struct *task)
{
	struct sonde_kill_rule *rule = bpf_map_lookup_elem(&kill_rules, key);

	if (!rule || !in_cgroup(rule->cgroup_id, rule->cgroup_level))
		return NULL;
	if (rule->ancestor[0] && !has_ancestor(task, rule->ancestor))
		return NULL;
	return rule;
}

/* Zeroes the record past its header and fills who and which rule. */
static __always_inline void fill_common(struct sonde_enforce_event *ev, __u8 action, __u32 rule_id,
					__u32 flags)
{
	__builtin_memset(ev, 0, sizeof(*ev));
	fill_header(&ev->hdr, SONDE_EVENT_ENFORCE, sizeof(*ev));
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->rule_id = rule_id;
	ev->action = action;
	ev->flags = flags;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

/* raw tracepoint sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm
 * *bprm) */
SEC("raw_tracepoint/sched_process_exec")
int enforce_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct file *file = BPF_CORE_READ(bprm, file);
	struct sonde_kill_rule *rule;
	struct scratch *s;
	__u32 zero = 0, tgid, flags;
	const char *filename;

	if (!have_rules(0))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;

	/* The executed file, by identity: survives symlinks, hard links, relative paths. */
	__builtin_memset(&s->key, 0, sizeof(s->key));
	s->key.match = SONDE_KILL_BY_INODE;
	s->key.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	s->key.ino = BPF_CORE_READ(file, f_inode, i_ino);
	rule = match(&s->key, task);

	/* The path as given to execve(): a script's own path (its file is the interpreter). */
	filename = BPF_CORE_READ(bprm, filename);
	if (!rule) {
		__builtin_memset(&s->key, 0, sizeof(s->key));
		s->key.match = SONDE_KILL_BY_PATH;
		bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name), filename);
		rule = match(&s->key, task);
	}
	/* The executed file's name. */
	if (!rule) {
		__builtin_memset(&s->key, 0, sizeof(s->key));
		s->key.match = SONDE_KILL_BY_NAME;
		bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name),
					  BPF_CORE_READ(file, f_path.dentry, d_name.name));
		rule = match(&s->key, task);
	}
	if (!rule)
		return 0;

	flags = rule->flags & SONDE_ENFORCE_DRY_RUN;
	tgid = BPF_CORE_READ(task, tgid);
	if (tgid == 1 || tgid == agent_tgid)
		flags |= SONDE_ENFORCE_SPARED;
	fill_common(&s->ev, SONDE_ENFORCE_KILL, rule->rule_id, flags);
	fill_task(&s->ev.task, task);
	bpf_probe_read_kernel_str(s->ev.binary, sizeof(s->ev.binary), filename);
	if (!flags)
		s->ev.error = bpf_send_signal(SIGKILL);
	output(&s->ev, sizeof(s->ev), SONDE_EVENT_ENFORCE);
	return 0;
}

/* The rule for (cgroup level, port) whose prefix covers @addr, if any. */
static __always_inline struct sonde_connect_rule *connect_rule(struct sonde_connect_key *key,
							       const __u8 *addr, __u16 port)
{
	struct sonde_connect_rule *rule;

	__builtin_memcpy(key->addr, addr, 16);
	key->prefixlen = 64 + 16 + 128;
	for (int level = 0; level < SONDE_ENFORCE_CGROUP_DEPTH; level++) {
		key->cgroup_id = bpf_get_current_ancestor_cgroup_id(level);
		if (!key->cgroup_id)
			break;
		key->port = port;
		rule = bpf_map_lookup_elem(&connect_rules, key);
		if (rule)
			return rule;
		key->port = 0;
		rule = bpf_map_lookup_elem(&connect_rules, key);
		if (rule)
			return rule;
	}
	return NULL;
}

static __always_inline int check_connect(const __u8 *addr, __u16 port, __u16 family, __u8 action)
{
	struct sonde_connect_key key = {};
	struct sonde_connect_rule *rule;
	struct sonde_enforce_event *ev;
	__u32 zero = 0;
	__u64 id;

	if (!have_rules(1))
		return 1;
	rule = connect_rule(&key, addr, port);
	if (!rule)
		return 1;
	ev = bpf_map_lookup_elem(&connect_scratch, &zero);
	if (ev) {
		fill_common(ev, action, rule->rule_id, rule->flags & SONDE_ENFORCE_DRY_RUN);
		id = bpf_get_current_pid_tgid();
		ev->task.pid = id >> 32;
		ev->task.tid = (__u32)id;
		__builtin_memcpy(ev->daddr, addr, 16);
		ev->dport = port;
		ev->family = family;
		output(ev, sizeof(*ev), SONDE_EVENT_ENFORCE);
	}
	return rule->flags & SONDE_ENFORCE_DRY_RUN ? 1 : 0;
}

static __always_inline int check4(struct bpf_sock_addr *ctx, __u8 action)
{
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;

	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(&addr[12], &ip, 4);
	return check_connect(addr, bpf_ntohs(ctx->user_port), AF_INET, action);
}

static __always_inline int check6(struct bpf_sock_addr *ctx, __u8 action)
{
	__u32 ip[4];

	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	return check_connect((const __u8 *)ip, bpf_ntohs(ctx->user_port), AF_INET6, action);
}

SEC("cgroup/connect4")
int enforce_connect4(struct bpf_sock_addr *ctx)
{
	return check4(ctx, SONDE_ENFORCE_DENY_CONNECT);
}

SEC("cgroup/connect6")
int enforce_connect6(struct bpf_sock_addr *ctx)
{
	return check6(ctx, SONDE_ENFORCE_DENY_CONNECT);
}

/* A datagram sent to an address: unconnected UDP, which connect() never sees. */
SEC("cgroup/sendmsg4")
int enforce_sendmsg4(struct bpf_sock_addr *ctx)
{
	return check4(ctx, SONDE_ENFORCE_DENY_SEND);
}

SEC("cgroup/sendmsg6")
int enforce_sendmsg6(struct bpf_sock_addr *ctx)
{
	return check6(ctx, SONDE_ENFORCE_DENY_SEND);
}
