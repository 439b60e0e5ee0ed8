//! Security-relevant operations: privilege and capability changes, ptrace,
//! memfd and exec from memfd, mounts, kernel modules, BPF program loads and
//! namespaces.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Ancestor, Process, Timestamp};

/// One security operation, with the caller's credentials before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityEvent {
    /// When the call returned (the exec, for `exec_memfd`).
    pub time: Timestamp,
    /// The process that made the call.
    pub process: Process,
    /// Parent first.
    pub ancestors: Vec<Ancestor>,
    pub kind: SecurityKind,
    /// What the call asked for, by kind.
    pub detail: SecurityDetail,
    /// The syscall's return; negative errno on failure (0 for `exec_memfd`).
    pub result: i64,
    /// The errno's name on failure (`EPERM`).
    pub error: Option<String>,
    /// At syscall entry.
    pub credentials_before: Credentials,
    /// At syscall exit.
    pub credentials_after: Credentials,
    /// A string argument was longer than the kernel copies (512 bytes) and was cut.
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityKind {
    Setuid,
    Setgid,
    Setreuid,
    Setregid,
    Setresuid,
    Setresgid,
    Capset,
    Ptrace,
    MemfdCreate,
    /// A process image executed from a memfd (fileless execution).
    ExecMemfd,
    Mount,
    Umount,
    InitModule,
    FinitModule,
    DeleteModule,
    BpfProgLoad,
    Unshare,
    Setns,
}

impl SecurityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityKind::Setuid => "setuid",
            SecurityKind::Setgid => "setgid",
            SecurityKind::Setreuid => "setreuid",
            SecurityKind::Setregid => "setregid",
            SecurityKind::Setresuid => "setresuid",
            SecurityKind::Setresgid => "setresgid",
            SecurityKind::Capset => "capset",
            SecurityKind::Ptrace => "ptrace",
            SecurityKind::MemfdCreate => "memfd_create",
            SecurityKind::ExecMemfd => "exec_memfd",
            SecurityKind::Mount => "mount",
            SecurityKind::Umount => "umount",
            SecurityKind::InitModule => "init_module",
            SecurityKind::FinitModule => "finit_module",
            SecurityKind::DeleteModule => "delete_module",
            SecurityKind::BpfProgLoad => "bpf_prog_load",
            SecurityKind::Unshare => "unshare",
            SecurityKind::Setns => "setns",
        }
    }
}

/// A task's credentials (`/proc/PID/status` Uid/Gid lines, CapEff/CapPrm).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub suid: u32,
    pub sgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub cap_effective: u64,
    pub cap_permitted: u64,
}

/// The arguments of the call, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityDetail {
    /// set*id: the ids asked for, in the call's order (real, effective,
    /// saved); `None` is -1 (unchanged).
    Ids {
        requested: Vec<Option<u32>>,
    },
    /// capset: the target pid (0: self) and the first 32 bits of each set.
    Capset {
        pid: u32,
        effective: u32,
        permitted: u32,
        inheritable: u32,
    },
    Ptrace {
        /// `PTRACE_ATTACH`, `PTRACE_SEIZE`, `PTRACE_TRACEME`, `PTRACE_POKE*`.
        request: String,
        target_pid: u32,
        address: u64,
    },
    Memfd {
        name: String,
        flags: u32,
    },
    /// The memfd's name as the kernel shows it (`memfd:NAME`).
    ExecMemfd {
        name: String,
    },
    Mount {
        source: String,
        target: String,
        fstype: String,
        flags: u64,
    },
    Umount {
        target: String,
        flags: u64,
    },
    Module {
        /// delete_module's name; the file name for finit_module.
        name: Option<String>,
        parameters: Option<String>,
        /// init_module's image length, finit_module's fd.
        size_or_fd: u64,
        flags: u64,
    },
    BpfProgLoad {
        /// `enum bpf_prog_type` number and name.
        prog_type: u32,
        prog_type_name: String,
        name: String,
    },
    Namespaces {
        /// unshare's CLONE_* flags or setns's nstype.
        flags: u64,
        /// `mnt`, `uts`, `ipc`, `user`, `pid`, `net`, `cgroup`, `time`.
        namespaces: Vec<String>,
        /// setns's fd.
        fd: Option<i32>,
    },
}

/// The namespace names of CLONE_NEW* bits.
pub fn namespace_names(flags: u64) -> Vec<String> {
    const NAMES: [(u64, &str); 8] = [
        (0x0002_0000, "mnt"),
        (0x0200_0000, "cgroup"),
        (0x0400_0000, "uts"),
        (0x0800_0000, "ipc"),
        (0x1000_0000, "user"),
        (0x2000_0000, "pid"),
        (0x4000_0000, "net"),
        (0x0000_0080, "time"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// `CAP_*` names of a capability set, lowest bit first.
pub fn capability_names(set: u64) -> Vec<&'static str> {
    const NAMES: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| set & (1 << bit) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// `PTRACE_*` name of a request sonde reports.
pub fn ptrace_request_name(request: u64) -> String {
    match request {
        0 => "PTRACE_TRACEME".into(),
        4 => "PTRACE_POKETEXT".into(),
        5 => "PTRACE_POKEDATA".into(),
        6 => "PTRACE_POKEUSER".into(),
        16 => "PTRACE_ATTACH".into(),
        0x4206 => "PTRACE_SEIZE".into(),
        n => format!("PTRACE_{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_requests_are_named() {
        assert_eq!(namespace_names(0x0002_0000 | 0x4000_0000), ["mnt", "net"]);
        assert_eq!(ptrace_request_name(16), "PTRACE_ATTACH");
        assert_eq!(ptrace_request_name(0x4206), "PTRACE_SEIZE");
    }
}
