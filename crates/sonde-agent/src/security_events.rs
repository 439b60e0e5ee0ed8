//! File and security records from the kernel to events: the acting process
//! and its ancestry (through the process table), relative paths resolved
//! from /proc and filtered against the watched prefixes, flags and errnos by
//! name. Also what this path counts.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};
use sonde_bpf::abi::{
    Creds, FILE_CHMOD, FILE_CHOWN, FILE_OPEN, FILE_PATH2_TRUNCATED, FILE_PATH_TRUNCATED,
    FILE_RELATIVE, FILE_RELATIVE2, FILE_RENAME, FILE_UNLINK, SECC_COUNTER_MAX, SEC_BPF_PROG_LOAD,
    SEC_CAPSET, SEC_DELETE_MODULE, SEC_EXEC_MEMFD, SEC_FINIT_MODULE, SEC_INIT_MODULE,
    SEC_MEMFD_CREATE, SEC_MOUNT, SEC_PTRACE, SEC_SETGID, SEC_SETNS, SEC_SETREGID, SEC_SETRESGID,
    SEC_SETRESUID, SEC_SETREUID, SEC_SETUID, SEC_UMOUNT, SEC_UNSHARE,
};
use sonde_bpf::decode::{FileRecord, SecurityRecord};
use sonde_bpf::WatchPrefix;
use sonde_event::{
    at_flag_names, namespace_names, open_flag_names, ptrace_request_name, Credentials, FileEvent,
    FileOperation, SecurityDetail, SecurityEvent, SecurityKind,
};

use crate::clock::BootClock;
use crate::labelled_counter::LabelledCounter;
use crate::process_table::ProcessTable;
use crate::stats::{escape, write_family};

const AT_FDCWD: i32 = -100;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;
const O_TMPFILE: u32 = 0o20000000;

/// What the file and security path counted.
#[derive(Default)]
pub struct SecurityStats {
    pub file_events: AtomicU64,
    pub security_events: AtomicU64,
    /// Relative paths that resolved outside every watched prefix (filtered,
    /// not lost).
    pub relative_unwatched: AtomicU64,
    /// Relative paths whose process was gone before they could be resolved
    /// (reported relative).
    pub relative_unresolved: AtomicU64,
    /// The kernel's `sec_counters` (`abi::SECC_*`: no room to park the
    /// call, an exit without its entry): calls never reported.
    pub kernel: [AtomicU64; SECC_COUNTER_MAX as usize],
    /// Enforcements by (rule, action, mode: enforced, dry_run, spared).
    pub enforcements: LabelledCounter<3, ENFORCEMENT_SERIES_BUDGET>,
}

/// Series of `sonde_enforcements_total` kept before overflow.
const ENFORCEMENT_SERIES_BUDGET: usize = 512;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecuritySnapshot {
    pub file_events: u64,
    pub security_events: u64,
    pub relative_unwatched: u64,
    pub relative_unresolved: u64,
    pub kernel_pending_full: u64,
    pub kernel_stale: u64,
    /// ([rule, action, mode], enforcements)
    #[serde(default)]
    pub enforcements: Vec<([String; 3], u64)>,
}

impl SecurityStats {
    pub fn snapshot(&self) -> SecuritySnapshot {
        SecuritySnapshot {
            file_events: self.file_events.load(Relaxed),
            security_events: self.security_events.load(Relaxed),
            relative_unwatched: self.relative_unwatched.load(Relaxed),
            relative_unresolved: self.relative_unresolved.load(Relaxed),
            kernel_pending_full: self.kernel[0].load(Relaxed),
            kernel_stale: self.kernel[1].load(Relaxed),
            enforcements: self.enforcements.snapshot().0,
        }
    }

    /// Counts one enforcement (or dry run) the kernel reported.
    pub fn count_enforcement(&self, e: &sonde_event::Enforcement) {
        let mode = if e.spared {
            "spared"
        } else if e.dry_run {
            "dry_run"
        } else {
            "enforced"
        };
        self.enforcements.add(
            [
                e.rule.clone(),
                e.action.as_str().to_string(),
                mode.to_string(),
            ],
            1,
        );
    }
}

impl SecuritySnapshot {
    pub fn write_prometheus(&self, out: &mut String) {
        let s = self;
        write_family(
            out,
            "sonde_security_events_total",
            "counter",
            "File and security events produced.",
            &[
                ("{type=\"file\"}".into(), s.file_events),
                ("{type=\"security\"}".into(), s.security_events),
            ],
        );
        write_family(
            out,
            "sonde_file_relative_paths_total",
            "counter",
            "Relative paths resolved in user space: outside every watched prefix (dropped) or unresolvable (kept relative).",
            &[
                ("{outcome=\"unwatched\"}".into(), s.relative_unwatched),
                ("{outcome=\"unresolved\"}".into(), s.relative_unresolved),
            ],
        );
        write_family(
            out,
            "sonde_security_kernel_unreported_total",
            "counter",
            "File and security calls the kernel programs could not report.",
            &[
                ("{reason=\"pending_full\"}".into(), s.kernel_pending_full),
                ("{reason=\"stale\"}".into(), s.kernel_stale),
            ],
        );
        let enforcements: Vec<(String, u64)> = s
            .enforcements
            .iter()
            .map(|([rule, action, mode], n)| {
                (
                    format!(
                        "{{rule=\"{}\",action=\"{action}\",mode=\"{mode}\"}}",
                        escape(rule)
                    ),
                    *n,
                )
            })
            .collect();
        write_family(
            out,
            "sonde_enforcements_total",
            "counter",
            "Enforcements the kernel applied (enforced), would have applied (dry_run) or refused to apply to PID 1 or sonde (spared), by policy rule and action.",
            &enforcements,
        );
    }

    /// Calls that happened and were never reported.
    pub fn lost(&self) -> u64 {
        self.kernel_pending_full + self.kernel_stale
    }
}

/// The watched prefixes, as the kernel matches them: the most specific
/// prefix covering a path decides whether its read-only opens are reported.
#[derive(Debug, Clone, Default)]
pub struct WatchList {
    prefixes: Vec<WatchPrefix>,
}

impl WatchList {
    /// The agent's `watch_paths` (already accepted by the kernel loader).
    pub fn new(specs: &[String]) -> Self {
        let prefixes = specs
            .iter()
            .filter_map(|s| WatchPrefix::parse(s).ok())
            .collect();
        WatchList { prefixes }
    }

    pub fn covers(&self, path: &str, read_only: bool) -> bool {
        self.prefixes
            .iter()
            .filter(|p| p.covers(path))
            .max_by_key(|p| p.path.len())
            .is_some_and(|p| p.reads || !read_only)
    }
}

pub struct SecurityEvents {
    clock: BootClock,
    watch: WatchList,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn errno_name(result: i64) -> Option<String> {
    (result < 0).then(|| format!("{:?}", nix::errno::Errno::from_raw(-result as i32)))
}

fn credentials(c: &Creds) -> Credentials {
    Credentials {
        uid: c.uid,
        gid: c.gid,
        euid: c.euid,
        egid: c.egid,
        suid: c.suid,
        sgid: c.sgid,
        fsuid: c.fsuid,
        fsgid: c.fsgid,
        cap_effective: c.cap_effective,
        cap_permitted: c.cap_permitted,
    }
}

/// `enum bpf_prog_type` names, by number.
const BPF_PROG_TYPES: [&str; 33] = [
    "unspec",
    "socket_filter",
    "kprobe",
    "sched_cls",
    "sched_act",
    "tracepoint",
    "xdp",
    "perf_event",
    "cgroup_skb",
    "cgroup_sock",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "sock_ops",
    "sk_skb",
    "cgroup_device",
    "sk_msg",
    "raw_tracepoint",
    "cgroup_sock_addr",
    "lwt_seg6local",
    "lirc_mode2",
    "sk_reuseport",
    "flow_dissector",
    "cgroup_sysctl",
    "raw_tracepoint_writable",
    "cgroup_sockopt",
    "tracing",
    "struct_ops",
    "ext",
    "lsm",
    "sk_lookup",
    "syscall",
    "netfilter",
];

/// An id argument of set*id: -1 leaves it unchanged.
fn id_arg(v: u64) -> Option<u32> {
    let id = v as u32;
    (id != u32::MAX).then_some(id)
}

/// Where a relative path starts: the process's cwd or its dirfd.
fn resolve(pid: u32, dirfd: i32, path: &str) -> Option<String> {
    let base = if dirfd == AT_FDCWD {
        format!("/proc/{pid}/cwd")
    } else {
        format!("/proc/{pid}/fd/{dirfd}")
    };
    let base = std::fs::read_link(base).ok()?;
    let joined = if path.is_empty() {
        base
    } else {
        Path::new(&base).join(path)
    };
    Some(joined.to_string_lossy().into_owned())
}

impl SecurityEvents {
    pub fn new(clock: BootClock, watch_paths: &[String]) -> Self {
        SecurityEvents {
            clock,
            watch: WatchList::new(watch_paths),
        }
    }

    /// The event, or `None` when a relative path resolved outside every
    /// watched prefix (counted).
    pub fn file(
        &self,
        table: &ProcessTable,
        rec: &FileRecord<'_>,
        stats: &SecurityStats,
    ) -> Option<FileEvent> {
        let ev = &rec.event;
        let mut path = text(rec.path);
        let mut new_path = (ev.op == FILE_RENAME).then(|| text(rec.path2));
        let relative = ev.file_flags & (FILE_RELATIVE | FILE_RELATIVE2) != 0;
        let read_only = ev.op == FILE_OPEN && ev.flags & (0o3 | O_CREAT | O_TRUNC) == 0;
        if relative {
            let mut watched = false;
            let mut unresolved = false;
            let mut place = |p: &mut String, flag: u32, dirfd: i32| {
                if ev.file_flags & flag == 0 {
                    watched |= self.watch.covers(p, read_only);
                    return;
                }
                match resolve(ev.task.pid, dirfd, p) {
                    Some(abs) => {
                        watched |= self.watch.covers(&abs, read_only);
                        *p = abs;
                    }
                    None => unresolved = true,
                }
            };
            place(&mut path, FILE_RELATIVE, ev.dirfd);
            if let Some(p) = new_path.as_mut() {
                place(p, FILE_RELATIVE2, ev.dirfd2);
            }
            if unresolved {
                stats.relative_unresolved.fetch_add(1, Relaxed);
            } else if !watched {
                stats.relative_unwatched.fetch_add(1, Relaxed);
                return None;
            }
        }
        let operation = match ev.op {
            FILE_OPEN => FileOperation::Open,
            FILE_UNLINK => FileOperation::Unlink,
            FILE_RENAME => FileOperation::Rename,
            FILE_CHMOD => FileOperation::Chmod,
            FILE_CHOWN => FileOperation::Chown,
            _ => return None,
        };
        let flag_names = match operation {
            FileOperation::Open => open_flag_names(ev.flags),
            op => at_flag_names(op, ev.flags),
        };
        let mode = match operation {
            FileOperation::Open => (ev.flags & (O_CREAT | O_TMPFILE) != 0).then_some(ev.mode),
            FileOperation::Chmod => Some(ev.mode),
            _ => None,
        };
        let (owner_uid, owner_gid) = match operation {
            FileOperation::Chown => (id_arg(ev.owner_uid.into()), id_arg(ev.owner_gid.into())),
            _ => (None, None),
        };
        let (process, ancestors) = table.subject(&ev.task);
        stats.file_events.fetch_add(1, Relaxed);
        Some(FileEvent {
            time: self.clock.to_wall(ev.hdr.ktime_ns),
            process,
            ancestors,
            operation,
            path,
            new_path,
            flags: ev.flags,
            flag_names,
            mode,
            owner_uid,
            owner_gid,
            result: ev.result,
            error: errno_name(ev.result),
            uid: ev.uid,
            euid: ev.euid,
            relative,
            truncated: ev.file_flags & (FILE_PATH_TRUNCATED | FILE_PATH2_TRUNCATED) != 0,
        })
    }

    pub fn security(
        &self,
        table: &ProcessTable,
        rec: &SecurityRecord<'_>,
        stats: &SecurityStats,
    ) -> Option<SecurityEvent> {
        let ev = &rec.event;
        let a = ev.args;
        let [s0, s1, s2] = rec.strings.map(text);
        let ids = |n: usize| SecurityDetail::Ids {
            requested: a[..n].iter().map(|v| id_arg(*v)).collect(),
        };
        let (kind, detail) = match ev.kind {
            SEC_SETUID => (SecurityKind::Setuid, ids(1)),
            SEC_SETGID => (SecurityKind::Setgid, ids(1)),
            SEC_SETREUID => (SecurityKind::Setreuid, ids(2)),
            SEC_SETREGID => (SecurityKind::Setregid, ids(2)),
            SEC_SETRESUID => (SecurityKind::Setresuid, ids(3)),
            SEC_SETRESGID => (SecurityKind::Setresgid, ids(3)),
            SEC_CAPSET => (
                SecurityKind::Capset,
                SecurityDetail::Capset {
                    pid: a[0] as u32,
                    effective: a[1] as u32,
                    permitted: a[2] as u32,
                    inheritable: a[3] as u32,
                },
            ),
            SEC_PTRACE => (
                SecurityKind::Ptrace,
                SecurityDetail::Ptrace {
                    request: ptrace_request_name(a[0]),
                    target_pid: a[1] as u32,
                    address: a[2],
                },
            ),
            SEC_MEMFD_CREATE => (
                SecurityKind::MemfdCreate,
                SecurityDetail::Memfd {
                    name: s0,
                    flags: a[0] as u32,
                },
            ),
            SEC_EXEC_MEMFD => (
                SecurityKind::ExecMemfd,
                SecurityDetail::ExecMemfd { name: s0 },
            ),
            SEC_MOUNT => (
                SecurityKind::Mount,
                SecurityDetail::Mount {
                    source: s0,
                    target: s1,
                    fstype: s2,
                    flags: a[0],
                },
            ),
            SEC_UMOUNT => (
                SecurityKind::Umount,
                SecurityDetail::Umount {
                    target: s1,
                    flags: a[0],
                },
            ),
            SEC_INIT_MODULE => (
                SecurityKind::InitModule,
                SecurityDetail::Module {
                    name: None,
                    parameters: Some(s0),
                    size_or_fd: a[0],
                    flags: 0,
                },
            ),
            SEC_FINIT_MODULE => (
                SecurityKind::FinitModule,
                SecurityDetail::Module {
                    name: Some(s1),
                    parameters: Some(s0),
                    size_or_fd: a[0],
                    flags: a[1],
                },
            ),
            SEC_DELETE_MODULE => (
                SecurityKind::DeleteModule,
                SecurityDetail::Module {
                    name: Some(s0),
                    parameters: None,
                    size_or_fd: 0,
                    flags: a[0],
                },
            ),
            SEC_BPF_PROG_LOAD => (
                SecurityKind::BpfProgLoad,
                SecurityDetail::BpfProgLoad {
                    prog_type: a[0] as u32,
                    prog_type_name: BPF_PROG_TYPES
                        .get(a[0] as usize)
                        .map_or_else(|| format!("type_{}", a[0]), |n| n.to_string()),
                    name: s0,
                },
            ),
            SEC_UNSHARE => (
                SecurityKind::Unshare,
                SecurityDetail::Namespaces {
                    flags: a[0],
                    namespaces: namespace_names(a[0]),
                    fd: None,
                },
            ),
            SEC_SETNS => (
                SecurityKind::Setns,
                SecurityDetail::Namespaces {
                    flags: a[1],
                    namespaces: namespace_names(a[1]),
                    fd: Some(a[0] as i32),
                },
            ),
            _ => return None,
        };
        let (process, ancestors) = table.subject(&ev.task);
        stats.security_events.fetch_add(1, Relaxed);
        Some(SecurityEvent {
            time: self.clock.to_wall(ev.hdr.ktime_ns),
            process,
            ancestors,
            kind,
            detail,
            result: ev.result,
            error: errno_name(ev.result),
            credentials_before: credentials(&ev.before),
            credentials_after: credentials(&ev.after),
            truncated: ev.flags != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_prefix_decides_about_reads() {
        let w = WatchList::new(&["/usr:write".into(), "/usr/lib/secret".into()]);
        assert!(!w.covers("/usr/lib/x.so", true));
        assert!(w.covers("/usr/lib/x.so", false));
        assert!(w.covers("/usr/lib/secret/key", true));
        assert!(!w.covers("/usrx", false));
    }

    #[test]
    fn errnos_and_ids_are_named() {
        assert_eq!(errno_name(-2).as_deref(), Some("ENOENT"));
        assert_eq!(errno_name(3), None);
        assert_eq!(id_arg(u64::from(u32::MAX)), None);
        assert_eq!(id_arg(65534), Some(65534));
    }
}
