use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Container, Timestamp};

/// A process image: what ran, as whom, where. Carried whole by every process
/// event so that each event can be filtered and read on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Process {
    /// Unique, stable id of this process image on this host: derived from the
    /// boot id, the pid and the kernel time the image began (exec, fork, or the
    /// start time read from /proc for processes already running).
    #[serde(with = "crate::exec_id::packed")]
    #[schemars(with = "String")]
    pub exec_id: String,
    /// `exec_id` of the parent process's image at the time of the event.
    #[serde(with = "crate::exec_id::packed_option")]
    #[schemars(with = "Option<String>")]
    pub parent_exec_id: Option<String>,
    pub pid: u32,
    /// Thread that called execve (equals `pid` after exec).
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// Kernel task name (first 15 bytes of the executable's name).
    pub comm: String,
    /// Path of the executed file as the kernel received it, made absolute.
    pub binary: String,
    /// The full argument vector, argv\[0\] included.
    pub argv: Vec<String>,
    /// True when argv was longer than the capture bound and was cut.
    pub argv_truncated: bool,
    /// Working directory at exec time.
    pub cwd: String,
    /// When the process (the task, not this image) was started.
    pub start_time: Timestamp,
    pub cgroup: Cgroup,
    /// Set when the cgroup path names a container.
    pub container: Option<Container>,
    pub namespaces: Namespaces,
    /// Controlling terminal (`pts/0`, `tty1`), if any.
    pub tty: Option<String>,
    /// How sonde learned of this image.
    pub origin: Origin,
}

/// Where a process record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Seen at `execve` by the kernel program.
    Exec,
    /// Forked and not (yet) exec'd: inherits the parent's image.
    Fork,
    /// Already running when sonde started; read from /proc.
    Procfs,
}

/// The process's cgroup in the unified (v2) hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cgroup {
    /// Kernel cgroup id (the inode of the cgroup directory).
    pub id: u64,
    /// Path below the cgroup2 mount, e.g. `/system.slice/nginx.service`.
    pub path: String,
}

/// Namespace inode numbers, as in `/proc/PID/ns/*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Namespaces {
    pub pid: u32,
    pub mnt: u32,
    pub net: u32,
}

/// One step up the process tree: parent first, then its parent, up to the
/// first process sonde knows nothing above (normally pid 1). The full record
/// of an ancestor is its exec event, found by `exec_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ancestor {
    #[serde(with = "crate::exec_id::packed")]
    #[schemars(with = "String")]
    pub exec_id: String,
    pub pid: u32,
    pub binary: String,
}

/// A successful `execve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessExec {
    pub time: Timestamp,
    pub process: Process,
    /// Parent first.
    pub ancestors: Vec<Ancestor>,
}

/// The end of a process (its last thread exited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessExit {
    pub time: Timestamp,
    pub process: Process,
    pub status: ExitStatus,
    /// From process start (`start_time`) to exit.
    pub duration_ns: u64,
}

/// How a process ended: an exit code, or the signal that killed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExitStatus {
    /// `exit(code)`; absent when a signal ended the process.
    pub code: Option<u8>,
    /// Signal name (`SIGKILL`) when a signal ended the process.
    pub signal: Option<String>,
    pub core_dumped: bool,
}

impl ExitStatus {
    /// Decodes a kernel wait status (`task->exit_code`): `code << 8 | core << 7 | signal`.
    pub fn from_wait_status(status: u32) -> Self {
        let signal = status & 0x7f;
        if signal == 0 {
            ExitStatus {
                code: Some(((status >> 8) & 0xff) as u8),
                signal: None,
                core_dumped: false,
            }
        } else {
            ExitStatus {
                code: None,
                signal: Some(signal_name(signal)),
                core_dumped: status & 0x80 != 0,
            }
        }
    }
}

fn signal_name(signal: u32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match NAMES.get(signal as usize) {
        Some(name) if !name.is_empty() => (*name).to_string(),
        _ => format!("SIGRT{signal}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_wait_status() {
        assert_eq!(
            ExitStatus::from_wait_status(7 << 8),
            ExitStatus {
                code: Some(7),
                signal: None,
                core_dumped: false
            }
        );
        assert_eq!(
            ExitStatus::from_wait_status(9),
            ExitStatus {
                code: None,
                signal: Some("SIGKILL".into()),
                core_dumped: false
            }
        );
        assert_eq!(
            ExitStatus::from_wait_status(0x80 | 11),
            ExitStatus {
                code: None,
                signal: Some("SIGSEGV".into()),
                core_dumped: true
            }
        );
        assert_eq!(
            ExitStatus::from_wait_status(34).signal.as_deref(),
            Some("SIGRT34")
        );
    }
}
