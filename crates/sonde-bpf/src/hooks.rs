//! The kernel hooks each collector attaches to, as data: the loader attaches
//! exactly these and `sonde doctor` reports exactly these.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    Tracepoint,
    RawTracepoint,
}

impl HookKind {
    /// The capability (program type) the hook needs, as `doctor` names it.
    pub fn capability(self) -> &'static str {
        match self {
            HookKind::Tracepoint => "tracepoint",
            HookKind::RawTracepoint => "raw_tracepoint",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub kind: HookKind,
    /// `category:name` for tracepoints, the bare name for raw tracepoints.
    pub name: &'static str,
    /// What sonde learns from it.
    pub purpose: &'static str,
}

/// The process lifecycle collector's hooks (bpf/process.bpf.c).
pub const PROCESS_HOOKS: [Hook; 3] = [
    Hook {
        kind: HookKind::RawTracepoint,
        name: "sched_process_fork",
        purpose: "new processes (the child task tells a process from a thread)",
    },
    Hook {
        kind: HookKind::Tracepoint,
        name: "sched:sched_process_exec",
        purpose: "exec: binary, argv, cwd, credentials, cgroup, namespaces, tty",
    },
    Hook {
        kind: HookKind::Tracepoint,
        name: "sched:sched_process_exit",
        purpose: "exit of a thread group's last thread: exit code or signal",
    },
];
