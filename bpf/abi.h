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
	SONDE_EVENT_TCP = 4,
	SONDE_EVENT_DROP = 5,
	SONDE_EVENT_DATA = 6,
	SONDE_EVENT_SAMPLE = 7,
	SONDE_EVENT_FILE = 8,	  /* file operations on watched paths */
	SONDE_EVENT_SECURITY = 9, /* privilege, ptrace, memfd, mount, module, bpf, namespaces */
	SONDE_EVENT_ENFORCE = 10, /* an enforcement the kernel applied */
	SONDE_EVENT_LISTEN = 11,  /* a TCP socket started or stopped listening */
	SONDE_EVENT_TYPE_MAX = 12,
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

/* One of fds 0-2 as the exec left it (close-on-exec fds already closed). */
struct sonde_stdio {
	__u16 mode;   /* the inode's i_mode; 0 when the fd is not open */
	__u16 family; /* a socket's address family (AF_*); 0 for other files */
	__u32 rdev;   /* a device's number, major << 20 | minor; 0 for other files */
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
	struct sonde_stdio stdio[3]; /* stdin, stdout, stderr */
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

/* sonde_tcp_event.direction */
enum sonde_direction {
	SONDE_DIR_UNKNOWN = 0, /* began before sonde */
	SONDE_DIR_CONNECT = 1,
	SONDE_DIR_ACCEPT = 2,
};

/* sonde_tcp_event.report */
enum sonde_report {
	SONDE_REPORT_FINAL = 0,	  /* the connection closed */
	SONDE_REPORT_INTERIM = 1, /* still open: totals so far */
};

/* sonde_tcp_event.owner_from */
enum sonde_owner_from {
	SONDE_OWNER_NONE = 0,
	SONDE_OWNER_CONNECT = 1,  /* the process that called connect() */
	SONDE_OWNER_LISTENER = 2, /* the process that listens on the port */
	SONDE_OWNER_IO = 3,	  /* the process that sent or received on it */
};

/* Index of the network programs' per-CPU counters. */
enum sonde_net_counter {
	SONDE_NET_CONNS_UNTRACKED = 0,	     /* the connection table was full */
	SONDE_NET_DROPS_SUPPRESSED = 1,	     /* drop records over the rate limit */
	SONDE_NET_DROP_REASONS_FULL = 2,     /* the per-reason table was full */
	SONDE_NET_RESETS_SENT_UNTRACKED = 3, /* resets without a tracked socket */
	SONDE_NET_UDP_FLOWS_UNTRACKED = 4,   /* the UDP flow table was full */
	SONDE_NET_COUNTER_MAX = 5,
};

/* Who a socket belongs to, as far as the kernel programs know. */
struct sonde_owner {
	__u32 pid;
	__u32 from;	/* enum sonde_owner_from */
	__u64 start_ns; /* the owner's start_boottime: tells pid reuse apart */
	char comm[16];
};

/* IPv4 addresses are IPv4-mapped IPv6 addresses (::ffff:a.b.c.d). */
struct sonde_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host byte order */
	__u16 dport;
	__u16 family;  /* AF_INET, AF_INET6 */
	__u8 protocol; /* IPPROTO_* */
	__u8 _pad;
};

/* A TCP connection's totals, at close (final) or while open (interim). */
struct sonde_tcp_event {
	struct sonde_event_header hdr;
	struct sonde_tuple tuple; /* s = local, d = remote */
	struct sonde_owner owner;
	__u64 start_ns;	  /* CLOCK_BOOTTIME of SYN_SENT/ESTABLISHED; 0 if before sonde */
	__u64 bytes_sent; /* bytes acked by the peer */
	__u64 bytes_received;
	__u32 segs_out;
	__u32 segs_in;
	__u32 srtt_us;
	__u32 retransmits;
	__u32 resets_sent;
	__u32 resets_received;
	__u32 netns;
	__u8 direction;	 /* enum sonde_direction */
	__u8 report;	 /* enum sonde_report */
	__u8 last_state; /* TCP state before CLOSE (final) or now (interim) */
	__u8 _pad;
	__u64 conn_id; /* random, from the first sight of the connection; 0 if untracked */
};

/* A packet the kernel freed as dropped, with its reason. */
struct sonde_drop_event {
	struct sonde_event_header hdr;
	struct sonde_tuple tuple; /* s = packet source, d = packet destination */
	struct sonde_owner owner; /* pid 0 when no local socket is known */
	__u64 location;		  /* kernel address of the dropping code */
	__u32 reason;		  /* enum skb_drop_reason (subsystem in the high 16 bits) */
	__u32 ifindex;
	__u32 netns;
	__u32 len; /* skb->len */
};

/* sonde_listen_event.state */
enum sonde_listen_state {
	SONDE_LISTEN_OPEN = 1,	 /* the socket started listening (listen()) */
	SONDE_LISTEN_CLOSED = 2, /* a listening socket closed */
};

/* A TCP socket started or stopped listening. */
struct sonde_listen_event {
	struct sonde_event_header hdr;
	struct sonde_owner owner; /* the listen() caller; pid 0 if it listened before sonde */
	__u8 addr[16];		  /* local address; IPv4-mapped for IPv4 */
	__u16 port;		  /* host byte order; 0 if listen() came without bind() */
	__u16 family;		  /* AF_INET, AF_INET6 */
	__u32 netns;
	__u32 backlog; /* sk_max_ack_backlog */
	__u8 state;    /* enum sonde_listen_state */
	__u8 _pad[3];
};

/*
 * UDP flows are counted in a map (udp_flows) that user space reads each
 * report interval, not sent per packet.
 */
struct sonde_udp_key {
	__u8 laddr[16]; /* IPv4-mapped for IPv4 */
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u32 netns; /* of the device the packets crossed */
};

struct sonde_udp_counts {
	__u64 bytes_out; /* UDP payload bytes */
	__u64 bytes_in;
	__u64 packets_out;
	__u64 packets_in;
	__u64 first_ns; /* CLOCK_BOOTTIME */
	__u64 last_ns;
};

/* The owner of a local UDP port (udp_owners). */
struct sonde_port_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

/*
 * Request capture (bpf/capture.bpf.c): what one socket call or one OpenSSL
 * call moved, with at most SONDE_CAPTURE_MAX of its bytes.
 */
#define SONDE_CAPTURE_MAX 16384 /* a power of two */
#define SONDE_IOV_MAX	  8	/* iovec entries copied from */

/* sonde_data_event.source: the call that moved the bytes. */
enum sonde_data_source {
	SONDE_SRC_READ = 1,
	SONDE_SRC_WRITE = 2,
	SONDE_SRC_READV = 3,
	SONDE_SRC_WRITEV = 4,
	SONDE_SRC_RECVFROM = 5,
	SONDE_SRC_SENDTO = 6,
	SONDE_SRC_RECVMSG = 7,
	SONDE_SRC_SENDMSG = 8,
	SONDE_SRC_SENDFILE = 9, /* never copied: its bytes come from a file */
	SONDE_SRC_SSL_READ = 10,
	SONDE_SRC_SSL_WRITE = 11,
	SONDE_SRC_RECVMMSG = 12, /* its first message only */
	SONDE_SRC_SENDMMSG = 13, /* its first message only */
};

/* sonde_data_event.flags */
enum sonde_data_flags {
	SONDE_DATA_TLS = 1 << 0,  /* plaintext from OpenSSL; offsets count plaintext */
	SONDE_DATA_PEER = 1 << 1, /* the remote end is the call's address (unconnected UDP) */
};

/* Layers of a socket's stream: what the socket carried, and TLS plaintext. */
enum sonde_layer {
	SONDE_LAYER_RAW = 0,
	SONDE_LAYER_TLS = 1,
};

/* sonde_data_event.direction */
enum sonde_data_direction {
	SONDE_EGRESS = 0,
	SONDE_INGRESS = 1,
};

/* Followed by `captured` bytes: the first bytes the call moved. */
struct sonde_data_event {
	struct sonde_event_header hdr;
	struct sonde_tuple tuple; /* s = local, d = remote (the call's peer with SONDE_DATA_PEER) */
	__u64 sock;		  /* struct sock *: the key of capture_ctl */
	__u64 conn_id;		  /* the connection's id in TCP records too */
	__u64 offset;	/* stream position of the first byte, per socket, layer, direction */
	__u64 start_ns; /* the process's start_boottime */
	__u32 pid;
	__u32 tid;
	__u32 len;	/* bytes the call moved */
	__u32 captured; /* bytes that follow */
	__u32 netns;
	__u8 direction; /* enum sonde_data_direction */
	__u8 source;	/* enum sonde_data_source */
	__u8 flags;	/* enum sonde_data_flags */
	__u8 _pad;
	char comm[16];
};

/* capture_ctl.flags: set by user space. */
enum sonde_ctl_flags {
	SONDE_CTL_MUTE_RAW = 1 << 0, /* stop copying what the socket carries */
	SONDE_CTL_MUTE_TLS = 1 << 1, /* stop copying TLS plaintext */
};

/*
 * What user space tells the capture about one socket (capture_ctl, keyed by
 * struct sock *). Applies only while conn_id matches the socket's.
 */
struct sonde_capture_ctl {
	__u64 conn_id;
	__u64 skip_until[2][2]; /* [layer][direction]: bytes below are not copied */
	__u32 flags;		/* enum sonde_ctl_flags */
	__u32 _pad;
};

/* Index of the capture programs' per-CPU counters. */
enum sonde_capture_counter {
	SONDE_CAP_CALLS = 0,	    /* socket calls that moved bytes */
	SONDE_CAP_BYTES_COPIED = 1, /* bytes copied to records */
	/* beyond the per-call limit, skipped on request, or sendfile */
	SONDE_CAP_BYTES_NOT_COPIED = 2,
	SONDE_CAP_MUTED_CALLS = 3,     /* calls on sockets user space muted */
	SONDE_CAP_TLS_NO_SOCKET = 4,   /* OpenSSL calls whose socket was never seen */
	SONDE_CAP_CALLS_UNTRACKED = 5, /* the in-flight call table was full */
	SONDE_CAP_MMSG_UNREAD = 6,     /* messages after the first of sendmmsg/recvmmsg */
	SONDE_CAP_COUNTER_MAX = 7,
};

/* Frames one stack (kernel or user) may have; the kernel's own limit is 127. */
#define SONDE_STACK_DEPTH 127
/* User stack bytes copied from the stack pointer, for .eh_frame unwinding. */
#define SONDE_STACK_COPY 16384

/* sonde_sample_event.flags */
enum sonde_sample_flags {
	SONDE_SAMPLE_KERNEL_MODE = 1 << 0, /* the CPU was running kernel code */
	SONDE_SAMPLE_NEW_PROCESS = 1 << 1, /* the first sample of this tgid in a while */
};

/*
 * One CPU sample. Followed by kstack_len kernel addresses, ustack_len user
 * addresses (each u64, sampled address first, then return addresses), then
 * stack_len bytes of the user stack from user_sp upwards.
 */
struct sonde_sample_event {
	struct sonde_event_header hdr;
	__u64 cgroup_id;
	__u64 start_ns; /* the process's start_boottime */
	__u64 user_ip;
	__u64 user_sp;
	__u64 user_bp;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u32 flags; /* enum sonde_sample_flags */
	__u16 kstack_len;
	__u16 ustack_len;
	__u32 stack_len;
	char comm[16];
};

/* Index of the profiler's per-CPU counters. */
enum sonde_profile_counter {
	SONDE_PROF_SAMPLES = 0,		 /* samples taken (every run of the program) */
	SONDE_PROF_IDLE = 1,		 /* samples of an idle CPU */
	SONDE_PROF_FILTERED = 2,	 /* samples outside the session's target */
	SONDE_PROF_KSTACK_FAILED = 3,	 /* kernel stacks that could not be read */
	SONDE_PROF_USTACK_FAILED = 4,	 /* user stacks that could not be read */
	SONDE_PROF_STACK_COPY_SHORT = 5, /* stack copies cut at an unreadable page */
	SONDE_PROF_COUNTER_MAX = 6,
};

/* security events (issue 7) */

/* Longest watched path prefix: the LPM trie's key data (the kernel caps it at 256). */
#define SONDE_WATCH_KEY_MAX 256
/* Bytes of one path in a file record (longer paths are cut and flagged). */
#define SONDE_FILE_PATH_MAX 1024
/* Bytes of one string in a security record. */
#define SONDE_SEC_STR_MAX 512

/* Key of the watched-prefix LPM trie (watch_prefixes). */
struct sonde_watch_key {
	__u32 prefixlen; /* bits */
	__u8 path[SONDE_WATCH_KEY_MAX];
};

/* sonde_watch_value.flags */
enum sonde_watch_flags {
	SONDE_WATCH_READS = 1 << 0, /* also report read-only opens (else: modifications only) */
};

/* Value of watch_prefixes. */
struct sonde_watch_value {
	__u32 len;   /* the prefix's length in bytes */
	__u32 flags; /* enum sonde_watch_flags */
};

/* sonde_file_event.op */
enum sonde_file_op {
	SONDE_FILE_OPEN = 1, /* open, openat, openat2, creat */
	SONDE_FILE_UNLINK = 2,
	SONDE_FILE_RENAME = 3,
	SONDE_FILE_CHMOD = 4,
	SONDE_FILE_CHOWN = 5,
};

/* sonde_file_event.file_flags */
enum sonde_file_flags {
	SONDE_FILE_RELATIVE = 1 << 0,	     /* path is relative to dirfd (or the cwd) */
	SONDE_FILE_PATH_TRUNCATED = 1 << 1,  /* path was longer than SONDE_FILE_PATH_MAX */
	SONDE_FILE_RELATIVE2 = 1 << 2,	     /* path2 is relative to dirfd2 */
	SONDE_FILE_PATH2_TRUNCATED = 1 << 3, /* path2 was cut */
};

/* A file operation on a watched path. Followed by path, then path2 (rename target). */
struct sonde_file_event {
	struct sonde_event_header hdr;
	struct sonde_task task;
	__u64 cgroup_id;
	__s64 result; /* fd or 0; -errno on failure */
	__u32 uid;
	__u32 euid;
	__u32 op;	 /* enum sonde_file_op */
	__u32 flags;	 /* O_* for opens, AT_* for unlink/chmod/chown, RENAME_* for rename */
	__u32 mode;	 /* open/creat/chmod mode */
	__u32 owner_uid; /* chown: new owner (-1: unchanged) */
	__u32 owner_gid;
	__s32 dirfd;	  /* AT_FDCWD (-100) for the cwd */
	__s32 dirfd2;	  /* rename target's dirfd */
	__u32 file_flags; /* enum sonde_file_flags */
	__u16 path_len;
	__u16 path2_len;
	__u32 _pad;
	char comm[16];
};

/* sonde_security_event.kind; args[] per kind as noted. */
enum sonde_sec_kind {
	SONDE_SEC_SETUID = 1,	      /* args: uid */
	SONDE_SEC_SETGID = 2,	      /* args: gid */
	SONDE_SEC_SETREUID = 3,	      /* args: ruid, euid */
	SONDE_SEC_SETREGID = 4,	      /* args: rgid, egid */
	SONDE_SEC_SETRESUID = 5,      /* args: ruid, euid, suid */
	SONDE_SEC_SETRESGID = 6,      /* args: rgid, egid, sgid */
	SONDE_SEC_CAPSET = 7,	      /* args: pid, effective, permitted, inheritable */
	SONDE_SEC_PTRACE = 8,	      /* args: request, target pid, addr */
	SONDE_SEC_MEMFD_CREATE = 9,   /* args: flags; str0: name */
	SONDE_SEC_EXEC_MEMFD = 10,    /* str0: the memfd's name (memfd:...) */
	SONDE_SEC_MOUNT = 11,	      /* args: flags; str0: source, str1: target, str2: fstype */
	SONDE_SEC_UMOUNT = 12,	      /* args: flags; str1: target */
	SONDE_SEC_INIT_MODULE = 13,   /* args: image length; str0: parameters */
	SONDE_SEC_FINIT_MODULE = 14,  /* args: fd, flags; str0: parameters, str1: file name */
	SONDE_SEC_DELETE_MODULE = 15, /* args: flags; str0: module name */
	SONDE_SEC_BPF_PROG_LOAD = 16, /* args: prog type; str0: prog name */
	SONDE_SEC_UNSHARE = 17,	      /* args: CLONE_* flags */
	SONDE_SEC_SETNS = 18,	      /* args: fd, nstype */
	SONDE_SEC_KIND_MAX = 19,
};

/* sonde_security_event.flags: strings cut at SONDE_SEC_STR_MAX. */
enum sonde_sec_flags {
	SONDE_SEC_STR0_TRUNCATED = 1 << 0,
	SONDE_SEC_STR1_TRUNCATED = 1 << 1,
	SONDE_SEC_STR2_TRUNCATED = 1 << 2,
};

/* A task's credentials. */
struct sonde_creds {
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__u64 cap_effective;
	__u64 cap_permitted;
};

/* A privilege, ptrace, memfd, mount, module, BPF or namespace operation. Followed by str0..2. */
struct sonde_security_event {
	struct sonde_event_header hdr;
	struct sonde_task task;
	__u64 cgroup_id;
	__s64 result; /* the syscall's return; 0 for exec from memfd */
	__u64 args[4];
	struct sonde_creds before; /* at syscall entry */
	struct sonde_creds after;  /* at syscall exit */
	__u32 kind;		   /* enum sonde_sec_kind */
	__u32 flags;		   /* enum sonde_sec_flags */
	__u16 str_len[3];
	__u16 _pad;
	char comm[16];
};

/* Index of the security programs' per-CPU counters. */
enum sonde_sec_counter {
	SONDE_SECC_PENDING_FULL = 0, /* no room to hold a call until its exit: not reported */
	SONDE_SECC_STALE = 1,	     /* an exit whose entry was another syscall's */
	SONDE_SECC_COUNTER_MAX = 2,
};

/* enforcement (issue 7) */

/* Bounds of the enforcement maps and records. */
#define SONDE_ENFORCE_PATH_MAX	   256 /* a kill key's path or name, NUL included */
#define SONDE_ENFORCE_ANCESTRY_MAX 16  /* real_parent levels an ancestor rule walks */
#define SONDE_ENFORCE_CGROUP_DEPTH 16  /* cgroup levels a connect rule is looked up at */

/* sonde_enforce_event.action */
enum sonde_enforce_action {
	SONDE_ENFORCE_KILL = 1,		/* SIGKILL at exec, before the new image runs */
	SONDE_ENFORCE_DENY_CONNECT = 2, /* connect() failed with EPERM */
	SONDE_ENFORCE_DENY_SEND = 3,	/* sendto() without connect() failed with EPERM */
};

/* sonde_kill_rule.flags, sonde_connect_rule.flags, sonde_enforce_event.flags */
enum sonde_enforce_flags {
	SONDE_ENFORCE_DRY_RUN = 1 << 0, /* record only: the action was not applied */
	SONDE_ENFORCE_SPARED = 1 << 1,	/* PID 1 or the agent matched: never signalled */
};

/* sonde_kill_key.match: what of the new image a kill rule matches. */
enum sonde_kill_match {
	SONDE_KILL_BY_INODE = 1, /* the executed file's (dev, ino) */
	SONDE_KILL_BY_PATH = 2,	 /* the path execve() was given, exactly */
	SONDE_KILL_BY_NAME = 3,	 /* the executed file's name (its dentry) */
};

/* Key of the kill_rules map; unused fields are zero. */
struct sonde_kill_key {
	__u32 match; /* enum sonde_kill_match */
	__u32 _pad;
	__u64 dev; /* BY_INODE: the superblock's dev_t (MAJOR << 20 | MINOR) */
	__u64 ino; /* BY_INODE */
	char name[SONDE_ENFORCE_PATH_MAX]; /* BY_PATH, BY_NAME: NUL-padded */
};

struct sonde_kill_rule {
	__u32 rule_id;
	__u32 flags;	    /* enum sonde_enforce_flags */
	__u64 cgroup_id;    /* 0: any; else the task's cgroup or one of its ancestors */
	__u32 cgroup_level; /* the level of cgroup_id below the root (root = 0) */
	__u32 _pad;
	char ancestor[16]; /* "": any; else the comm of a real_parent, NUL-padded */
};

/*
 * Key of the connect_rules LPM trie. The prefix covers cgroup_id and port
 * exactly (80 bits) and then the address's prefix. port 0 matches any port.
 */
struct sonde_connect_key {
	__u32 prefixlen;
	__u64 cgroup_id; /* the rule's cgroup: the task's or one of its ancestors */
	__u16 port;	 /* host byte order; 0: any */
	__u8 addr[16];	 /* IPv4-mapped for IPv4 */
} __attribute__((packed));

struct sonde_connect_rule {
	__u32 rule_id;
	__u32 flags; /* enum sonde_enforce_flags */
};

/* One enforcement the kernel applied (or, with DRY_RUN, would have). */
struct sonde_enforce_event {
	struct sonde_event_header hdr;
	struct sonde_task task;
	__u64 cgroup_id;
	__u32 rule_id;
	__u8 action;	/* enum sonde_enforce_action */
	__u8 flags;	/* enum sonde_enforce_flags */
	__u16 dport;	/* DENY_*: host byte order */
	__u8 daddr[16]; /* DENY_*: IPv4-mapped for IPv4 */
	__u16 family;	/* DENY_*: AF_INET, AF_INET6 */
	__u16 _pad;
	__s32 error; /* KILL: bpf_send_signal's result (0: sent) */
	char comm[16];
	char binary[SONDE_ENFORCE_PATH_MAX]; /* KILL: the path execve() was given, NUL-terminated */
};

/* end of enforcement (issue 7) */

#endif /* SONDE_ABI_H */
