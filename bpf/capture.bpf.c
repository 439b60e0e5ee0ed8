// SPDX-License-Identifier: GPL-2.0-only
/*
 * Request capture: the bytes that TCP and UDP sockets carry, for the parsers
 * in user space, on syscall tracepoints and OpenSSL uprobes only.
 *  - syscalls:sys_enter_* keep the call's buffer if its fd is an inet TCP or
 *    UDP socket (checked in the kernel: everything else costs one lookup);
 *  - syscalls:sys_exit_* copy at most SONDE_CAPTURE_MAX of the bytes the call
 *    moved, with the stream offset of the first byte, so user space sees
 *    every gap exactly;
 *  - uprobes on SSL_read/SSL_write(_ex) copy the plaintext. The socket comes
 *    from the socket call OpenSSL makes inside them (remembered per SSL *).
 *    Socket calls made inside an OpenSSL call carry ciphertext and are not
 *    copied.
 * User space steers the copy per socket through capture_ctl: stop copying a
 * socket whose protocol it does not parse, or the rest of a body it skips.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "conns.h"
#include "output.h"
#include "sock.h"

char LICENSE[] SEC("license") = "GPL";

/* Macros are not in BTF. */
#define S_IFMT	 00170000
#define S_IFSOCK 0140000

/* enum sonde_capture_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_CAP_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* A socket call between its entry and its exit. */
struct call {
	__u64 sk;
	__u64 buf;  /* the buffer, the iovec array, or the msghdr */
	__u64 addr; /* the sockaddr of sendto/recvfrom */
	__u64 ino;  /* the socket's inode: tells a reused struct sock apart */
	__u32 iovcnt;
	__u8 source; /* enum sonde_data_source */
	__u8 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct call);
} calls SEC(".maps");

/* What the capture keeps of one socket. */
struct sock_state {
	__u64 conn_id;
	__u64 ino;
	__u64 offset[2][2]; /* [layer][direction] */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* struct sock * */
	__type(value, struct sock_state);
} sockets SEC(".maps");

/* Written by user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* struct sock * */
	__type(value, struct sonde_capture_ctl);
} capture_ctl SEC(".maps");

/* An OpenSSL call between its entry and its return. */
struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 ex_len; /* size_t * of the _ex variants; 0 for the others */
	__u64 sk;     /* from a socket call made inside this one */
	__u8 source;  /* SONDE_SRC_SSL_READ or SONDE_SRC_SSL_WRITE */
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

/* An SSL * means something only in its own address space. */
struct ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct ssl_key);
	__type(value, __u64); /* struct sock * */
} ssl_socks SEC(".maps");

/* A record is built here: the event, then the bytes. */
struct record {
	struct sonde_data_event ev;
	__u8 data[2 * SONDE_CAPTURE_MAX];
};

/* One per CPU (sized by the loader): too big for a per-CPU array value. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record);
} scratch SEC(".maps");

/* Keeps the ABI structs in the object's BTF for the generated skeleton types. */
struct sonde_data_event _abi_data = {};
struct sonde_capture_ctl _abi_ctl = {};

static __always_inline void add(__u32 index, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &index);

	if (v)
		*v += n;
}

/* The inet TCP or UDP socket behind @fd of the current process, or NULL. */
static __always_inline struct sock *fd_sock(long fd, __u64 *ino)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct inode *inode;
	struct socket *sock;
	struct sock *sk;
	__u16 family, protocol;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	inode = BPF_CORE_READ(file, f_inode);
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	protocol = BPF_CORE_READ(sk, sk_protocol);
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return NULL;
	*ino = BPF_CORE_READ(inode, i_ino);
	return sk;
}

static __always_inline int enter(long fd, __u64 buf, __u64 iovcnt, __u64 addr, __u8 source)
{
	struct call c = {.buf = buf, .addr = addr, .iovcnt = iovcnt, .source = source};
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk = fd_sock(fd, &c.ino);

	if (!sk)
		return 0;
	c.sk = (__u64)sk;
	if (bpf_map_update_elem(&calls, &id, &c, BPF_ANY))
		add(SONDE_CAP_CALLS_UNTRACKED, 1);
	return 0;
}

/* The capture's state of @sk; a new one when the socket is new or reused. */
static __always_inline struct sock_state *sock_state(__u64 sk, __u64 ino)
{
	struct sock_state *st = bpf_map_lookup_elem(&sockets, &sk);
	struct sock_state fresh = {.ino = ino};
	struct conn *c;

	if (st && (st->ino == ino || !ino))
		return st;
	c = bpf_map_lookup_elem(&conns, &sk);
	fresh.conn_id = c ? c->conn_id : new_conn_id();
	bpf_map_update_elem(&sockets, &sk, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&sockets, &sk);
}

static __always_inline __u8 direction_of(__u8 source)
{
	switch (source) {
	case SONDE_SRC_READ:
	case SONDE_SRC_READV:
	case SONDE_SRC_RECVFROM:
	case SONDE_SRC_RECVMSG:
	case SONDE_SRC_RECVMMSG:
	case SONDE_SRC_SSL_READ:
		return SONDE_INGRESS;
	default:
		return SONDE_EGRESS;
	}
}

/* Copies up to @want bytes from @buf into @dst; returns the bytes copied. */
static __always_inline __u32 copy_buf(__u8 *dst, __u64 buf, __u64 want)
{
	__u32 n = want > SONDE_CAPTURE_MAX ? SONDE_CAPTURE_MAX : want;

	barrier_var(n);
	if (n == 0 || n > SONDE_CAPTURE_MAX)
		return 0;
	return bpf_probe_read_user(dst, n, (void *)buf) ? 0 : n;
}

/* Copies up to @want bytes from an iovec array; returns the bytes copied. */
static __always_inline __u32 copy_iov(__u8 *dst, __u64 iov, __u64 iovcnt, __u64 want)
{
	__u32 off = 0;

	for (int i = 0; i < SONDE_IOV_MAX; i++) {
		struct iovec v;
		__u64 take;

		if (i >= iovcnt || off >= want || off >= SONDE_CAPTURE_MAX)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(v))))
			break;
		take = v.iov_len;
		if (take > want - off)
			take = want - off;
		if (take > SONDE_CAPTURE_MAX - off)
			take = SONDE_CAPTURE_MAX - off;
		barrier_var(take);
		if (take == 0)
			continue;
		if (take > SONDE_CAPTURE_MAX)
			break;
		if (bpf_probe_read_user(&dst[off & (SONDE_CAPTURE_MAX - 1)], take, v.iov_base))
			break;
		off += take;
	}
	return off;
}

/* Puts the call's peer address, if it names one, as an unconnected socket's remote end. */
static __always_inline void peer_from(struct sonde_data_event *ev, __u64 addr)
{
	struct sockaddr_in6 sa = {};

	/* A connected socket's peer is its own; recvmsg names it anyway. */
	if (ev->tuple.dport)
		return;
	if (!addr || bpf_probe_read_user(&sa, sizeof(sa), (void *)addr))
		return;
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		map_v4(ev->tuple.daddr, in->sin_addr.s_addr);
	} else if (sa.sin6_family == AF_INET6) {
		__builtin_memcpy(ev->tuple.daddr, sa.sin6_addr.in6_u.u6_addr8, 16);
	} else {
		return;
	}
	ev->tuple.dport = bpf_ntohs(sa.sin6_port);
	ev->flags |= SONDE_DATA_PEER;
}

/*
 * Sends what one call moved on @sk: @len bytes at @buf (a buffer, an iovec
 * array, or a msghdr, by @c->source), the first of them copied.
 */
static __always_inline void emit(struct sock *sk, struct sock_state *st, struct call *c,
				 __u32 layer, __u64 len)
{
	__u32 cpu = bpf_get_smp_processor_id(), dir = direction_of(c->source);
	__u64 key = (__u64)sk, want = len, offset, buf = c->buf, iovcnt = c->iovcnt;
	struct sonde_capture_ctl *ctl = bpf_map_lookup_elem(&capture_ctl, &key);
	struct record *r = bpf_map_lookup_elem(&scratch, &cpu);
	struct user_msghdr msg = {};
	__u32 captured = 0, size;

	layer &= 1;
	dir &= 1;
	offset = st->offset[layer][dir];
	st->offset[layer][dir] = offset + len;
	if (ctl && ctl->conn_id == st->conn_id) {
		if (ctl->flags & (layer ? SONDE_CTL_MUTE_TLS : SONDE_CTL_MUTE_RAW)) {
			add(SONDE_CAP_MUTED_CALLS, 1);
			return;
		}
		if (ctl->skip_until[layer][dir] >= offset + len)
			want = 0;
	}
	if (!r)
		return;
	__builtin_memset(&r->ev, 0, sizeof(r->ev));
	sock_tuple(&r->ev.tuple, sk);
	r->ev.sock = key;
	r->ev.conn_id = st->conn_id;
	r->ev.offset = offset;
	r->ev.len = len;
	r->ev.netns = sock_netns(sk);
	r->ev.direction = dir;
	r->ev.source = c->source;
	r->ev.flags = layer == SONDE_LAYER_TLS ? SONDE_DATA_TLS : 0;
	r->ev.pid = bpf_get_current_pid_tgid() >> 32;
	r->ev.tid = (__u32)bpf_get_current_pid_tgid();
	r->ev.start_ns = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), group_leader,
				       start_boottime);
	bpf_get_current_comm(r->ev.comm, sizeof(r->ev.comm));

	switch (c->source) {
	case SONDE_SRC_SENDFILE:
		break;
	case SONDE_SRC_READV:
	case SONDE_SRC_WRITEV:
		captured = copy_iov(r->data, buf, iovcnt, want);
		break;
	case SONDE_SRC_RECVMSG:
	case SONDE_SRC_SENDMSG:
	case SONDE_SRC_RECVMMSG: /* struct mmsghdr begins with its msghdr */
	case SONDE_SRC_SENDMMSG:
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)buf))
			break;
		peer_from(&r->ev, (__u64)msg.msg_name);
		captured = copy_iov(r->data, (__u64)msg.msg_iov, msg.msg_iovlen, want);
		break;
	case SONDE_SRC_RECVFROM:
	case SONDE_SRC_SENDTO:
		peer_from(&r->ev, c->addr);
		captured = copy_buf(r->data, buf, want);
		break;
	default:
		captured = copy_buf(r->data, buf, want);
	}
	/* Never more than SONDE_CAPTURE_MAX; the mask tells the verifier so. */
	captured &= 2 * SONDE_CAPTURE_MAX - 1;
	r->ev.captured = captured;
	size = sizeof(r->ev) + captured;
	fill_header(&r->ev.hdr, SONDE_EVENT_DATA, size);
	add(SONDE_CAP_CALLS, 1);
	add(SONDE_CAP_BYTES_COPIED, captured);
	add(SONDE_CAP_BYTES_NOT_COPIED, len - captured);
	output(r, size, SONDE_EVENT_DATA);
}

static __always_inline int leave(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call *found = bpf_map_lookup_elem(&calls, &id);
	struct ssl_call *in_ssl;
	struct sock_state *st;
	struct call c;

	if (!found)
		return 0;
	c = *found;
	bpf_map_delete_elem(&calls, &id);
	if (ret <= 0)
		return 0;
	st = sock_state(c.sk, c.ino);
	if (!st)
		return 0;
	in_ssl = bpf_map_lookup_elem(&ssl_calls, &id);
	if (in_ssl) {
		/* Ciphertext: only its socket is of use, to place the plaintext. */
		struct ssl_key key = {.ssl = in_ssl->ssl, .tgid = id >> 32};

		in_ssl->sk = c.sk;
		bpf_map_update_elem(&ssl_socks, &key, &c.sk, BPF_ANY);
		st->offset[SONDE_LAYER_RAW][direction_of(c.source) & 1] += ret;
		return 0;
	}
	if (c.source == SONDE_SRC_RECVMMSG || c.source == SONDE_SRC_SENDMMSG) {
		/* ret counts messages; the first one's length follows its msghdr. */
		struct mmsghdr first;

		if (bpf_probe_read_user(&first, sizeof(first), (void *)c.buf) || !first.msg_len)
			return 0;
		add(SONDE_CAP_MMSG_UNREAD, ret - 1);
		ret = first.msg_len;
	}
	emit((struct sock *)c.sk, st, &c, SONDE_LAYER_RAW, ret);
	return 0;
}

#define ARG(n) ((__u64)ctx->args[n])

SEC("tracepoint/syscalls/sys_enter_read")
int enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, 0, SONDE_SRC_READ);
}

SEC("tracepoint/syscalls/sys_enter_write")
int enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, 0, SONDE_SRC_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), ARG(2), 0, SONDE_SRC_READV);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), ARG(2), 0, SONDE_SRC_WRITEV);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, ARG(4), SONDE_SRC_RECVFROM);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, ARG(4), SONDE_SRC_SENDTO);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, 0, SONDE_SRC_RECVMSG);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, 0, SONDE_SRC_SENDMSG);
}

SEC("tracepoint/syscalls/sys_enter_recvmmsg")
int enter_recvmmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, 0, SONDE_SRC_RECVMMSG);
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), ARG(1), 0, 0, SONDE_SRC_SENDMMSG);
}

SEC("tracepoint/syscalls/sys_enter_sendfile64")
int enter_sendfile(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ARG(0), 0, 0, 0, SONDE_SRC_SENDFILE);
}

/* One exit program serves every call: the entry recorded which it was. */
SEC("tracepoint/syscalls/sys_exit_read")
int exit_socket_call(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

static __always_inline int ssl_enter(__u64 ssl, __u64 buf, __u64 ex_len, __u8 source)
{
	struct ssl_call c = {.ssl = ssl, .buf = buf, .ex_len = ex_len, .source = source};
	__u64 id = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&ssl_calls, &id, &c, BPF_ANY))
		add(SONDE_CAP_CALLS_UNTRACKED, 1);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return ssl_enter((__u64)ssl, (__u64)buf, 0, SONDE_SRC_SSL_WRITE);
}

SEC("uprobe")
int BPF_UPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written)
{
	return ssl_enter((__u64)ssl, (__u64)buf, (__u64)written, SONDE_SRC_SSL_WRITE);
}

SEC("uprobe")
int BPF_UPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return ssl_enter((__u64)ssl, (__u64)buf, 0, SONDE_SRC_SSL_READ);
}

SEC("uprobe")
int BPF_UPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return ssl_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, SONDE_SRC_SSL_READ);
}

/* The return of any of the four: SSL_*_ex return 1 and store the length. */
SEC("uretprobe")
int BPF_URETPROBE(ssl_return, int ret)
{
	__u64 id = bpf_get_current_pid_tgid(), len = 0, *known;
	struct ssl_call *found = bpf_map_lookup_elem(&ssl_calls, &id);
	struct ssl_key key = {.tgid = id >> 32};
	struct call c = {};
	struct sock_state *st;
	struct ssl_call s;

	if (!found)
		return 0;
	s = *found;
	bpf_map_delete_elem(&ssl_calls, &id);
	if (s.ex_len) {
		if (ret != 1 || bpf_probe_read_user(&len, sizeof(len), (void *)s.ex_len))
			return 0;
	} else if (ret > 0) {
		len = ret;
	}
	if (!len)
		return 0;
	key.ssl = s.ssl;
	if (!s.sk) {
		known = bpf_map_lookup_elem(&ssl_socks, &key);
		if (known)
			s.sk = *known;
	}
	if (!s.sk) {
		add(SONDE_CAP_TLS_NO_SOCKET, 1);
		return 0;
	}
	st = sock_state(s.sk, 0);
	if (!st)
		return 0;
	c.buf = s.buf;
	c.source = s.source;
	emit((struct sock *)s.sk, st, &c, SONDE_LAYER_TLS, len);
	return 0;
}
