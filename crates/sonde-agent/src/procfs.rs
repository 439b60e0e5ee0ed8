//! Reading a running process from /proc, for the processes that started
//! before the agent (and for exits of processes the table missed).

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use sonde_event::{parse_container, Cgroup, Namespaces, Origin, Process, Stdio, StdioFile};

use crate::clock::BootClock;
use sonde_event::ExecIds;

/// What /proc says about one process, with the kernel times the table keys on.
#[derive(Debug, Clone)]
pub struct ProcSnapshot {
    pub process: Process,
    /// start_boottime, at clock-tick resolution.
    pub start_ns: u64,
}

pub struct ProcReader {
    root: PathBuf,
    cgroup2: Option<PathBuf>,
    ns_per_tick: u64,
}

impl ProcReader {
    pub fn new() -> Self {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        ProcReader {
            root: "/proc".into(),
            cgroup2: cgroup2_mount(),
            ns_per_tick: 1_000_000_000 / ticks.max(1) as u64,
        }
    }

    /// Every numeric entry of /proc.
    pub fn pids(&self) -> Vec<u32> {
        let Ok(dir) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// Reads one process; `None` if it is gone (or vanishes while read).
    pub fn read(&self, pid: u32, ids: &ExecIds, clock: BootClock) -> Option<ProcSnapshot> {
        let dir = self.root.join(pid.to_string());
        let stat = Stat::parse(&fs::read_to_string(dir.join("stat")).ok()?)?;
        let status = fs::read_to_string(dir.join("status")).ok()?;
        let [uid, euid] = id_pair(&status, "Uid:")?;
        let [gid, egid] = id_pair(&status, "Gid:")?;
        let argv = split_nul(&fs::read(dir.join("cmdline")).unwrap_or_default());
        let link = |name: &str| {
            fs::read_link(dir.join(name))
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        };
        let cgroup_path = fs::read_to_string(dir.join("cgroup"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("0::").map(str::to_string))
            })
            .unwrap_or_else(|| "/".into());
        let cgroup_id = self
            .cgroup2
            .as_ref()
            .and_then(|m| fs::metadata(m.join(cgroup_path.trim_start_matches('/'))).ok())
            .map_or(0, |m| m.ino());
        let ns = |name: &str| ns_inode(&dir.join("ns").join(name)).unwrap_or(0);
        let start_ns = stat.start_ticks * self.ns_per_tick;
        let process = Process {
            exec_id: ids.id(start_ns, pid),
            parent_exec_id: None,
            pid,
            tid: pid,
            ppid: stat.ppid,
            uid,
            gid,
            euid,
            egid,
            comm: stat.comm,
            // Kernel threads have no executable.
            binary: link("exe").unwrap_or_default(),
            argv,
            argv_truncated: false,
            cwd: link("cwd").unwrap_or_default(),
            start_time: clock.to_wall(start_ns),
            container: parse_container(&cgroup_path),
            cgroup: Cgroup {
                id: cgroup_id,
                path: cgroup_path,
            },
            namespaces: Namespaces {
                pid: ns("pid"),
                mnt: ns("mnt"),
                net: ns("net"),
            },
            tty: tty_name(stat.tty_nr),
            origin: Origin::Procfs,
            stdio: read_stdio(&dir.join("fd")),
        };
        Some(ProcSnapshot { process, start_ns })
    }
}

impl Default for ProcReader {
    fn default() -> Self {
        Self::new()
    }
}

/// The fields of /proc/PID/stat sonde uses.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    comm: String,
    ppid: u32,
    tty_nr: u32,
    start_ticks: u64,
}

impl Stat {
    /// `pid (comm) state ppid pgrp session tty_nr ... starttime(22) ...`;
    /// comm may itself hold spaces and parentheses, so split at the last ')'.
    fn parse(text: &str) -> Option<Stat> {
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let comm = text.get(open + 1..close)?.to_string();
        let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
        // fields[0] is field 3 (state).
        Some(Stat {
            comm,
            ppid: fields.get(1)?.parse().ok()?,
            tty_nr: fields.get(4)?.parse::<i64>().ok()? as u32,
            start_ticks: fields.get(19)?.parse().ok()?,
        })
    }
}

/// The real and effective ids of a `Uid:`/`Gid:` line of /proc/PID/status.
fn id_pair(status: &str, key: &str) -> Option<[u32; 2]> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    let mut ids = line.split_whitespace().map(|v| v.parse().ok());
    Some([ids.next()??, ids.next()??])
}

pub fn split_nul(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// fds 0-2 of a running process, from a stat through `/proc/PID/fd/N` (the
/// open file itself); a socket's family from its `system.sockprotoname`.
/// None when the fd directory cannot be read (the process is gone, or it is
/// a kernel thread).
fn read_stdio(fd_dir: &Path) -> Option<Stdio> {
    fs::read_dir(fd_dir).ok()?;
    let file = |n: u32| {
        let path = fd_dir.join(n.to_string());
        match fs::metadata(&path) {
            Ok(m) => {
                let af = if m.file_type().is_socket() {
                    socket_family(&path)
                } else {
                    0
                };
                StdioFile::new(m.mode(), af, libc::major(m.rdev()))
            }
            Err(_) => StdioFile::new(0, 0, 0),
        }
    };
    Some(Stdio {
        stdin: file(0),
        stdout: file(1),
        stderr: file(2),
    })
}

/// The `AF_*` number of the socket `path` resolves to, from the protocol
/// name the socket file system gives (`TCP`, `UDPv6`, `UNIX-STREAM`, ...);
/// 0 when unknown.
fn socket_family(path: &Path) -> u16 {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return 0;
    };
    let mut name = [0u8; 32];
    // SAFETY: both pointers are valid for the lengths given.
    let n = unsafe {
        libc::getxattr(
            c_path.as_ptr(),
            c"system.sockprotoname".as_ptr(),
            name.as_mut_ptr().cast(),
            name.len(),
        )
    };
    let Ok(n) = usize::try_from(n) else {
        return 0;
    };
    let name = name[..n].split(|b| *b == 0).next().unwrap_or_default();
    protocol_family(name)
}

/// `AF_*` of a socket protocol's name (`struct proto`'s `name`).
fn protocol_family(name: &[u8]) -> u16 {
    match name {
        b"TCP" | b"UDP" | b"UDP-Lite" | b"RAW" | b"PING" | b"MPTCP" | b"SCTP" => 2,
        b"TCPv6" | b"UDPv6" | b"UDPLITEv6" | b"RAWv6" | b"PINGv6" | b"MPTCPv6" | b"SCTPv6" => 10,
        n if n.starts_with(b"UNIX") => 1,
        b"NETLINK" => 16,
        _ => 0,
    }
}

fn ns_inode(link: &Path) -> Option<u32> {
    let target = fs::read_link(link).ok()?;
    let text = target.to_str()?;
    text.split_once('[')?.1.strip_suffix(']')?.parse().ok()
}

/// Names a terminal from its device number, as `ps` does.
fn tty_name(tty_nr: u32) -> Option<String> {
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        0 => None,
        4 if minor < 64 => Some(format!("tty{minor}")),
        4 => Some(format!("ttyS{}", minor - 64)),
        136..=143 => Some(format!("pts/{}", (major - 136) * 256 + minor)),
        _ => Some(format!("{major}:{minor}")),
    }
}

/// Where the unified (v2) cgroup hierarchy is mounted.
pub fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let (_, dir, fstype) = (f.next()?, f.next()?, f.next()?);
        (fstype == "cgroup2").then(|| PathBuf::from(dir))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_in_comm() {
        let text =
            "42 (we(ird) n) S 7 42 42 34816 42 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 \n";
        assert_eq!(
            Stat::parse(text),
            Some(Stat {
                comm: "we(ird) n".into(),
                ppid: 7,
                tty_nr: 34816,
                start_ticks: 98765
            })
        );
        assert_eq!(Stat::parse("42 (truncated"), None);
    }

    #[test]
    fn terminals() {
        assert_eq!(tty_name(0), None);
        assert_eq!(tty_name(136 << 8 | 3), Some("pts/3".into()));
        assert_eq!(tty_name(4 << 8 | 1), Some("tty1".into()));
    }

    #[test]
    fn argv_splits_on_nul() {
        assert_eq!(split_nul(b"sh\0-c\0exit 7\0"), ["sh", "-c", "exit 7"]);
        assert_eq!(split_nul(b"cut"), ["cut"]);
        assert!(split_nul(b"").is_empty());
        assert_eq!(split_nul(b"a\0\0b\0"), ["a", "", "b"]);
    }

    #[test]
    fn socket_protocol_names() {
        assert_eq!(protocol_family(b"TCP"), 2);
        assert_eq!(protocol_family(b"UDPv6"), 10);
        assert_eq!(protocol_family(b"UNIX-STREAM"), 1);
        assert_eq!(protocol_family(b"UNIX"), 1);
        assert_eq!(protocol_family(b"NETLINK"), 16);
        assert_eq!(protocol_family(b"PACKET"), 0);
    }

    #[test]
    fn reads_the_stdio_of_a_running_process() {
        use std::process::{Command, Stdio as Io};

        use sonde_event::{FileType, SocketFamily};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let stdin = std::os::fd::OwnedFd::from(client);
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Io::from(stdin))
            .stdout(Io::piped())
            .stderr(Io::null())
            .spawn()
            .unwrap();
        let got = read_stdio(Path::new(&format!("/proc/{}/fd", child.id())));
        let _ = child.kill();
        let _ = child.wait();
        let got = got.unwrap();
        assert_eq!(got.stdin.kind, FileType::Socket);
        assert_eq!(got.stdin.family, Some(SocketFamily::Inet));
        assert_eq!(got.stdout.kind, FileType::Pipe);
        assert_eq!(got.stderr.kind, FileType::Chr);
        assert_eq!(read_stdio(Path::new("/proc/0/fd")), None);
    }

    #[test]
    fn reads_this_process() {
        let ids = ExecIds::new("abc");
        let me = std::process::id();
        let snap = ProcReader::new().read(me, &ids, BootClock::new()).unwrap();
        assert_eq!(snap.process.pid, me);
        assert_eq!(snap.process.ppid, nix::unistd::getppid().as_raw() as u32);
        assert_eq!(
            snap.process.binary,
            std::env::current_exe().unwrap().to_str().unwrap()
        );
        assert_eq!(snap.process.argv, std::env::args().collect::<Vec<_>>());
        assert!(snap.start_ns > 0);
    }
}
