/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The TCP connection table. The network object owns it; the capture object
 * shares it (the loader hands it the same map) to give a request the id of
 * its connection.
 */
#ifndef SONDE_CONNS_H
#define SONDE_CONNS_H

#include "abi.h"

/* What sonde tracks of one TCP connection while it lives. */
struct conn {
	struct sonde_owner owner;
	__u64 start_ns;
	__u64 last_report_ns;
	__u64 conn_id; /* random; joins requests to the connection */
	__u32 resets_sent;
	__u32 resets_received;
	__u8 direction;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, __u64); /* struct sock * */
	__type(value, struct conn);
} conns SEC(".maps");

/* A connection id no other connection is likely to get. */
static __always_inline __u64 new_conn_id(void)
{
	return ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32() | 1;
}

#endif /* SONDE_CONNS_H */
