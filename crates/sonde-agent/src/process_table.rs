//! The process table: every live process's current image, keyed by pid, fed
//! by fork/exec/exit records and seeded from /proc. It turns kernel records
//! into [`ProcessExec`]/[`ProcessExit`] events with parent ids and ancestry.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sonde_bpf::abi::Stdio as KernelStdio;
use sonde_bpf::abi::{ExitEvent, ForkEvent, Owner, Task, EXEC_ARGS_TRUNCATED, OWNER_NONE};
use sonde_bpf::decode::ExecRecord;
use sonde_event::{
    parse_container, Ancestor, Cgroup, Event, EventFilter, EventKind, ExecIds, ExitStatus,
    Namespaces, Origin, Process, ProcessExec, ProcessExit, Stdio, StdioFile, Workload,
};
use sonde_store::{EventStore, Query};

use crate::clock::BootClock;
use crate::procfs::{split_nul, ProcReader};

/// Ancestry is cut here, whatever the tree's depth (and whatever a corrupt
/// table's cycle).
const MAX_ANCESTORS: usize = 64;

struct Entry {
    process: Arc<Process>,
    /// Kernel start time of the process, to tell a reused pid from its predecessor.
    start_ns: u64,
    /// Kernel start time of the parent at the time this entry was made.
    parent_start_ns: u64,
}

/// How many exited processes stay known for late records (a connection's
/// final report often follows its owner's exit).
const RECENTLY_EXITED: usize = 8192;

pub struct ProcessTable {
    entries: HashMap<u32, Entry>,
    /// Exited processes, newest last, for owner lookups only.
    exited: VecDeque<(u32, Entry)>,
    ids: ExecIds,
    clock: BootClock,
    procfs: ProcReader,
}

/// Start times from /proc have clock-tick resolution (USER_HZ is 100 on
/// Linux); the kernel's are nanoseconds. Compare at tick resolution.
fn same_start(a: u64, b: u64) -> bool {
    const TICK_NS: u64 = 10_000_000;
    a / TICK_NS == b / TICK_NS
}

impl ProcessTable {
    pub fn new(ids: ExecIds, clock: BootClock) -> Self {
        ProcessTable {
            entries: HashMap::new(),
            exited: VecDeque::new(),
            ids,
            clock,
            procfs: ProcReader::new(),
        }
    }

    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Adds every process now in /proc, then links each to its parent.
    /// A process whose exec an earlier agent run stored keeps that image
    /// (and so its `exec_id`): ids stay stable across agent restarts.
    pub fn seed_from_procfs(&mut self, history: &dyn EventStore) {
        for pid in self.procfs.pids() {
            if let Some(snap) = self.procfs.read(pid, &self.ids, self.clock) {
                let process = stored_image(history, &snap.process).unwrap_or(snap.process);
                let entry = Entry {
                    process: Arc::new(process),
                    start_ns: snap.start_ns,
                    parent_start_ns: 0,
                };
                self.entries.entry(pid).or_insert(entry);
            }
        }
        let parents: HashMap<u32, (String, u64)> = self
            .entries
            .iter()
            .map(|(pid, e)| (*pid, (e.process.exec_id.clone(), e.start_ns)))
            .collect();
        for entry in self.entries.values_mut() {
            if let Some((exec_id, start)) = parents.get(&entry.process.ppid) {
                Arc::make_mut(&mut entry.process).parent_exec_id = Some(exec_id.clone());
                entry.parent_start_ns = *start;
            }
        }
    }

    /// The parent's current image, if the table holds the right process under that pid.
    fn parent_of(&self, task: &Task) -> Option<&Arc<Process>> {
        let parent = self.entries.get(&task.ppid)?;
        same_start(parent.start_ns, task.parent_start_ns).then_some(&parent.process)
    }

    /// A new process starts as a copy of its parent's image.
    pub fn on_fork(&mut self, fork: &ForkEvent) {
        let t = fork.task;
        let process = match self.parent_of(&t) {
            Some(parent) => {
                let mut p = Process::clone(parent);
                p.parent_exec_id = Some(parent.exec_id.clone());
                p.origin = Origin::Fork;
                // The child may change its fds before it execs.
                p.stdio = None;
                p
            }
            None => match self.procfs.read(t.pid, &self.ids, self.clock) {
                Some(snap) => snap.process,
                None => return, // Gone already; its exit record will say so.
            },
        };
        let process = Process {
            exec_id: self.ids.id(t.start_ns, t.pid),
            pid: t.pid,
            tid: t.pid,
            ppid: t.ppid,
            start_time: self.clock.to_wall(t.start_ns),
            ..process
        };
        self.insert(t, process);
    }

    fn insert(&mut self, t: Task, process: Process) -> Arc<Process> {
        let process = Arc::new(process);
        let entry = Entry {
            process: process.clone(),
            start_ns: t.start_ns,
            parent_start_ns: t.parent_start_ns,
        };
        self.entries.insert(t.pid, entry);
        process
    }

    pub fn on_exec(&mut self, rec: &ExecRecord<'_>) -> ProcessExec {
        let ev = &rec.event;
        let t = ev.task;
        let cwd = text(rec.cwd);
        let filename = text(rec.filename);
        let binary = if filename.starts_with('/') || filename.is_empty() {
            filename
        } else {
            format!("{}/{filename}", cwd.trim_end_matches('/'))
        };
        let cgroup_path = text(rec.cgroup);
        let process = Process {
            exec_id: self.ids.id(ev.hdr.ktime_ns, t.pid),
            parent_exec_id: self.parent_of(&t).map(|p| p.exec_id.clone()),
            pid: t.pid,
            tid: t.tid,
            ppid: t.ppid,
            uid: ev.uid,
            gid: ev.gid,
            euid: ev.euid,
            egid: ev.egid,
            comm: c_string(&ev.comm),
            binary,
            argv: split_nul(rec.args),
            argv_truncated: ev.flags & EXEC_ARGS_TRUNCATED != 0,
            cwd,
            start_time: self.clock.to_wall(t.start_ns),
            container: parse_container(&cgroup_path),
            cgroup: Cgroup {
                id: ev.cgroup_id,
                path: cgroup_path,
            },
            namespaces: Namespaces {
                pid: ev.pid_ns,
                mnt: ev.mnt_ns,
                net: ev.net_ns,
            },
            tty: tty(&ev.tty),
            origin: Origin::Exec,
            stdio: Some(stdio(&ev.stdio)),
        };
        let ancestors = self.ancestors(&t);
        let process = self.insert(t, process);
        ProcessExec {
            time: self.clock.to_wall(ev.hdr.ktime_ns),
            process: Process::clone(&process),
            ancestors,
        }
    }

    /// Parent first, following ppid while start times agree.
    fn ancestors(&self, task: &Task) -> Vec<Ancestor> {
        let mut out = Vec::new();
        let (mut pid, mut start) = (task.ppid, task.parent_start_ns);
        while out.len() < MAX_ANCESTORS {
            let Some(entry) = self.known(pid, start) else {
                break;
            };
            let p = &entry.process;
            out.push(Ancestor {
                exec_id: p.exec_id.clone(),
                pid: p.pid,
                binary: p.binary.clone(),
            });
            if p.ppid == 0 || p.ppid == pid {
                break;
            }
            (pid, start) = (p.ppid, entry.parent_start_ns);
        }
        out
    }

    /// Ends a process. The second value is false when the table did not know
    /// it and the event was rebuilt from the record and /proc alone.
    pub fn on_exit(&mut self, exit: &ExitEvent) -> (ProcessExit, bool) {
        let t = exit.task;
        let known = self
            .entries
            .get(&t.pid)
            .is_some_and(|e| same_start(e.start_ns, t.start_ns));
        let process = if known {
            self.entries.remove(&t.pid).map(|e| {
                let process = Process::clone(&e.process);
                self.remember_exited(t.pid, e);
                process
            })
        } else {
            None
        };
        let process = process.unwrap_or_else(|| self.unknown_process(&t));
        let event = ProcessExit {
            time: self.clock.to_wall(exit.hdr.ktime_ns),
            status: ExitStatus::from_wait_status(exit.exit_code),
            duration_ns: exit.hdr.ktime_ns.saturating_sub(t.start_ns),
            process,
        };
        (event, known)
    }

    fn unknown_process(&self, t: &Task) -> Process {
        let mut p = match self.procfs.read(t.pid, &self.ids, self.clock) {
            Some(snap) => snap.process,
            None => Process {
                exec_id: String::new(),
                parent_exec_id: None,
                pid: t.pid,
                tid: t.tid,
                ppid: t.ppid,
                uid: 0,
                gid: 0,
                euid: 0,
                egid: 0,
                comm: String::new(),
                binary: String::new(),
                argv: Vec::new(),
                argv_truncated: false,
                cwd: String::new(),
                start_time: self.clock.to_wall(t.start_ns),
                cgroup: Cgroup {
                    id: 0,
                    path: String::new(),
                },
                container: None,
                namespaces: Namespaces {
                    pid: 0,
                    mnt: 0,
                    net: 0,
                },
                tty: None,
                origin: Origin::Procfs,
                stdio: None,
            },
        };
        p.exec_id = self.ids.id(t.start_ns, t.pid);
        p.parent_exec_id = self.parent_of(t).map(|parent| parent.exec_id.clone());
        p
    }

    /// The process a record's task belongs to, with its ancestry: the table's
    /// image when the pid still names the same process, else one read from /proc.
    pub fn subject(&self, t: &Task) -> (Process, Vec<Ancestor>) {
        let process = match self.known(t.pid, t.start_ns) {
            Some(e) => Process::clone(&e.process),
            None => self.unknown_process(t),
        };
        (process, self.ancestors(t))
    }

    /// A socket's owner as the kernel programs recorded it, if they knew one.
    pub fn owner(&self, owner: &Owner) -> Option<Workload> {
        (owner.from != OWNER_NONE).then(|| self.workload(owner.pid, owner.start_ns, &owner.comm))
    }

    /// The process `pid` now, as the table knows it, for enforcement
    /// records. With the kernel's `start_ns`, an unknown (or not yet known:
    /// its fork may still be in another ring) process is described from the
    /// kernel's word; without it, only a known one is.
    pub fn workload_of(&self, pid: u32, start_ns: Option<u64>, comm: &[u8]) -> Option<Workload> {
        if let Some(start_ns) = start_ns {
            return Some(self.workload(pid, start_ns, comm));
        }
        let e = self.entries.get(&pid)?;
        let p = &e.process;
        Some(Workload {
            exec_id: p.exec_id.clone(),
            pid,
            comm: p.comm.clone(),
            binary: p.binary.clone(),
            container: p.container.clone(),
        })
    }

    /// The process owning a socket, as the kernel saw it: the table's image
    /// when the pid still names the same process, the kernel's word otherwise.
    fn workload(&self, pid: u32, start_ns: u64, comm: &[u8]) -> Workload {
        match self.known(pid, start_ns) {
            Some(e) => {
                let p = &e.process;
                Workload {
                    exec_id: p.exec_id.clone(),
                    pid,
                    comm: p.comm.clone(),
                    binary: p.binary.clone(),
                    container: p.container.clone(),
                }
            }
            None => Workload {
                exec_id: self.ids.id(start_ns, pid),
                pid,
                comm: c_string(comm),
                binary: String::new(),
                container: None,
            },
        }
    }

    /// The process `pid` started at `start_ns`, live or recently exited:
    /// records from the other rings are handled after the process ring's
    /// records of the same drain, so often after their process's exit.
    fn known(&self, pid: u32, start_ns: u64) -> Option<&Entry> {
        let live = self
            .entries
            .get(&pid)
            .filter(|e| same_start(e.start_ns, start_ns));
        live.or_else(|| {
            self.exited
                .iter()
                .rev()
                .find(|(p, e)| *p == pid && same_start(e.start_ns, start_ns))
                .map(|(_, e)| e)
        })
    }

    fn remember_exited(&mut self, pid: u32, entry: Entry) {
        if self.exited.len() == RECENTLY_EXITED {
            self.exited.pop_front();
        }
        self.exited.push_back((pid, entry));
    }

    /// Drops entries whose process is gone from /proc (their exit was lost)
    /// or whose pid now belongs to another process.
    pub fn collect_garbage(&mut self) -> usize {
        let before = self.entries.len();
        let procfs = &self.procfs;
        let (ids, clock) = (&self.ids, self.clock);
        self.entries.retain(|pid, e| {
            procfs
                .read(*pid, ids, clock)
                .is_some_and(|snap| same_start(snap.start_ns, e.start_ns))
        });
        before - self.entries.len()
    }
}

/// The image the store's latest exec of this process recorded, if that exec
/// was of this very process (same pid, same start time).
fn stored_image(history: &dyn EventStore, seen: &Process) -> Option<Process> {
    let filter = EventFilter {
        kinds: vec![EventKind::ProcessExec],
        pid: Some(seen.pid),
        ..EventFilter::default()
    };
    let query = Query {
        filter,
        limit: Some(1),
        tail: true,
        ..Query::default()
    };
    let latest = history.query(&query).ok()?.events.pop()?;
    let Event::ProcessExec(exec) = latest else {
        return None;
    };
    // /proc start times have tick resolution; the wall clock of two boot-clock
    // readings may differ by a little. No pid is reused within 20 ms.
    let same = exec.process.start_time.0.abs_diff(seen.start_time.0) < 20_000_000;
    same.then_some(exec.process)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A NUL-terminated (or NUL-padded) kernel string, such as a comm.
pub(crate) fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    text(&bytes[..end])
}

/// fds 0-2 as the exec record gives them; device numbers in the kernel's
/// encoding (`major << 20 | minor`).
fn stdio(fds: &[KernelStdio; 3]) -> Stdio {
    let file = |f: &KernelStdio| StdioFile::new(f.mode.into(), f.family, f.rdev >> 20);
    Stdio {
        stdin: file(&fds[0]),
        stdout: file(&fds[1]),
        stderr: file(&fds[2]),
    }
}

/// The kernel names pseudo-terminals `pts0`; users know them as `pts/0`.
fn tty(name: &[u8]) -> Option<String> {
    let name = c_string(name);
    match name.strip_prefix("pts") {
        _ if name.is_empty() => None,
        Some(n) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
            Some(format!("pts/{n}"))
        }
        _ => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_names() {
        assert_eq!(tty(b"pts3\0\0"), Some("pts/3".into()));
        assert_eq!(tty(b"tty1\0"), Some("tty1".into()));
        assert_eq!(tty(b"\0"), None);
        assert_eq!(tty(b"ptsx\0"), Some("ptsx".into()));
    }

    #[test]
    fn stdio_from_the_exec_record() {
        use sonde_event::{FileType, SocketFamily};
        let fd = |mode, family, rdev| KernelStdio { mode, family, rdev };
        let s = stdio(&[
            fd(0o140777, 10, 0),
            fd(0o020620, 0, 136 << 20 | 4),
            fd(0o020666, 0, 1 << 20 | 3),
        ]);
        assert_eq!(s.stdin.kind, FileType::Socket);
        assert_eq!(s.stdin.family, Some(SocketFamily::Inet6));
        assert_eq!(s.stdout.kind, FileType::Tty);
        assert_eq!(s.stdout.family, None);
        assert_eq!(s.stderr.kind, FileType::Chr); // /dev/null is 1:3
        let s = stdio(&[fd(0, 0, 0), fd(0o010600, 0, 0), fd(0o100644, 0, 0)]);
        assert_eq!(
            [s.stdin.kind, s.stdout.kind, s.stderr.kind],
            [FileType::Closed, FileType::Pipe, FileType::File]
        );
        let s = stdio(&[
            fd(0o040755, 0, 0),
            fd(0o060660, 0, 8 << 20),
            fd(0o140777, 1, 0),
        ]);
        assert_eq!(
            [s.stdin.kind, s.stdout.kind, s.stderr.kind],
            [FileType::Dir, FileType::Blk, FileType::Socket]
        );
        assert_eq!(s.stderr.family, Some(SocketFamily::Unix));
    }

    #[test]
    fn tick_resolution_start_times_match() {
        assert!(same_start(1_234_560_000_000, 1_234_567_891_234));
        assert!(same_start(1_234_567_891_234, 1_234_567_891_234));
        assert!(!same_start(1_234_560_000_000, 1_234_570_000_001));
    }
}
