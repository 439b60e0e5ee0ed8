/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Reading a socket's namespace and addresses (CO-RE). */
#ifndef SONDE_SOCK_H
#define SONDE_SOCK_H

#include "abi.h"

/* Macros are not in BTF. */
#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

static __always_inline __u32 sock_netns(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* ::ffff:a.b.c.d */
static __always_inline void map_v4(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

/* Local end as source, remote as destination. */
static __always_inline void sock_tuple(struct sonde_tuple *t, struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->protocol = BPF_CORE_READ(sk, sk_protocol);
	/* inet_sport, not skc_num: at TCP_CLOSE the kernel has already released
	 * the port (skc_num is 0), while inet_sport still names it. */
	t->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		map_v4(t->saddr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		map_v4(t->daddr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	} else {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

#endif /* SONDE_SOCK_H */
