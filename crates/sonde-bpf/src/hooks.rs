//! The kernel hooks each collector attaches to, as data: the loaders attach
//! exactly these and `sonde doctor` reports exactly these.

use libbpf_rs::{Link, Object, TracepointCategory};
use serde::Serialize;

use crate::BpfError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    Tracepoint,
    RawTracepoint,
    /// A software perf event (the profiler's cpu-clock), one per CPU.
    PerfEvent,
    /// A cgroup socket-address hook (`cgroup/connect4`…), attached to the
    /// cgroup v2 root by its loader.
    CgroupSockAddr,
}

impl HookKind {
    /// The capability (program type) the hook needs, as `doctor` names it.
    pub fn capability(self) -> &'static str {
        match self {
            HookKind::Tracepoint => "tracepoint",
            HookKind::RawTracepoint => "raw_tracepoint",
            HookKind::PerfEvent => "perf_event",
            HookKind::CgroupSockAddr => "cgroup_sock_addr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub kind: HookKind,
    /// `category:name` for tracepoints, the bare name for raw tracepoints.
    pub name: &'static str,
    /// The BPF program attached to it.
    #[serde(skip)]
    pub program: &'static str,
    /// What sonde learns from it.
    pub purpose: &'static str,
}

const fn tracepoint(name: &'static str, program: &'static str, purpose: &'static str) -> Hook {
    Hook {
        kind: HookKind::Tracepoint,
        name,
        program,
        purpose,
    }
}

/// Raw tracepoints for the busiest hooks: the kernel skips a classic
/// tracepoint program while any other BPF program runs on the CPU, a raw
/// one only while the same program does.
const fn raw_tracepoint(name: &'static str, program: &'static str, purpose: &'static str) -> Hook {
    Hook {
        kind: HookKind::RawTracepoint,
        name,
        program,
        purpose,
    }
}

/// The CPU profiler's hook (bpf/profile.bpf.c), attached by its own loader
/// (one perf event per CPU), listed here for `status` and `doctor`.
pub const PROFILE_HOOKS: [Hook; 1] = [Hook {
    kind: HookKind::PerfEvent,
    name: "software:cpu-clock",
    program: "sample",
    purpose: "sampled kernel and user stacks of whatever runs on each CPU",
}];

/// The process lifecycle collector's hooks (bpf/process.bpf.c).
pub const PROCESS_HOOKS: [Hook; 3] = [
    Hook {
        kind: HookKind::RawTracepoint,
        name: "sched_process_fork",
        program: "handle_fork",
        purpose: "new processes (the child task tells a process from a thread)",
    },
    tracepoint(
        "sched:sched_process_exec",
        "handle_exec",
        "exec: binary, argv, cwd, credentials, cgroup, namespaces, tty",
    ),
    tracepoint(
        "sched:sched_process_exit",
        "handle_exit",
        "exit of a thread group's last thread: exit code or signal",
    ),
];

/// Enforcement's hooks (bpf/enforce.bpf.c). The connect hooks are attached
/// to the cgroup v2 root by the loader, so they cover every cgroup.
pub const ENFORCE_HOOKS: [Hook; 5] = [
    raw_tracepoint(
        "sched_process_exec",
        "enforce_exec",
        "kill policies: SIGKILL before the new image runs its first instruction",
    ),
    Hook {
        kind: HookKind::CgroupSockAddr,
        name: "cgroup/connect4",
        program: "enforce_connect4",
        purpose: "deny-connect policies for IPv4 destinations (EPERM)",
    },
    Hook {
        kind: HookKind::CgroupSockAddr,
        name: "cgroup/connect6",
        program: "enforce_connect6",
        purpose: "deny-connect policies for IPv6 destinations (EPERM)",
    },
    Hook {
        kind: HookKind::CgroupSockAddr,
        name: "cgroup/sendmsg4",
        program: "enforce_sendmsg4",
        purpose: "deny-connect policies for datagrams sent to IPv4 addresses (EPERM)",
    },
    Hook {
        kind: HookKind::CgroupSockAddr,
        name: "cgroup/sendmsg6",
        program: "enforce_sendmsg6",
        purpose: "deny-connect policies for datagrams sent to IPv6 addresses (EPERM)",
    },
];

/// The network collector's hooks (bpf/network.bpf.c).
pub const NETWORK_HOOKS: [Hook; 8] = [
    raw_tracepoint(
        "inet_sock_set_state",
        "handle_tcp_state",
        "TCP connection lifecycle; totals from tcp_sock at close",
    ),
    tracepoint(
        "sock:sock_send_length",
        "handle_send",
        "owners of accepted TCP sockets and UDP ports; periodic reports",
    ),
    tracepoint(
        "sock:sock_recv_length",
        "handle_recv",
        "owners of accepted TCP sockets and UDP ports; periodic reports",
    ),
    tracepoint(
        "tcp:tcp_send_reset",
        "handle_send_reset",
        "resets sent per connection",
    ),
    tracepoint(
        "tcp:tcp_receive_reset",
        "handle_receive_reset",
        "resets received per connection",
    ),
    tracepoint(
        "skb:kfree_skb",
        "handle_drop",
        "packet drops with the kernel's drop reason",
    ),
    raw_tracepoint(
        "net_dev_start_xmit",
        "handle_xmit",
        "UDP packets sent, per 5-tuple",
    ),
    raw_tracepoint(
        "netif_receive_skb",
        "handle_receive",
        "UDP packets received, per 5-tuple",
    ),
];

const fn socket_call(enter: &'static str, program: &'static str) -> Hook {
    tracepoint(
        enter,
        program,
        "a socket call's buffer (inet TCP and UDP sockets only)",
    )
}

const fn socket_return(exit: &'static str) -> Hook {
    tracepoint(
        exit,
        "exit_socket_call",
        "the bytes a socket call moved, up to the capture limit",
    )
}

/// The request capture's hooks (bpf/capture.bpf.c). The OpenSSL uprobes are
/// attached per library as user space finds them.
pub const CAPTURE_HOOKS: [Hook; 22] = [
    socket_call("syscalls:sys_enter_read", "enter_read"),
    socket_call("syscalls:sys_enter_write", "enter_write"),
    socket_call("syscalls:sys_enter_readv", "enter_readv"),
    socket_call("syscalls:sys_enter_writev", "enter_writev"),
    socket_call("syscalls:sys_enter_recvfrom", "enter_recvfrom"),
    socket_call("syscalls:sys_enter_sendto", "enter_sendto"),
    socket_call("syscalls:sys_enter_recvmsg", "enter_recvmsg"),
    socket_call("syscalls:sys_enter_sendmsg", "enter_sendmsg"),
    socket_call("syscalls:sys_enter_recvmmsg", "enter_recvmmsg"),
    socket_call("syscalls:sys_enter_sendmmsg", "enter_sendmmsg"),
    socket_call("syscalls:sys_enter_sendfile64", "enter_sendfile"),
    socket_return("syscalls:sys_exit_read"),
    socket_return("syscalls:sys_exit_write"),
    socket_return("syscalls:sys_exit_readv"),
    socket_return("syscalls:sys_exit_writev"),
    socket_return("syscalls:sys_exit_recvfrom"),
    socket_return("syscalls:sys_exit_sendto"),
    socket_return("syscalls:sys_exit_recvmsg"),
    socket_return("syscalls:sys_exit_sendmsg"),
    socket_return("syscalls:sys_exit_recvmmsg"),
    socket_return("syscalls:sys_exit_sendmmsg"),
    socket_return("syscalls:sys_exit_sendfile64"),
];

const fn file_call(enter: &'static str, program: &'static str) -> Hook {
    tracepoint(
        enter,
        program,
        "a file call's path, checked against the watched prefixes in the kernel",
    )
}

const fn file_return(exit: &'static str) -> Hook {
    tracepoint(
        exit,
        "exit_file",
        "the result of a file call on a watched path",
    )
}

const fn security_call(enter: &'static str, program: &'static str, purpose: &'static str) -> Hook {
    tracepoint(enter, program, purpose)
}

const fn security_return(exit: &'static str) -> Hook {
    tracepoint(
        exit,
        "exit_security",
        "the result and the credentials after a security call",
    )
}

/// The file and security collector's hooks (bpf/security.bpf.c). A syscall
/// this kernel does not have (its tracepoint is absent from tracefs, e.g.
/// the module calls without CONFIG_MODULES or `open` on arm64) is skipped,
/// and `doctor` says so.
pub const SECURITY_HOOKS: [Hook; 67] = [
    file_call("syscalls:sys_enter_open", "enter_open"),
    file_call("syscalls:sys_enter_openat", "enter_openat"),
    file_call("syscalls:sys_enter_openat2", "enter_openat2"),
    file_call("syscalls:sys_enter_creat", "enter_creat"),
    file_call("syscalls:sys_enter_unlink", "enter_unlink"),
    file_call("syscalls:sys_enter_unlinkat", "enter_unlinkat"),
    file_call("syscalls:sys_enter_rmdir", "enter_rmdir"),
    file_call("syscalls:sys_enter_rename", "enter_rename"),
    file_call("syscalls:sys_enter_renameat", "enter_renameat"),
    file_call("syscalls:sys_enter_renameat2", "enter_renameat2"),
    file_call("syscalls:sys_enter_chmod", "enter_chmod"),
    file_call("syscalls:sys_enter_fchmodat", "enter_fchmodat"),
    file_call("syscalls:sys_enter_fchmodat2", "enter_fchmodat2"),
    file_call("syscalls:sys_enter_chown", "enter_chown"),
    file_call("syscalls:sys_enter_lchown", "enter_lchown"),
    file_call("syscalls:sys_enter_fchownat", "enter_fchownat"),
    file_return("syscalls:sys_exit_open"),
    file_return("syscalls:sys_exit_openat"),
    file_return("syscalls:sys_exit_openat2"),
    file_return("syscalls:sys_exit_creat"),
    file_return("syscalls:sys_exit_unlink"),
    file_return("syscalls:sys_exit_unlinkat"),
    file_return("syscalls:sys_exit_rmdir"),
    file_return("syscalls:sys_exit_rename"),
    file_return("syscalls:sys_exit_renameat"),
    file_return("syscalls:sys_exit_renameat2"),
    file_return("syscalls:sys_exit_chmod"),
    file_return("syscalls:sys_exit_fchmodat"),
    file_return("syscalls:sys_exit_fchmodat2"),
    file_return("syscalls:sys_exit_chown"),
    file_return("syscalls:sys_exit_lchown"),
    file_return("syscalls:sys_exit_fchownat"),
    security_call(
        "syscalls:sys_enter_setuid",
        "enter_setuid",
        "privilege changes: requested ids, credentials before and after",
    ),
    security_call(
        "syscalls:sys_enter_setgid",
        "enter_setgid",
        "privilege changes: requested ids, credentials before and after",
    ),
    security_call(
        "syscalls:sys_enter_setreuid",
        "enter_setreuid",
        "privilege changes: requested ids, credentials before and after",
    ),
    security_call(
        "syscalls:sys_enter_setregid",
        "enter_setregid",
        "privilege changes: requested ids, credentials before and after",
    ),
    security_call(
        "syscalls:sys_enter_setresuid",
        "enter_setresuid",
        "privilege changes: requested ids, credentials before and after",
    ),
    security_call(
        "syscalls:sys_enter_setresgid",
        "enter_setresgid",
        "privilege changes: requested ids, credentials before and after",
    ),
    security_call(
        "syscalls:sys_enter_capset",
        "enter_capset",
        "capability changes",
    ),
    security_call(
        "syscalls:sys_enter_ptrace",
        "enter_ptrace",
        "ptrace attach, seize, traceme and pokes",
    ),
    security_call(
        "syscalls:sys_enter_memfd_create",
        "enter_memfd_create",
        "anonymous in-memory files",
    ),
    security_call(
        "syscalls:sys_enter_mount",
        "enter_mount",
        "mounts: source, target, file system type, flags",
    ),
    security_call(
        "syscalls:sys_enter_umount",
        "enter_umount",
        "unmounts (umount2)",
    ),
    security_call(
        "syscalls:sys_enter_init_module",
        "enter_init_module",
        "kernel module loads from memory",
    ),
    security_call(
        "syscalls:sys_enter_finit_module",
        "enter_finit_module",
        "kernel module loads from a file",
    ),
    security_call(
        "syscalls:sys_enter_delete_module",
        "enter_delete_module",
        "kernel module unloads",
    ),
    security_call(
        "syscalls:sys_enter_bpf",
        "enter_bpf",
        "BPF program loads: type and name",
    ),
    security_call(
        "syscalls:sys_enter_unshare",
        "enter_unshare",
        "new namespaces",
    ),
    security_call(
        "syscalls:sys_enter_setns",
        "enter_setns",
        "entering namespaces",
    ),
    security_return("syscalls:sys_exit_setuid"),
    security_return("syscalls:sys_exit_setgid"),
    security_return("syscalls:sys_exit_setreuid"),
    security_return("syscalls:sys_exit_setregid"),
    security_return("syscalls:sys_exit_setresuid"),
    security_return("syscalls:sys_exit_setresgid"),
    security_return("syscalls:sys_exit_capset"),
    security_return("syscalls:sys_exit_ptrace"),
    security_return("syscalls:sys_exit_memfd_create"),
    security_return("syscalls:sys_exit_mount"),
    security_return("syscalls:sys_exit_umount"),
    security_return("syscalls:sys_exit_init_module"),
    security_return("syscalls:sys_exit_finit_module"),
    security_return("syscalls:sys_exit_delete_module"),
    security_return("syscalls:sys_exit_bpf"),
    security_return("syscalls:sys_exit_unshare"),
    security_return("syscalls:sys_exit_setns"),
    tracepoint(
        "sched:sched_process_exec",
        "exec_memfd",
        "exec of a memfd (fileless execution)",
    ),
];

/// Attaches each hook's program in `object`.
pub(crate) fn attach_all(object: &mut Object, hooks: &[Hook]) -> Result<Vec<Link>, BpfError> {
    hooks.iter().map(|hook| attach(object, hook)).collect()
}

pub(crate) fn attach(object: &mut Object, hook: &Hook) -> Result<Link, BpfError> {
    let attach_err = |source| BpfError::Attach {
        hook: hook.name.into(),
        source,
    };
    let program = object
        .progs_mut()
        .find(|p| p.name().to_str() == Some(hook.program))
        .ok_or_else(|| attach_err(libbpf_rs::Error::from_raw_os_error(libc::ENOENT)))?;
    let link = match hook.kind {
        HookKind::RawTracepoint => program.attach_raw_tracepoint(hook.name),
        HookKind::Tracepoint => {
            let (category, name) = hook
                .name
                .split_once(':')
                .expect("tracepoint hooks are category:name");
            program.attach_tracepoint(TracepointCategory::Custom(category.into()), name)
        }
        // One event per CPU, at a rate: the profiler's loader attaches these.
        // Cgroup hooks need a cgroup: the enforcement loader attaches those.
        HookKind::PerfEvent | HookKind::CgroupSockAddr => {
            Err(libbpf_rs::Error::from_raw_os_error(libc::EINVAL))
        }
    };
    link.map_err(attach_err)
}
