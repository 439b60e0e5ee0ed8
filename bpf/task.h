/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The task header every process-attributed record starts with: the thread
 * group, the thread, the parent, and both groups' start times, which tell a
 * process from a later one that reuses its pid.
 */
#ifndef SONDE_TASK_H
#define SONDE_TASK_H

#include "abi.h"

static __always_inline void fill_task(struct sonde_task *t, struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);

	t->pid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	t->ppid = BPF_CORE_READ(parent, tgid);
	t->_pad = 0;
	t->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	t->parent_start_ns = BPF_CORE_READ(parent, group_leader, start_boottime);
}

#endif /* SONDE_TASK_H */
