/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Building paths in the kernel without bpf_d_path (not callable from
 * tracepoints): collect component names leaf-first, then write them root-first
 * into a buffer, each walk a bpf_loop() so the verifier checks one step, not
 * every unrolled iteration. Used for the working directory (dentries,
 * crossing mounts) and the cgroup path (kernfs nodes).
 */
#ifndef SONDE_PATH_H
#define SONDE_PATH_H

#include "abi.h"

/* kernfs_node->parent became __parent in Linux 6.15. */
struct kernfs_node___since_6_15 {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

struct kernfs_node___before_6_15 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/*
 * Names of one path, leaf first, and the walk's counters. It lives in a map
 * value, not on the stack: the verifier does not track values loaded from map
 * memory, so the bpf_loop() callbacks converge after one pass instead of being
 * re-verified for every distinct counter value.
 */
struct path_names {
	const unsigned char *name[SONDE_PATH_DEPTH];
	__u32 depth;
	__u32 off;   /* write cursor */
	__u32 start; /* where the path being written began */
	__u32 truncated;
};

static __always_inline struct kernfs_node *kernfs_parent(struct kernfs_node *kn)
{
	struct kernfs_node___since_6_15 *now = (void *)kn;

	if (bpf_core_field_exists(now->__parent))
		return BPF_CORE_READ(now, __parent);
	return BPF_CORE_READ((struct kernfs_node___before_6_15 *)kn, parent);
}

struct kernfs_walk {
	struct path_names *names;
	struct kernfs_node *kn;
};

static long kernfs_step(__u64 i, void *data)
{
	struct kernfs_walk *w = data;
	struct kernfs_node *kn = w->kn; /* BPF_CORE_READ must not see w-> */
	struct kernfs_node *parent = kernfs_parent(kn);

	if (!parent)
		return 1;
	if (i == SONDE_PATH_DEPTH - 1) {
		w->names->truncated = 1;
		return 1;
	}
	w->names->name[w->names->depth & (SONDE_PATH_DEPTH - 1)] =
	    (const unsigned char *)BPF_CORE_READ(kn, name);
	w->names->depth++;
	w->kn = parent;
	return 0;
}

/* Cgroup path of @kn below the hierarchy root; returns the depth collected. */
static __always_inline __u32 collect_kernfs_names(struct path_names *names, struct kernfs_node *kn,
						  bool *truncated)
{
	struct kernfs_walk w = {.names = names, .kn = kn};

	names->depth = 0;
	names->truncated = 0;
	bpf_loop(SONDE_PATH_DEPTH, kernfs_step, &w, 0);
	*truncated |= names->truncated;
	return names->depth;
}

struct dentry_walk {
	struct path_names *names;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u64 mnt_offset; /* offsetof(struct mount, mnt) on the running kernel */
};

static long dentry_step(__u64 i, void *data)
{
	struct dentry_walk *w = data;
	/* Locals, so that BPF_CORE_READ relocates kernel fields only. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry == w->root_dentry && vfsmnt == w->root_mnt)
		return 1;
	if (i == SONDE_PATH_DEPTH - 1) {
		w->names->truncated = 1;
		return 1;
	}
	if (dentry == BPF_CORE_READ(vfsmnt, mnt_root) || dentry == parent) {
		struct mount *mnt = (void *)vfsmnt - w->mnt_offset;
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1; /* the global root */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->vfsmnt = (void *)up + w->mnt_offset;
		return 0;
	}
	w->names->name[w->names->depth & (SONDE_PATH_DEPTH - 1)] =
	    BPF_CORE_READ(dentry, d_name.name);
	w->names->depth++;
	w->dentry = parent;
	return 0;
}

/*
 * Path of @dentry on @vfsmnt as the task whose root is @root sees it,
 * crossing mount points up to that root (or the global root).
 */
static __always_inline __u32 collect_dentry_names(struct path_names *names, struct dentry *dentry,
						  struct vfsmount *vfsmnt, struct path *root,
						  bool *truncated)
{
	struct dentry_walk w = {
	    .names = names,
	    .dentry = dentry,
	    .vfsmnt = vfsmnt,
	    .root_dentry = BPF_CORE_READ(root, dentry),
	    .root_mnt = BPF_CORE_READ(root, mnt),
	    .mnt_offset = bpf_core_field_offset(struct mount, mnt),
	};

	names->depth = 0;
	names->truncated = 0;
	bpf_loop(SONDE_PATH_DEPTH, dentry_step, &w, 0);
	*truncated |= names->truncated;
	return names->depth;
}

struct path_write {
	char *buf;
	struct path_names *names;
};

static long write_step(__u64 i, void *data)
{
	struct path_write *w = data;
	struct path_names *p = w->names;
	__u32 idx = (p->depth - 1 - (__u32)i) & (SONDE_PATH_DEPTH - 1);
	__u32 off;
	long n;

	if (i >= p->depth)
		return 1;
	if (p->off - p->start > SONDE_PATH_MAX - SONDE_NAME_MAX - 1) {
		p->truncated = 1;
		return 1;
	}
	off = p->off & (SONDE_ARGS_MAX - 1);
	w->buf[off] = '/';
	n = bpf_probe_read_kernel_str(&w->buf[off + 1], SONDE_NAME_MAX, p->name[idx]);
	/* n counts the NUL, which the '/' before the name stands in for. */
	p->off = off + (n > 0 ? n : 1);
	return 0;
}

/*
 * Writes "/a/b/c" (the collected names, root first) into @buf at @off, at
 * most SONDE_PATH_MAX bytes, no trailing NUL; returns the length written.
 * @buf must have room for 2 * SONDE_ARGS_MAX bytes so masked offsets stay in
 * bounds.
 */
static __always_inline __u32 write_path(char *buf, __u32 off, struct path_names *names,
					bool *truncated)
{
	struct path_write w = {.buf = buf, .names = names};

	if (names->depth == 0) {
		buf[off & (SONDE_ARGS_MAX - 1)] = '/';
		return 1;
	}
	names->off = off;
	names->start = off;
	names->truncated = 0;
	bpf_loop(SONDE_PATH_DEPTH, write_step, &w, 0);
	*truncated |= names->truncated;
	return names->off - names->start;
}

#endif /* SONDE_PATH_H */
