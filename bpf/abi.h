/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The kernel <-> user ABI: every record the kernel programs put on a ring
 * buffer. Mirrored by #[repr(C)] types in crates/sonde-bpf/src/abi.rs, whose
 * sizes and offsets are checked at compile time against the BTF of the
 * compiled object (through the generated skeleton types).
 *
 * Records are variable-sized: a fixed struct followed by strings whose
 * lengths the struct gives, in the order the struct lists them.
 */
#ifndef SONDE_ABI_H
#define SONDE_ABI_H

#define SONDE_ABI_VERSION 1

/* Bounds on what one record may carry. */
#define SONDE_PATH_MAX	 4096  /* one path (filename, cwd, cgroup) */
#define SONDE_ARGS_MAX	 32768 /* the NUL-separated argv block */
#define SONDE_PATH_DEPTH 64    /* path components walked */
#define SONDE_NAME_MAX	 256   /* one path component */
#define SONDE_TTY_LEN	 64

enum sonde_event_type {
	SONDE_EVENT_EXEC = 1,
	SONDE_EVENT_EXIT = 2,
	SONDE_EVENT_FORK = 3,
	SONDE_EVENT_TYPE_MAX = 4,
};

/* sonde_exec_event.flags */
enum sonde_exec_flags {
	SONDE_EXEC_ARGS_TRUNCATED = 1 << 0,
	SONDE_EXEC_CWD_TRUNCATED = 1 << 1,
	SONDE_EXEC_CGROUP_TRUNCATED = 1 << 2,
	SONDE_EXEC_FILENAME_TRUNCATED = 1 << 3,
	SONDE_EXEC_ARGS_UNREADABLE = 1 << 4,
};

struct sonde_event_header {
	__u16 type;	/* enum sonde_event_type */
	__u16 version;	/* SONDE_ABI_VERSION */
	__u32 size;	/* whole record, header and trailing strings included */
	__u64 ktime_ns; /* CLOCK_BOOTTIME */
};

/* Who a record is about. */
struct sonde_task {
	__u32 pid; /* thread group id */
	__u32 tid;
	__u32 ppid; /* real parent's thread group id */
	__u32 _pad;
	__u64 start_ns;	       /* group leader's start_boottime */
	__u64 parent_start_ns; /* real parent's group leader's start_boottime */
};

/* Followed by: filename, cwd, cgroup path (no NULs), then argv (NUL-separated). */
struct sonde_exec_event {
	struct sonde_event_header hdr;
	struct sonde_task task;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u64 cgroup_id;
	__u32 pid_ns;
	__u32 mnt_ns;
	__u32 net_ns;
	__u32 flags; /* enum sonde_exec_flags */
	char comm[16];
	char tty[SONDE_TTY_LEN];
	__u16 filename_len;
	__u16 cwd_len;
	__u16 cgroup_len;
	__u16 _pad;
	__u32 args_len;
	__u32 _pad2;
};

struct sonde_exit_event {
	struct sonde_event_header hdr;
	struct sonde_task task;
	__u32 exit_code; /* wait status: code << 8 | core << 7 | signal */
	__u32 _pad;
};

/* A new process (not a thread). */
struct sonde_fork_event {
	struct sonde_event_header hdr;
	struct sonde_task task;
};

#endif /* SONDE_ABI_H */
