// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP connections and packet drops on tracepoints only:
 *  - sock:inet_sock_set_state (raw): connection lifecycle; the connect()ing
 *    process owns an active open, the listening process a passive one;
 *    totals read from struct tcp_sock (CO-RE) at close; a socket that starts
 *    or stops listening is reported with its owner;
 *  - sock:sock_send_length / sock_recv_length: process context for every
 *    send and receive, so an accepted socket is attributed to the process
 *    that uses it, and long-lived connections report periodically;
 *  - tcp:tcp_send_reset / tcp_receive_reset: resets per connection;
 *  - skb:kfree_skb: every drop with the kernel's reason and the packet's
 *    5-tuple, rate-limited per CPU (per-reason counters never are);
 *  - net:net_dev_start_xmit / netif_receive_skb (raw): UDP packets counted per
 *    5-tuple in udp_flows; sock_send/recv_length record each UDP port's owner.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "conns.h"
#include "output.h"
#include "sock.h"

char LICENSE[] SEC("license") = "GPL";

/* Macros are not in BTF. */
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IPV6_EXT_MAX 4

/* Set by the loader. */
const volatile __u64 report_interval_ns = 30ULL * 1000 * 1000 * 1000;
const volatile __u64 drop_records_per_sec = 2000; /* per CPU */

/* enum sonde_net_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_NET_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Every drop, by reason, whether or not its record was sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} drop_reasons SEC(".maps");

struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct listen_key);
	__type(value, struct sonde_owner);
} listeners SEC(".maps");

/*
 * How many sockets listen on each (netns, port): several may (IPv4 and IPv6,
 * SO_REUSEPORT), and the owner in `listeners` is forgotten only when the
 * last of them closes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct listen_key);
	__type(value, __u32);
} listener_counts SEC(".maps");

/*
 * Each listening socket's owner, by struct sock *, for its close record: the
 * close may run in another task (or at exit), and listeners keyed by (netns,
 * port) may share a port (SO_REUSEPORT, IPv4 and IPv6).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, __u64);
	__type(value, struct sonde_owner);
} listen_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct sonde_udp_key);
	__type(value, struct sonde_udp_counts);
} udp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct sonde_port_key);
	__type(value, struct sonde_owner);
} udp_owners SEC(".maps");

struct rate {
	__u64 window_start_ns;
	__u64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rate);
} drop_rate SEC(".maps");

/* Keeps the ABI structs in the object's BTF for the generated skeleton types. */
struct sonde_tcp_event _abi_tcp = {};
struct sonde_drop_event _abi_drop = {};
struct sonde_listen_event _abi_listen = {};
struct sonde_udp_key _abi_udp_key = {};
struct sonde_udp_counts _abi_udp_counts = {};
struct sonde_port_key _abi_port_key = {};

/* kfree_skb gained rx_sk in Linux 6.12. */
struct trace_event_raw_kfree_skb___since_6_12 {
	void *rx_sk;
} __attribute__((preserve_access_index));

static __always_inline void current_owner(struct sonde_owner *o, __u32 from)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->from = from;
	o->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline void emit_tcp(struct sock *sk, struct conn *c, __u8 report, __u8 state)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct sonde_tcp_event ev = {};
	__u64 received = BPF_CORE_READ(tp, bytes_received);

	fill_header(&ev.hdr, SONDE_EVENT_TCP, sizeof(ev));
	sock_tuple(&ev.tuple, sk);
	/* Data bytes only: bytes_sent counts retransmissions again, and
	 * bytes_received counts the peer's FIN as one byte. SOCK_DONE says a FIN
	 * arrived (tcp_fin sets it); RCV_SHUTDOWN would not, as close() sets it
	 * too. */
	ev.bytes_sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
	if ((BPF_CORE_READ(sk, __sk_common.skc_flags) &
	     (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) &&
	    received > 0)
		received--;
	ev.bytes_received = received;
	ev.segs_out = BPF_CORE_READ(tp, segs_out);
	ev.segs_in = BPF_CORE_READ(tp, segs_in);
	ev.srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	ev.retransmits = BPF_CORE_READ(tp, total_retrans);
	ev.netns = sock_netns(sk);
	ev.report = report;
	ev.last_state = state;
	if (c) {
		ev.owner = c->owner;
		ev.start_ns = c->start_ns;
		ev.resets_sent = c->resets_sent;
		ev.resets_received = c->resets_received;
		ev.direction = c->direction;
		ev.conn_id = c->conn_id;
	}
	output(&ev, sizeof(ev), SONDE_EVENT_TCP);
}

/* A socket started (SONDE_LISTEN_OPEN) or stopped listening; @owner may be NULL. */
/* Adds @delta to the listeners on @lk; returns how many are left. */
static __always_inline __u32 count_listener(struct listen_key *lk, int delta)
{
	__u32 *n = bpf_map_lookup_elem(&listener_counts, lk), one = 1;

	if (!n) {
		if (delta > 0)
			bpf_map_update_elem(&listener_counts, lk, &one, BPF_NOEXIST);
		return delta > 0 ? 1 : 0;
	}
	/* Atomic adds whose result is unused: no BPF_FETCH needed (cpu v1). */
	if (delta > 0) {
		__sync_fetch_and_add(n, 1);
		return *n;
	}
	if (*n > 1) {
		__sync_fetch_and_add(n, -1);
		return *n;
	}
	bpf_map_delete_elem(&listener_counts, lk);
	return 0;
}

static __always_inline void emit_listen(struct sock *sk, struct sonde_owner *owner, __u8 state)
{
	struct sonde_listen_event ev = {};
	struct sonde_tuple t = {};

	fill_header(&ev.hdr, SONDE_EVENT_LISTEN, sizeof(ev));
	sock_tuple(&t, sk);
	__builtin_memcpy(ev.addr, t.saddr, sizeof(ev.addr));
	ev.port = t.sport;
	ev.family = t.family;
	ev.netns = sock_netns(sk);
	ev.backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	ev.state = state;
	if (owner)
		ev.owner = *owner;
	output(&ev, sizeof(ev), SONDE_EVENT_LISTEN);
}

static __always_inline void track(__u64 sk, struct sonde_owner *owner, __u8 direction)
{
	struct conn c = {
	    .start_ns = bpf_ktime_get_boot_ns(),
	    .direction = direction,
	    .conn_id = new_conn_id(),
	};

	if (owner)
		c.owner = *owner;
	c.last_report_ns = c.start_ns;
	if (bpf_map_update_elem(&conns, &sk, &c, BPF_ANY))
		count(&counters, SONDE_NET_CONNS_UNTRACKED);
}

/*
 * A raw tracepoint: the kernel skips a classic tracepoint program while any
 * other BPF program runs on the CPU, but a raw tracepoint program only while
 * the same program does.
 */
SEC("raw_tracepoint/inet_sock_set_state")
int handle_tcp_state(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];
	int old = (int)ctx->args[1], new = (int)ctx->args[2];
	__u64 key = (__u64)sk;
	struct listen_key lk = {};
	struct sonde_owner owner = {};

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	lk.netns = sock_netns(sk);
	lk.port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (new == TCP_LISTEN) {
		/* listen() runs in the caller; sk_max_ack_backlog is already set. */
		current_owner(&owner, SONDE_OWNER_LISTENER);
		bpf_map_update_elem(&listeners, &lk, &owner, BPF_ANY);
		bpf_map_update_elem(&listen_socks, &key, &owner, BPF_ANY);
		count_listener(&lk, 1);
		emit_listen(sk, &owner, SONDE_LISTEN_OPEN);
	} else if (old == TCP_LISTEN && new == TCP_CLOSE) {
		emit_listen(sk, bpf_map_lookup_elem(&listen_socks, &key), SONDE_LISTEN_CLOSED);
		bpf_map_delete_elem(&listen_socks, &key);
		if (!count_listener(&lk, -1))
			bpf_map_delete_elem(&listeners, &lk);
	} else if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		/* A passive open: the child is cloned from the listener. */
		track(key, bpf_map_lookup_elem(&listeners, &lk), SONDE_DIR_ACCEPT);
	} else if (old == TCP_CLOSE && new == TCP_SYN_SENT) {
		current_owner(&owner, SONDE_OWNER_CONNECT);
		track(key, &owner, SONDE_DIR_CONNECT);
	} else if (new == TCP_CLOSE) {
		emit_tcp(sk, bpf_map_lookup_elem(&conns, &key), SONDE_REPORT_FINAL, old);
		bpf_map_delete_elem(&conns, &key);
	}
	return 0;
}

/* Records who uses a UDP port (the first process seen, or a new one). */
static __always_inline void udp_owner(struct sock *sk)
{
	struct sonde_port_key key = {.netns = sock_netns(sk)};
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct sonde_owner *known, owner = {};

	key.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	known = bpf_map_lookup_elem(&udp_owners, &key);
	if (known && known->pid == pid)
		return;
	current_owner(&owner, SONDE_OWNER_IO);
	bpf_map_update_elem(&udp_owners, &key, &owner, BPF_ANY);
}

/* A send or receive, in the context of the process doing it. */
static __always_inline int on_io(struct trace_event_raw_sock_msg_length *ctx)
{
	struct sock *sk = ctx->sk;
	__u64 key = (__u64)sk;
	struct conn *c;
	__u64 now;

	if (ctx->protocol == IPPROTO_UDP) {
		udp_owner(sk);
		return 0;
	}
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	/* The listener's owner may hand accepted sockets to workers. */
	if (c->owner.from == SONDE_OWNER_NONE || c->owner.from == SONDE_OWNER_LISTENER)
		current_owner(&c->owner, SONDE_OWNER_IO);
	now = bpf_ktime_get_boot_ns();
	if (now - c->last_report_ns >= report_interval_ns) {
		c->last_report_ns = now;
		emit_tcp(sk, c, SONDE_REPORT_INTERIM, BPF_CORE_READ(sk, __sk_common.skc_state));
	}
	return 0;
}

SEC("tracepoint/sock/sock_send_length")
int handle_send(struct trace_event_raw_sock_msg_length *ctx)
{
	return on_io(ctx);
}

SEC("tracepoint/sock/sock_recv_length")
int handle_recv(struct trace_event_raw_sock_msg_length *ctx)
{
	return on_io(ctx);
}

SEC("tracepoint/tcp/tcp_send_reset")
int handle_send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	__u64 key = (__u64)ctx->skaddr;
	struct conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c)
		__sync_fetch_and_add(&c->resets_sent, 1);
	else
		count(&counters, SONDE_NET_RESETS_SENT_UNTRACKED);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int handle_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	__u64 key = (__u64)ctx->skaddr;
	struct conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c)
		__sync_fetch_and_add(&c->resets_received, 1);
	return 0;
}

/*
 * Reads the IP and transport headers of @skb into @t; returns the transport
 * header's address, or NULL.
 */
static __always_inline unsigned char *packet_tuple(struct sonde_tuple *t, struct sk_buff *skb,
						   __u16 ethertype)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 network = BPF_CORE_READ(skb, network_header);
	unsigned char *l4;
	__u8 proto;

	if (network == (__u16)~0U)
		return NULL;
	if (ethertype == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + network))
			return NULL;
		t->family = AF_INET;
		map_v4(t->saddr, ip.saddr);
		map_v4(t->daddr, ip.daddr);
		proto = ip.protocol;
		l4 = head + network + ip.ihl * 4;
		/* A non-first fragment carries no ports. */
		if (bpf_ntohs(ip.frag_off) & 0x1fff)
			proto = 0;
	} else if (ethertype == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + network))
			return NULL;
		t->family = AF_INET6;
		__builtin_memcpy(t->saddr, &ip6.saddr, 16);
		__builtin_memcpy(t->daddr, &ip6.daddr, 16);
		proto = ip6.nexthdr;
		l4 = head + network + sizeof(ip6);
		for (int i = 0; i < IPV6_EXT_MAX; i++) {
			__u8 ext[2];

			if (proto != 0 && proto != 43 && proto != 44 && proto != 60)
				break;
			if (bpf_probe_read_kernel(ext, sizeof(ext), l4))
				return NULL;
			if (proto == 44) {
				__be16 frag_off;

				bpf_probe_read_kernel(&frag_off, sizeof(frag_off), l4 + 2);
				l4 += 8;
				proto = (bpf_ntohs(frag_off) & 0xfff8) ? 0 : ext[0];
				if (!proto)
					break;
			} else {
				l4 += (ext[1] + 1) * 8;
				proto = ext[0];
			}
		}
	} else {
		return NULL;
	}
	t->protocol = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		__be16 ports[2];

		if (!bpf_probe_read_kernel(ports, sizeof(ports), l4)) {
			t->sport = bpf_ntohs(ports[0]);
			t->dport = bpf_ntohs(ports[1]);
		}
	}
	return l4;
}

/* True when this CPU may still send a drop record this second. */
static __always_inline bool drop_record_allowed(void)
{
	__u32 zero = 0;
	struct rate *r = bpf_map_lookup_elem(&drop_rate, &zero);
	__u64 now = bpf_ktime_get_boot_ns();

	if (!r)
		return false;
	if (now - r->window_start_ns >= 1000000000ULL) {
		r->window_start_ns = now;
		r->sent = 0;
	}
	if (r->sent >= drop_records_per_sec)
		return false;
	r->sent++;
	return true;
}

SEC("tracepoint/skb/kfree_skb")
int handle_drop(struct trace_event_raw_kfree_skb *ctx)
{
	struct trace_event_raw_kfree_skb___since_6_12 *rx = (void *)ctx;
	struct sk_buff *skb = ctx->skbaddr;
	__u32 reason = ctx->reason;
	struct sonde_drop_event ev = {};
	struct net_device *dev;
	struct sock *sk = NULL;
	__u64 zero = 0, *n, key;
	struct conn *c;

	n = bpf_map_lookup_elem(&drop_reasons, &reason);
	if (!n) {
		/* Another CPU may insert the same reason first: look up again. */
		bpf_map_update_elem(&drop_reasons, &reason, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&drop_reasons, &reason);
	}
	if (n)
		(*n)++;
	else
		count(&counters, SONDE_NET_DROP_REASONS_FULL);
	if (!drop_record_allowed()) {
		count(&counters, SONDE_NET_DROPS_SUPPRESSED);
		return 0;
	}

	fill_header(&ev.hdr, SONDE_EVENT_DROP, sizeof(ev));
	ev.reason = reason;
	ev.location = (__u64)ctx->location;
	ev.len = BPF_CORE_READ(skb, len);
	packet_tuple(&ev.tuple, skb, ctx->protocol);
	dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		ev.ifindex = BPF_CORE_READ(dev, ifindex);
		ev.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	}
	if (bpf_core_field_exists(rx->rx_sk))
		sk = rx->rx_sk;
	if (!sk)
		sk = BPF_CORE_READ(skb, sk);
	if (sk) {
		key = (__u64)sk;
		c = bpf_map_lookup_elem(&conns, &key);
		if (c)
			ev.owner = c->owner;
		if (!ev.netns)
			ev.netns = sock_netns(sk);
	}
	output(&ev, sizeof(ev), SONDE_EVENT_DROP);
	return 0;
}

/* Counts a UDP packet on its flow: @out for a packet leaving through a device. */
static __always_inline void count_udp(struct sk_buff *skb, bool out)
{
	__u16 ethertype = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	struct sonde_tuple t = {};
	struct sonde_udp_key key = {};
	struct sonde_udp_counts *v, fresh = {};
	unsigned char *l4;
	__be16 length;
	__u64 payload, now;

	if (ethertype != ETH_P_IP && ethertype != ETH_P_IPV6)
		return;
	l4 = packet_tuple(&t, skb, ethertype);
	if (!l4 || t.protocol != IPPROTO_UDP || bpf_probe_read_kernel(&length, 2, l4 + 4))
		return;
	payload = bpf_ntohs(length) > 8 ? bpf_ntohs(length) - 8 : 0;
	key.netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	if (out) {
		__builtin_memcpy(key.laddr, t.saddr, 16);
		__builtin_memcpy(key.raddr, t.daddr, 16);
		key.lport = t.sport;
		key.rport = t.dport;
	} else {
		__builtin_memcpy(key.laddr, t.daddr, 16);
		__builtin_memcpy(key.raddr, t.saddr, 16);
		key.lport = t.dport;
		key.rport = t.sport;
	}
	now = bpf_ktime_get_boot_ns();
	v = bpf_map_lookup_elem(&udp_flows, &key);
	if (!v) {
		fresh.first_ns = now;
		bpf_map_update_elem(&udp_flows, &key, &fresh, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&udp_flows, &key);
		if (!v) {
			count(&counters, SONDE_NET_UDP_FLOWS_UNTRACKED);
			return;
		}
	}
	if (out) {
		__sync_fetch_and_add(&v->bytes_out, payload);
		__sync_fetch_and_add(&v->packets_out, 1);
	} else {
		__sync_fetch_and_add(&v->bytes_in, payload);
		__sync_fetch_and_add(&v->packets_in, 1);
	}
	v->last_ns = now;
}

SEC("raw_tracepoint/net_dev_start_xmit")
int handle_xmit(struct bpf_raw_tracepoint_args *ctx)
{
	count_udp((struct sk_buff *)ctx->args[0], true);
	return 0;
}

SEC("raw_tracepoint/netif_receive_skb")
int handle_receive(struct bpf_raw_tracepoint_args *ctx)
{
	count_udp((struct sk_buff *)ctx->args[0], false);
	return 0;
}
