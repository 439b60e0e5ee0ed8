/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * What every kernel program object has: its ring buffer, the count of what
 * the ring had no room for, and the helpers that write records. Included by
 * each .bpf.c, so each object gets maps of its own.
 */
#ifndef SONDE_OUTPUT_H
#define SONDE_OUTPUT_H

#include "abi.h"

/*
 * Wake the reader only once this much is waiting (set by the loader to a
 * fraction of the ring); below it the reader drains on its own timer. One
 * wake-up per record costs more than the record.
 */
const volatile __u64 wakeup_bytes = 1 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

/* Records the ring buffer had no room for, per event type, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_EVENT_TYPE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Adds one to a per-CPU array counter. */
static __always_inline void count(void *map, __u32 index)
{
	__u64 *n = bpf_map_lookup_elem(map, &index);

	if (n)
		(*n)++;
}

static __always_inline void fill_header(struct sonde_event_header *hdr, __u16 type, __u32 size)
{
	hdr->type = type;
	hdr->version = SONDE_ABI_VERSION;
	hdr->size = size;
	hdr->ktime_ns = bpf_ktime_get_boot_ns();
}

/* Copies @record to the ring buffer, or counts it lost. */
static __always_inline void output(void *record, __u64 size, __u32 type)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = waiting >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_output(&events, record, size, flags))
		count(&lost, type);
}

#endif /* SONDE_OUTPUT_H */
