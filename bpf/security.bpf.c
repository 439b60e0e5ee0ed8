// SPDX-License-Identifier: GPL-2.0-only
/*
 * File and security events on syscall tracepoints only (no kprobes, fentry or
 * LSM).
 *
 * File operations (open, creat, unlink, rename, chmod, chown) are filtered in
 * the kernel at syscall entry: the path the caller passed is looked up in
 * `watch_prefixes`, an LPM trie of path bytes filled by user space. Only a
 * watched path (or a relative one, which the kernel cannot place cheaply:
 * user space resolves it from /proc and filters it again) is kept. A kept
 * call is parked per thread until its sys_exit tracepoint adds the result,
 * then written to the ring.
 *
 * Security operations (set*id, capset, ptrace, memfd_create, mount, umount,
 * module load and unload, BPF program loads, unshare, setns) are parked the
 * same way, with the caller's credentials at entry and at exit. An exec whose
 * file is a memfd is reported at sched_process_exec.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "output.h"
#include "task.h"

char LICENSE[] SEC("license") = "GPL";

/* Keeps the ABI structs in the object's BTF for the generated skeleton types. */
struct sonde_file_event _abi_file = {};
struct sonde_security_event _abi_security = {};
struct sonde_watch_key _abi_watch_key = {};
struct sonde_watch_value _abi_watch_value = {};

/* check_path() verdicts. */
#define PATH_WATCHED  1 /* under a watched prefix */
#define PATH_READS    2 /* ... whose read-only opens are reported too */
#define PATH_RELATIVE 4 /* relative: user space decides */

/* Shorter watched prefixes tried after the longest one fails the boundary check. */
#define WATCH_RETRIES 8
/* Calls parked between entry and exit, per family. */
#define PENDING_MAX 4096
/* include/uapi/linux/fcntl.h and ptrace.h: macros are not in BTF. */
#define SONDE_AT_FDCWD	  -100
#define PTRACE_TRACEME	  0
#define PTRACE_POKETEXT	  4
#define PTRACE_POKEDATA	  5
#define PTRACE_POKEUSR	  6
#define PTRACE_ATTACH	  16
#define PTRACE_SEIZE	  0x4206
#define BPF_PROG_LOAD_CMD 5

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sonde_watch_key);
	__type(value, struct sonde_watch_value);
} watch_prefixes SEC(".maps");

/* A file call between entry and exit. */
struct file_pending {
	__u64 nr; /* syscall number, checked at exit */
	struct sonde_file_event ev;
	char data[2 * SONDE_FILE_PATH_MAX];
};

/* A security call between entry and exit. */
struct sec_pending {
	__u64 nr;
	struct sonde_security_event ev;
	char data[4 * SONDE_SEC_STR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PENDING_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct file_pending);
} file_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PENDING_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct sec_pending);
} sec_pending SEC(".maps");

/* Per-CPU room to read a path for the lookup and to build a parked call. */
struct scratch {
	struct sonde_watch_key key;
	struct file_pending file;
	struct sec_pending sec;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_SECC_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sec_counters SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* ---- file events ---------------------------------------------------------- */

/*
 * Whether @s->key (a path read from the caller, its prefixlen set) lies
 * under a watched prefix: the trie's longest byte prefix must end at a path
 * component boundary ("/etc" covers "/etc" and "/etc/x", not "/etcx"). When
 * it does not, the next shorter watched prefix is tried. Returns 0 or
 * PATH_WATCHED, with PATH_READS when that prefix reports reads.
 */
static __always_inline int watched(struct scratch *s)
{
	for (int i = 0; i < WATCH_RETRIES; i++) {
		struct sonde_watch_value *v = bpf_map_lookup_elem(&watch_prefixes, &s->key);
		__u32 len;
		char c;

		if (!v)
			return 0;
		len = v->len;
		c = s->key.path[len & (SONDE_WATCH_KEY_MAX - 1)];
		if (len <= 1 || c == '/' || c == 0) /* len 1: "/" */
			return PATH_WATCHED | (v->flags & SONDE_WATCH_READS ? PATH_READS : 0);
		s->key.prefixlen = (len - 1) * 8;
	}
	return 0;
}

/* Reads the user path at @ptr for the lookup; returns a PATH_* verdict, 0 to ignore it. */
static __always_inline int check_path(struct scratch *s, const char *ptr)
{
	long n = bpf_probe_read_user_str(s->key.path, SONDE_WATCH_KEY_MAX, ptr);

	if (n <= 1)
		return 0;
	if (s->key.path[0] != '/')
		return PATH_RELATIVE;
	s->key.prefixlen = (n - 1) * 8;
	return watched(s);
}

/* Starts a file record in the scratch; every field a handler may skip is zeroed. */
static __always_inline struct file_pending *file_begin(struct scratch *s, void *ctx, __u32 op)
{
	struct trace_event_raw_sys_enter *tp = ctx;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file_pending *p = &s->file;
	__u64 ugid = bpf_get_current_uid_gid();

	p->nr = tp->id;
	fill_task(&p->ev.task, task);
	p->ev.cgroup_id = bpf_get_current_cgroup_id();
	p->ev.result = 0;
	p->ev.uid = (__u32)ugid;
	p->ev.euid = BPF_CORE_READ(task, cred, euid.val);
	p->ev.op = op;
	p->ev.flags = 0;
	p->ev.mode = 0;
	p->ev.owner_uid = -1;
	p->ev.owner_gid = -1;
	p->ev.dirfd = SONDE_AT_FDCWD;
	p->ev.dirfd2 = SONDE_AT_FDCWD;
	p->ev.file_flags = 0;
	p->ev.path_len = 0;
	p->ev.path2_len = 0;
	p->ev._pad = 0;
	bpf_get_current_comm(p->ev.comm, sizeof(p->ev.comm));
	return p;
}

/* Reads a path into the record after what it holds; returns its length. */
static __always_inline __u16 file_path(struct file_pending *p, const char *ptr, __u32 cut_flag)
{
	__u32 off = p->ev.path_len & (SONDE_FILE_PATH_MAX - 1);
	long n = bpf_probe_read_user_str(&p->data[off], SONDE_FILE_PATH_MAX, ptr);

	if (n <= 0)
		return 0;
	if (n == SONDE_FILE_PATH_MAX)
		p->ev.file_flags |= cut_flag;
	return n - 1;
}

static __always_inline void file_park(struct file_pending *p)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&file_pending, &id, p, BPF_ANY))
		count(&sec_counters, SONDE_SECC_PENDING_FULL);
}

/*
 * One path argument at @path (relative to @dirfd): the common shape of open,
 * unlink, chmod and chown. Fills the path; the caller sets the rest. A
 * read-only open (@read_only) is kept only under a prefix that reports reads.
 */
static __always_inline struct file_pending *file_one(void *ctx, __u32 op, int dirfd,
						     const char *path, bool read_only)
{
	struct scratch *s = get_scratch();
	struct file_pending *p;
	int verdict;

	if (!s)
		return NULL;
	verdict = check_path(s, path);
	if (!verdict || (read_only && verdict == PATH_WATCHED))
		return NULL;
	p = file_begin(s, ctx, op);
	p->ev.dirfd = dirfd;
	if (verdict & PATH_RELATIVE)
		p->ev.file_flags |= SONDE_FILE_RELATIVE;
	p->ev.path_len = file_path(p, path, SONDE_FILE_PATH_TRUNCATED);
	return p;
}

#define ARG(ctx, i) (((struct trace_event_raw_sys_enter *)(ctx))->args[i])

/* O_ACCMODE, O_CREAT, O_TRUNC: an open that neither writes nor creates. */
static __always_inline bool read_only(__u64 flags)
{
	return (flags & 3) == 0 && !(flags & (0100 | 01000));
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p = file_one(ctx, SONDE_FILE_OPEN, ARG(ctx, 0), (void *)ARG(ctx, 1),
					  read_only(ARG(ctx, 2)));

	if (!p)
		return 0;
	p->ev.flags = ARG(ctx, 2);
	p->ev.mode = ARG(ctx, 3);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p = file_one(ctx, SONDE_FILE_OPEN, SONDE_AT_FDCWD, (void *)ARG(ctx, 0),
					  read_only(ARG(ctx, 1)));

	if (!p)
		return 0;
	p->ev.flags = ARG(ctx, 1);
	p->ev.mode = ARG(ctx, 2);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_creat")
int enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_OPEN, SONDE_AT_FDCWD, (void *)ARG(ctx, 0), false);

	if (!p)
		return 0;
	/* creat() is open(O_CREAT | O_WRONLY | O_TRUNC). */
	p->ev.flags = 0100 | 01 | 01000;
	p->ev.mode = ARG(ctx, 1);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	struct file_pending *p;

	bpf_probe_read_user(&how, sizeof(how), (void *)ARG(ctx, 2));
	p = file_one(ctx, SONDE_FILE_OPEN, ARG(ctx, 0), (void *)ARG(ctx, 1), read_only(how.flags));
	if (!p)
		return 0;
	p->ev.flags = how.flags;
	p->ev.mode = how.mode;
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int enter_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_UNLINK, ARG(ctx, 0), (void *)ARG(ctx, 1), false);

	if (!p)
		return 0;
	p->ev.flags = ARG(ctx, 2);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int enter_unlink(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_UNLINK, SONDE_AT_FDCWD, (void *)ARG(ctx, 0), false);

	if (p)
		file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_rmdir")
int enter_rmdir(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_UNLINK, SONDE_AT_FDCWD, (void *)ARG(ctx, 0), false);

	if (!p)
		return 0;
	p->ev.flags = 0x200; /* AT_REMOVEDIR */
	file_park(p);
	return 0;
}

/* A rename is kept when either its source or its target is watched. */
static __always_inline void rename_common(void *ctx, int olddir, const char *oldpath, int newdir,
					  const char *newpath, __u32 flags)
{
	struct scratch *s = get_scratch();
	struct file_pending *p;
	int old, new;
	__u16 len;

	if (!s)
		return;
	old = check_path(s, oldpath);
	new = check_path(s, newpath);
	if (!old && !new)
		return;
	p = file_begin(s, ctx, SONDE_FILE_RENAME);
	p->ev.dirfd = olddir;
	p->ev.dirfd2 = newdir;
	p->ev.flags = flags;
	if (old & PATH_RELATIVE)
		p->ev.file_flags |= SONDE_FILE_RELATIVE;
	if (new &PATH_RELATIVE)
		p->ev.file_flags |= SONDE_FILE_RELATIVE2;
	p->ev.path_len = file_path(p, oldpath, SONDE_FILE_PATH_TRUNCATED);
	len = file_path(p, newpath, SONDE_FILE_PATH2_TRUNCATED);
	p->ev.path2_len = len;
	file_park(p);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int enter_renameat2(struct trace_event_raw_sys_enter *ctx)
{
	rename_common(ctx, ARG(ctx, 0), (void *)ARG(ctx, 1), ARG(ctx, 2), (void *)ARG(ctx, 3),
		      ARG(ctx, 4));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int enter_renameat(struct trace_event_raw_sys_enter *ctx)
{
	rename_common(ctx, ARG(ctx, 0), (void *)ARG(ctx, 1), ARG(ctx, 2), (void *)ARG(ctx, 3), 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_rename")
int enter_rename(struct trace_event_raw_sys_enter *ctx)
{
	rename_common(ctx, SONDE_AT_FDCWD, (void *)ARG(ctx, 0), SONDE_AT_FDCWD, (void *)ARG(ctx, 1),
		      0);
	return 0;
}

/* fchmodat(dirfd, path, mode) and fchmodat2(dirfd, path, mode, flags). */
SEC("tracepoint/syscalls/sys_enter_fchmodat")
int enter_fchmodat(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_CHMOD, ARG(ctx, 0), (void *)ARG(ctx, 1), false);

	if (!p)
		return 0;
	p->ev.mode = ARG(ctx, 2);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int enter_fchmodat2(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_CHMOD, ARG(ctx, 0), (void *)ARG(ctx, 1), false);

	if (!p)
		return 0;
	p->ev.mode = ARG(ctx, 2);
	p->ev.flags = ARG(ctx, 3);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_chmod")
int enter_chmod(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_CHMOD, SONDE_AT_FDCWD, (void *)ARG(ctx, 0), false);

	if (!p)
		return 0;
	p->ev.mode = ARG(ctx, 1);
	file_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fchownat")
int enter_fchownat(struct trace_event_raw_sys_enter *ctx)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_CHOWN, ARG(ctx, 0), (void *)ARG(ctx, 1), false);

	if (!p)
		return 0;
	p->ev.owner_uid = ARG(ctx, 2);
	p->ev.owner_gid = ARG(ctx, 3);
	p->ev.flags = ARG(ctx, 4);
	file_park(p);
	return 0;
}

/* chown(path, uid, gid) and lchown: lchown's AT_SYMLINK_NOFOLLOW is @flags. */
static __always_inline void chown_common(void *ctx, __u32 flags)
{
	struct file_pending *p =
	    file_one(ctx, SONDE_FILE_CHOWN, SONDE_AT_FDCWD, (void *)ARG(ctx, 0), false);

	if (!p)
		return;
	p->ev.owner_uid = ARG(ctx, 1);
	p->ev.owner_gid = ARG(ctx, 2);
	p->ev.flags = flags;
	file_park(p);
}

SEC("tracepoint/syscalls/sys_enter_chown")
int enter_chown(struct trace_event_raw_sys_enter *ctx)
{
	chown_common(ctx, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_lchown")
int enter_lchown(struct trace_event_raw_sys_enter *ctx)
{
	chown_common(ctx, 0x100); /* AT_SYMLINK_NOFOLLOW */
	return 0;
}

/* Every file syscall's exit: completes the parked call with its result. */
SEC("tracepoint/syscalls/sys_exit_openat")
int exit_file(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct file_pending *p = bpf_map_lookup_elem(&file_pending, &id);
	__u32 size;

	if (!p)
		return 0;
	if (p->nr != ctx->id) {
		count(&sec_counters, SONDE_SECC_STALE);
		bpf_map_delete_elem(&file_pending, &id);
		return 0;
	}
	p->ev.result = ctx->ret;
	size = sizeof(p->ev) + ((p->ev.path_len + p->ev.path2_len) & (2 * SONDE_FILE_PATH_MAX - 1));
	fill_header(&p->ev.hdr, SONDE_EVENT_FILE, size);
	if (size <= sizeof(p->ev) + sizeof(p->data))
		output(&p->ev, size, SONDE_EVENT_FILE);
	bpf_map_delete_elem(&file_pending, &id);
	return 0;
}

/* ---- security events ------------------------------------------------------ */

static __always_inline void read_creds(struct sonde_creds *c, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	c->uid = BPF_CORE_READ(cred, uid.val);
	c->gid = BPF_CORE_READ(cred, gid.val);
	c->euid = BPF_CORE_READ(cred, euid.val);
	c->egid = BPF_CORE_READ(cred, egid.val);
	c->suid = BPF_CORE_READ(cred, suid.val);
	c->sgid = BPF_CORE_READ(cred, sgid.val);
	c->fsuid = BPF_CORE_READ(cred, fsuid.val);
	c->fsgid = BPF_CORE_READ(cred, fsgid.val);
	c->cap_effective = BPF_CORE_READ(cred, cap_effective.val);
	c->cap_permitted = BPF_CORE_READ(cred, cap_permitted.val);
}

/* Starts a security record in the per-CPU scratch. */
static __always_inline struct sec_pending *sec_begin(long nr, __u32 kind)
{
	struct scratch *s = get_scratch();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sec_pending *p;

	if (!s)
		return NULL;
	p = &s->sec;
	p->nr = nr;
	fill_task(&p->ev.task, task);
	p->ev.cgroup_id = bpf_get_current_cgroup_id();
	p->ev.result = 0;
	p->ev.args[0] = 0;
	p->ev.args[1] = 0;
	p->ev.args[2] = 0;
	p->ev.args[3] = 0;
	read_creds(&p->ev.before, task);
	p->ev.after = p->ev.before;
	p->ev.kind = kind;
	p->ev.flags = 0;
	p->ev.str_len[0] = 0;
	p->ev.str_len[1] = 0;
	p->ev.str_len[2] = 0;
	p->ev._pad = 0;
	bpf_get_current_comm(p->ev.comm, sizeof(p->ev.comm));
	return p;
}

static __always_inline __u32 sec_used(struct sec_pending *p)
{
	return (__u32)p->ev.str_len[0] + p->ev.str_len[1] + p->ev.str_len[2];
}

/* Appends string @i from user (@user) or kernel memory after the earlier ones. */
static __always_inline void sec_str(struct sec_pending *p, int i, const void *ptr, bool user)
{
	__u32 off = sec_used(p) & (2 * SONDE_SEC_STR_MAX - 1);
	long n;

	if (!ptr)
		return;
	if (user)
		n = bpf_probe_read_user_str(&p->data[off], SONDE_SEC_STR_MAX, ptr);
	else
		n = bpf_probe_read_kernel_str(&p->data[off], SONDE_SEC_STR_MAX, ptr);
	if (n <= 0)
		return;
	if (n == SONDE_SEC_STR_MAX)
		p->ev.flags |= 1 << i;
	p->ev.str_len[i] = n - 1;
}

static __always_inline void sec_park(struct sec_pending *p)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&sec_pending, &id, p, BPF_ANY))
		count(&sec_counters, SONDE_SECC_PENDING_FULL);
}

static __always_inline void sec_emit(struct sec_pending *p)
{
	__u32 size = sizeof(p->ev) + (sec_used(p) & (4 * SONDE_SEC_STR_MAX - 1));

	fill_header(&p->ev.hdr, SONDE_EVENT_SECURITY, size);
	if (size <= sizeof(p->ev) + sizeof(p->data))
		output(&p->ev, size, SONDE_EVENT_SECURITY);
}

/* A call whose arguments are all numbers: @n of them go to args[]. */
static __always_inline int sec_numeric(struct trace_event_raw_sys_enter *ctx, __u32 kind, int n)
{
	struct sec_pending *p = sec_begin(ctx->id, kind);

	if (!p)
		return 0;
	/* Constant offsets: the verifier refuses a ctx pointer moved by a loop. */
	p->ev.args[0] = ctx->args[0];
	p->ev.args[1] = n > 1 ? ctx->args[1] : 0;
	p->ev.args[2] = n > 2 ? ctx->args[2] : 0;
	sec_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setuid")
int enter_setuid(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETUID, 1);
}

SEC("tracepoint/syscalls/sys_enter_setgid")
int enter_setgid(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETGID, 1);
}

SEC("tracepoint/syscalls/sys_enter_setreuid")
int enter_setreuid(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETREUID, 2);
}

SEC("tracepoint/syscalls/sys_enter_setregid")
int enter_setregid(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETREGID, 2);
}

SEC("tracepoint/syscalls/sys_enter_setresuid")
int enter_setresuid(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETRESUID, 3);
}

SEC("tracepoint/syscalls/sys_enter_setresgid")
int enter_setresgid(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETRESGID, 3);
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int enter_unshare(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_UNSHARE, 1);
}

SEC("tracepoint/syscalls/sys_enter_setns")
int enter_setns(struct trace_event_raw_sys_enter *ctx)
{
	return sec_numeric(ctx, SONDE_SEC_SETNS, 2);
}

/* capset(header, data): the target pid and the first data word's sets. */
SEC("tracepoint/syscalls/sys_enter_capset")
int enter_capset(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_CAPSET);
	struct __user_cap_header_struct hdr = {};
	struct __user_cap_data_struct data = {};

	if (!p)
		return 0;
	bpf_probe_read_user(&hdr, sizeof(hdr), (void *)ctx->args[0]);
	bpf_probe_read_user(&data, sizeof(data), (void *)ctx->args[1]);
	p->ev.args[0] = hdr.pid;
	p->ev.args[1] = data.effective;
	p->ev.args[2] = data.permitted;
	p->ev.args[3] = data.inheritable;
	sec_park(p);
	return 0;
}

/*
 * ptrace: only the requests that take control of or write into another
 * process. PEEK/GETREGS/CONT, which a debugger makes by the thousand, are not
 * reported.
 */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long request = ctx->args[0];

	if (request != PTRACE_TRACEME && request != PTRACE_ATTACH && request != PTRACE_SEIZE &&
	    request != PTRACE_POKETEXT && request != PTRACE_POKEDATA && request != PTRACE_POKEUSR)
		return 0;
	return sec_numeric(ctx, SONDE_SEC_PTRACE, 3);
}

SEC("tracepoint/syscalls/sys_enter_memfd_create")
int enter_memfd_create(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_MEMFD_CREATE);

	if (!p)
		return 0;
	p->ev.args[0] = ctx->args[1];
	sec_str(p, 0, (void *)ctx->args[0], true);
	sec_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mount")
int enter_mount(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_MOUNT);

	if (!p)
		return 0;
	p->ev.args[0] = ctx->args[3];
	sec_str(p, 0, (void *)ctx->args[0], true);
	sec_str(p, 1, (void *)ctx->args[1], true);
	sec_str(p, 2, (void *)ctx->args[2], true);
	sec_park(p);
	return 0;
}

/* umount2(target, flags); the syscall's tracepoint is named umount. */
SEC("tracepoint/syscalls/sys_enter_umount")
int enter_umount(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_UMOUNT);

	if (!p)
		return 0;
	p->ev.args[0] = ctx->args[1];
	sec_str(p, 1, (void *)ctx->args[0], true);
	sec_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_init_module")
int enter_init_module(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_INIT_MODULE);

	if (!p)
		return 0;
	p->ev.args[0] = ctx->args[1];
	sec_str(p, 0, (void *)ctx->args[2], true);
	sec_park(p);
	return 0;
}

/* The name of the file open as @fd in the current task. */
static __always_inline const unsigned char *fd_name(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return NULL;
	bpf_core_read(&file, sizeof(file), &fds[fd]);
	if (!file)
		return NULL;
	return BPF_CORE_READ(file, f_path.dentry, d_name.name);
}

SEC("tracepoint/syscalls/sys_enter_finit_module")
int enter_finit_module(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_FINIT_MODULE);

	if (!p)
		return 0;
	p->ev.args[0] = ctx->args[0];
	p->ev.args[1] = ctx->args[2];
	sec_str(p, 0, (void *)ctx->args[1], true);
	sec_str(p, 1, fd_name(ctx->args[0]), false);
	sec_park(p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_delete_module")
int enter_delete_module(struct trace_event_raw_sys_enter *ctx)
{
	struct sec_pending *p = sec_begin(ctx->id, SONDE_SEC_DELETE_MODULE);

	if (!p)
		return 0;
	p->ev.args[0] = ctx->args[1];
	sec_str(p, 0, (void *)ctx->args[0], true);
	sec_park(p);
	return 0;
}

/* bpf(BPF_PROG_LOAD, attr, size): the program's type and name. */
SEC("tracepoint/syscalls/sys_enter_bpf")
int enter_bpf(struct trace_event_raw_sys_enter *ctx)
{
	void *attr = (void *)ctx->args[1];
	struct sec_pending *p;
	__u32 type = 0;

	if (ctx->args[0] != BPF_PROG_LOAD_CMD)
		return 0;
	p = sec_begin(ctx->id, SONDE_SEC_BPF_PROG_LOAD);
	if (!p)
		return 0;
	bpf_probe_read_user(&type, sizeof(type), attr);
	p->ev.args[0] = type;
	sec_str(p, 0, attr + __builtin_offsetof(union bpf_attr, prog_name), true);
	sec_park(p);
	return 0;
}

/* Every security syscall's exit: adds the result and the credentials after. */
SEC("tracepoint/syscalls/sys_exit_setuid")
int exit_security(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sec_pending *p = bpf_map_lookup_elem(&sec_pending, &id);

	if (!p)
		return 0;
	if (p->nr != ctx->id) {
		count(&sec_counters, SONDE_SECC_STALE);
		bpf_map_delete_elem(&sec_pending, &id);
		return 0;
	}
	p->ev.result = ctx->ret;
	read_creds(&p->ev.after, (struct task_struct *)bpf_get_current_task());
	sec_emit(p);
	bpf_map_delete_elem(&sec_pending, &id);
	return 0;
}

/*
 * An exec whose file is a memfd: its dentry is named "memfd:NAME". By the
 * time sched_process_exec fires, mm->exe_file is the new image.
 */
SEC("tracepoint/sched/sched_process_exec")
int exec_memfd(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const unsigned char *name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	char prefix[6] = {};
	struct sec_pending *p;

	bpf_probe_read_kernel(prefix, sizeof(prefix), name);
	if (prefix[0] != 'm' || prefix[1] != 'e' || prefix[2] != 'm' || prefix[3] != 'f' ||
	    prefix[4] != 'd' || prefix[5] != ':')
		return 0;
	p = sec_begin(-1, SONDE_SEC_EXEC_MEMFD);
	if (!p)
		return 0;
	sec_str(p, 0, name, false);
	sec_emit(p);
	return 0;
}
