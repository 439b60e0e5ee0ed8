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
    /// What fds 0, 1 and 2 were when the image began: at exec (after
    /// close-on-exec), or when sonde read a running process from /proc.
    /// Absent for a forked process that has not exec'd, and in events stored
    /// before sonde recorded it.
    // Absent from store values of format 2: `crate::compat`.
    #[serde(default, deserialize_with = "crate::compat::stdio")]
    pub stdio: Option<Stdio>,
}

/// A process's standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stdio {
    pub stdin: StdioFile,
    pub stdout: StdioFile,
    pub stderr: StdioFile,
}

/// What one standard stream's fd is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StdioFile {
    #[serde(rename = "type")]
    pub kind: FileType,
    /// A socket's address family; absent for other files, and when sonde
    /// could not tell.
    pub family: Option<SocketFamily>,
}

/// The type of an open file, from its inode's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// The fd is not open.
    #[serde(rename = "none")]
    Closed,
    /// A regular file (a memfd too).
    File,
    Dir,
    /// A pipe or a FIFO.
    Pipe,
    Socket,
    /// A terminal: a pseudo-terminal (`/dev/pts/N`, `/dev/ptmx`), a virtual
    /// console, `/dev/tty`, `/dev/console` or a serial port.
    Tty,
    /// Another character device, such as `/dev/null`.
    Chr,
    Blk,
    /// Anything else (a symlink opened with `O_PATH`, an anonymous inode).
    Other,
}

/// Device majors of terminals (Documentation/admin-guide/devices.txt): virtual
/// consoles and serial ports (4), `/dev/tty`, `/dev/console`, `/dev/ptmx` (5),
/// pseudo-terminals (136-143), USB serial (166, 188), low-density serial
/// (204) and hypervisor consoles (229).
fn is_tty_major(major: u32) -> bool {
    matches!(major, 4 | 5 | 136..=143 | 166 | 188 | 204 | 229)
}

impl FileType {
    /// The type of a file with inode mode `mode` (0: not open) and, for a
    /// device, device major `major`.
    pub fn from_mode(mode: u32, major: u32) -> FileType {
        if mode == 0 {
            return FileType::Closed;
        }
        match mode & 0o170000 {
            0o100000 => FileType::File,
            0o040000 => FileType::Dir,
            0o010000 => FileType::Pipe,
            0o140000 => FileType::Socket,
            0o020000 if is_tty_major(major) => FileType::Tty,
            0o020000 => FileType::Chr,
            0o060000 => FileType::Blk,
            _ => FileType::Other,
        }
    }

    /// The JSON name, which is also the value of the rule fields
    /// `proc.stdin.type`, `proc.stdout.type` and `proc.stderr.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Closed => "none",
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Pipe => "pipe",
            FileType::Socket => "socket",
            FileType::Tty => "tty",
            FileType::Chr => "chr",
            FileType::Blk => "blk",
            FileType::Other => "other",
        }
    }
}

/// A socket's address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SocketFamily {
    Unix,
    Inet,
    Inet6,
    Netlink,
    /// Any other family (packet, vsock, ...).
    Other,
}

impl SocketFamily {
    /// The family `AF_*` number `af` names; None for 0 (unknown).
    pub fn from_af(af: u16) -> Option<SocketFamily> {
        Some(match af {
            0 => return None,
            1 => SocketFamily::Unix,
            2 => SocketFamily::Inet,
            10 => SocketFamily::Inet6,
            16 => SocketFamily::Netlink,
            _ => SocketFamily::Other,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SocketFamily::Unix => "unix",
            SocketFamily::Inet => "inet",
            SocketFamily::Inet6 => "inet6",
            SocketFamily::Netlink => "netlink",
            SocketFamily::Other => "other",
        }
    }
}

impl StdioFile {
    /// An fd from its inode mode (0: not open), its socket family number
    /// (0: not a socket or unknown) and its device major.
    pub fn new(mode: u32, af: u16, major: u32) -> StdioFile {
        let kind = FileType::from_mode(mode, major);
        StdioFile {
            kind,
            family: if kind == FileType::Socket {
                SocketFamily::from_af(af)
            } else {
                None
            },
        }
    }
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

    #[test]
    fn file_types_from_modes() {
        let t = FileType::from_mode;
        assert_eq!(t(0, 0), FileType::Closed);
        assert_eq!(t(0o100644, 0), FileType::File);
        assert_eq!(t(0o040755, 0), FileType::Dir);
        assert_eq!(t(0o010600, 0), FileType::Pipe);
        assert_eq!(t(0o140777, 0), FileType::Socket);
        assert_eq!(t(0o020620, 136), FileType::Tty); // /dev/pts/N
        assert_eq!(t(0o020666, 5), FileType::Tty); // /dev/tty
        assert_eq!(t(0o020620, 4), FileType::Tty); // /dev/tty1
        assert_eq!(t(0o020666, 1), FileType::Chr); // /dev/null
        assert_eq!(t(0o060660, 8), FileType::Blk);
        assert_eq!(t(0o120777, 0), FileType::Other);
        assert_eq!(t(0o600, 0), FileType::Other); // an anonymous inode
        assert_eq!(
            StdioFile::new(0o140777, 10, 0).family,
            Some(SocketFamily::Inet6)
        );
        assert_eq!(StdioFile::new(0o140777, 0, 0).family, None);
        assert_eq!(
            StdioFile::new(0o140777, 17, 0).family,
            Some(SocketFamily::Other)
        );
        // A family only for a socket.
        assert_eq!(StdioFile::new(0o010600, 2, 0).family, None);
    }

    #[test]
    fn stdio_json_and_events_without_it() {
        let stdio = Stdio {
            stdin: StdioFile::new(0o140777, 2, 0),
            stdout: StdioFile::new(0, 0, 0),
            stderr: StdioFile::new(0o020666, 0, 1),
        };
        assert_eq!(
            serde_json::to_string(&stdio).unwrap(),
            r#"{"stdin":{"type":"socket","family":"inet"},"stdout":{"type":"none","family":null},"stderr":{"type":"chr","family":null}}"#
        );
        for t in [
            FileType::Closed,
            FileType::File,
            FileType::Dir,
            FileType::Pipe,
            FileType::Socket,
            FileType::Tty,
            FileType::Chr,
            FileType::Blk,
            FileType::Other,
        ] {
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        let process = r#"{"exec_id":"x","parent_exec_id":null,"pid":1,"tid":1,"ppid":0,"uid":0,"gid":0,"euid":0,"egid":0,"comm":"init","binary":"/sbin/init","argv":[],"argv_truncated":false,"cwd":"/","start_time":"2026-11-22T03:22:29.689661521Z","cgroup":{"id":1,"path":"/"},"container":null,"namespaces":{"pid":1,"mnt":2,"net":3},"tty":null,"origin":"procfs"}"#;
        let p: Process = serde_json::from_str(process).unwrap();
        assert_eq!(p.stdio, None);
        let with = process.replace(
            r#""origin":"procfs""#,
            &format!(
                r#""origin":"procfs","stdio":{}"#,
                serde_json::to_string(&stdio).unwrap()
            ),
        );
        let p: Process = serde_json::from_str(&with).unwrap();
        assert_eq!(p.stdio, Some(stdio));
    }
}
