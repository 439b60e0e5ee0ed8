//! sonde's events as rule fields: the [`EventFields`] view the rule engine
//! evaluates.
//!
//! `evt.type` by event (Falco's syscall names where one applies):
//!
//! | event | `evt.type` |
//! | --- | --- |
//! | process exec | `execve` |
//! | process exit | `procexit` |
//! | TCP connection, this host connected | `connect` |
//! | TCP connection, this host accepted | `accept` |
//! | TCP connection opened before sonde | `tcp` |
//! | a TCP socket started listening / a listener closed | `listen` / `close` |
//! | UDP flow | `udp` |
//! | packet drop | `packet_drop` |
//! | request (HTTP, DNS) | `request` |
//! | file open / unlink / rename / chmod / chown | `openat` / `unlinkat` / `renameat2` / `fchmodat` / `fchownat` |
//! | security event | its kind (`setuid`, `ptrace`, `memfd_create`, `exec_memfd`, `mount`, `finit_module`, `unshare`, …), `bpf` for a BPF program load |
//!
//! File events: `fd.name` is the path (`fd.directory`, `fd.filename` its
//! parts, `fd.typechar` `f`), `evt.arg.newpath` a rename's target,
//! `evt.arg.flags` the flag names, `evt.arg.mode` the mode,
//! `evt.arg.uid`/`gid` a chown's owner, `evt.res` the result.
//! Security events: `evt.arg.uid`/`gid` the effective id a set*id asked for,
//! `evt.arg.request`/`pid` of a ptrace, `evt.arg.name` of a memfd, module or
//! BPF program, `evt.arg.source`/`target`/`fstype` of a mount,
//! `evt.arg.flags` the `CLONE_NEW*` names of unshare/setns, `evt.arg.caps`
//! the `CAP_*` names of capset's effective set after the call; `user.uid` is
//! the effective uid *before* the call.
//!
//! Profiles and alerts are not evaluated. `evt.time` is the event's wall-clock
//! time in ns; `evt.res` is 0 except for a failed connect (-111).
//!
//! `proc.*` come from the event's process (whole on exec/exit, brief on
//! network events, completed from the stage's [`Lineage`]). `proc.exe` is
//! `argv[0]`, `proc.exepath` the binary, `user.uid`/`group.gid` the effective
//! ids, `proc.tty` the terminal's device number (`pts/N`: 136:N, `ttyN`:
//! 4:N). Ancestors (`proc.aname[N]`, `proc.apid[N]`, `proc.aexepath[N]`)
//! are the exec event's ancestry, parent first; an ancestor's name is its
//! comm when the stage saw it exec, else its file name cut to 15 bytes.
//! `proc.tree_id` is [`tree_id`]. `proc.is_exe_from_memfd` holds when the
//! binary is a descriptor path (`/dev/fd/N`, `/proc/self/fd/N`) or a
//! `memfd:` name: the kernel names an `fexecve` by its fd. `fd.*` on TCP/UDP:
//! `fd.sip`/`fd.sport` the local end, `fd.dip`/`fd.dport` the remote end,
//! `fd.name` `sip:sport->dip:dport`, `fd.typechar` `4` or `6`. On a listen
//! or listener close: `fd.sip`/`fd.sport` the address and port listened on,
//! `fd.name` `sip:sport`, `fd.l4proto` `tcp`, no `fd.dip`/`fd.dport`; `proc.*`
//! is the process that called listen(), also on the close.
//! `container.id` is the first 12 characters of the id, `host` outside.
//! `proc.stdin.type`, `proc.stdout.type` and `proc.stderr.type` are what
//! fds 0, 1 and 2 were at exec ([`sonde_event::FileType`]: `file`, `dir`,
//! `pipe`, `socket`, `tty`, `chr`, `blk`, `other`, `none`);
//! `proc.stdin.family` (`stdout`, `stderr`) a socket's family (`unix`,
//! `inet`, `inet6`, `netlink`, `other`). They are absent when not known: a
//! forked process that has not exec'd, a running process sonde could not
//! read, a network event of a process whose exec the stage did not see.
//! Fields no event carries yet (`proc.sid`, …) are absent, so comparisons on
//! them are false.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use sonde_event::ListenState;
use sonde_event::{
    capability_names, Ancestor, Container, Direction, Endpoint, Event, FileEvent, FileOperation,
    SecurityDetail, SecurityEvent, SecurityKind, Stdio, TcpEnd,
};
use sonde_rules::{EventFields, FieldId, FieldValue};

use super::lineage::{comm_of_binary, tree_id, Lineage};

/// The process side of an event, whatever the event's type.
#[derive(Debug, Clone, Copy)]
pub struct ProcView<'a> {
    pub exec_id: &'a str,
    pub pid: u32,
    pub ppid: Option<u32>,
    pub comm: &'a str,
    pub binary: &'a str,
    pub argv: Option<&'a [String]>,
    pub cwd: Option<&'a str>,
    pub tty: Option<&'a str>,
    pub euid: Option<u32>,
    pub egid: Option<u32>,
    pub container: Option<&'a Container>,
    pub stdio: Option<Stdio>,
}

impl<'a> ProcView<'a> {
    fn from_process(p: &'a sonde_event::Process) -> Self {
        ProcView {
            exec_id: &p.exec_id,
            pid: p.pid,
            ppid: Some(p.ppid),
            comm: &p.comm,
            binary: &p.binary,
            argv: Some(&p.argv),
            cwd: Some(&p.cwd),
            tty: p.tty.as_deref(),
            euid: Some(p.euid),
            egid: Some(p.egid),
            container: p.container.as_ref(),
            stdio: p.stdio,
        }
    }
}

/// Host user names by uid, read once from /etc/passwd.
#[derive(Debug, Default)]
pub struct Users(HashMap<u32, String>);

impl Users {
    pub fn from_passwd(text: &str) -> Users {
        Users(
            text.lines()
                .filter_map(|l| {
                    let mut it = l.split(':');
                    let name = it.next()?;
                    let uid = it.nth(1)?.parse().ok()?;
                    Some((uid, name.to_string()))
                })
                .collect(),
        )
    }

    pub fn load() -> Users {
        std::fs::read_to_string("/etc/passwd")
            .map(|t| Users::from_passwd(&t))
            .unwrap_or_default()
    }

    pub fn name(&self, uid: u32) -> Option<&str> {
        self.0.get(&uid).map(String::as_str)
    }
}

/// One event as rule fields.
pub struct EventView<'a> {
    pub event: &'a Event,
    pub proc: Option<ProcView<'a>>,
    /// Parent first.
    pub ancestors: &'a [Ancestor],
    lineage: &'a Lineage,
    users: &'a Users,
    evt_type: &'static str,
}

/// The event's `evt.type`, or None for events the rules do not see.
pub fn evt_type(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::ProcessExec(_) => "execve",
        Event::ProcessExit(_) => "procexit",
        Event::TcpConnection(c) => match c.direction {
            Direction::Connect => "connect",
            Direction::Accept => "accept",
            Direction::Unknown => "tcp",
        },
        Event::UdpFlow(_) => "udp",
        Event::PacketDrop(_) => "packet_drop",
        Event::Request(_) => "request",
        Event::File(f) => match f.operation {
            FileOperation::Open => "openat",
            FileOperation::Unlink => "unlinkat",
            FileOperation::Rename => "renameat2",
            FileOperation::Chmod => "fchmodat",
            FileOperation::Chown => "fchownat",
        },
        Event::Security(e) => match e.kind {
            SecurityKind::BpfProgLoad => "bpf",
            k => k.as_str(),
        },
        Event::Listen(l) => match l.state {
            ListenState::Listen => "listen",
            ListenState::Closed => "close",
        },
        Event::Profile(_) | Event::Alert(_) | Event::Enforcement(_) => return None,
    })
}

impl<'a> EventView<'a> {
    /// The view of `event`, or None for events the rules do not see.
    pub fn new(event: &'a Event, lineage: &'a Lineage, users: &'a Users) -> Option<Self> {
        let evt_type = evt_type(event)?;
        let known = |id: &str| lineage.get(id).map(|i| i.as_ref());
        let (proc, ancestors): (Option<ProcView<'a>>, &'a [Ancestor]) = match event {
            Event::ProcessExec(e) => (Some(ProcView::from_process(&e.process)), &e.ancestors),
            Event::ProcessExit(e) => (
                Some(ProcView::from_process(&e.process)),
                known(&e.process.exec_id).map_or(&[][..], |i| &i.ancestors),
            ),
            Event::File(e) => (Some(ProcView::from_process(&e.process)), &e.ancestors),
            Event::Security(e) => {
                let mut p = ProcView::from_process(&e.process);
                p.euid = Some(e.credentials_before.euid);
                p.egid = Some(e.credentials_before.egid);
                (Some(p), &e.ancestors)
            }
            _ => match event.subject() {
                Some(s) => match known(s.exec_id) {
                    Some(info) => (Some(ProcView::from_process(&info.process)), &info.ancestors),
                    None => (
                        Some(ProcView {
                            exec_id: s.exec_id,
                            pid: s.pid,
                            ppid: None,
                            comm: s.comm,
                            binary: s.binary,
                            argv: None,
                            cwd: None,
                            tty: None,
                            euid: None,
                            egid: None,
                            container: s.container,
                            stdio: None,
                        }),
                        &[][..],
                    ),
                },
                None => (None, &[][..]),
            },
        };
        Some(EventView {
            event,
            proc,
            ancestors,
            lineage,
            users,
            evt_type,
        })
    }

    fn ancestor_name(&self, a: &'a Ancestor) -> &'a str {
        match self.lineage.get(&a.exec_id) {
            Some(i) => &i.process.comm,
            None => comm_of_binary(&a.binary),
        }
    }

    fn ancestor(&self, index: Option<u32>) -> Option<&'a Ancestor> {
        let n = index.unwrap_or(1).checked_sub(1)? as usize;
        self.ancestors.get(n)
    }

    /// The local and remote ends, and the transport, of a network event.
    fn ends(&self) -> Option<(Endpoint, Endpoint, &'static str)> {
        match self.event {
            Event::TcpConnection(c) => Some((c.local, c.remote, "tcp")),
            Event::UdpFlow(u) => Some((u.local, u.remote, "udp")),
            Event::Request(r) => Some((r.client, r.server, "tcp")),
            Event::PacketDrop(d) => Some((d.destination?, d.source?, "ip")),
            _ => None,
        }
    }

    /// The local end and the transport: a network event's, or a listener's.
    fn local(&self) -> Option<(Endpoint, &'static str)> {
        match self.event {
            Event::Listen(l) => Some((l.local, "tcp")),
            _ => self.ends().map(|(l, _, proto)| (l, proto)),
        }
    }
}

fn s(v: &str) -> FieldValue<'_> {
    FieldValue::Str(Cow::Borrowed(v))
}

fn owned<'a>(v: String) -> FieldValue<'a> {
    FieldValue::Str(Cow::Owned(v))
}

fn num(v: impl Into<i64>) -> FieldValue<'static> {
    FieldValue::Num(v.into())
}

/// A terminal's device number: `pts/N` is 136:N, `ttyN` 4:N (new_encode_dev).
pub fn tty_number(tty: &str) -> i64 {
    let (major, minor) = if let Some(n) = tty.strip_prefix("pts/") {
        (
            136u32 + n.parse::<u32>().unwrap_or(0) / 256,
            n.parse::<u32>().unwrap_or(0) % 256,
        )
    } else if let Some(n) = tty.strip_prefix("tty").and_then(|n| n.parse::<u32>().ok()) {
        (4, n)
    } else {
        return 1;
    };
    i64::from((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

fn endpoint_text(e: Endpoint) -> String {
    match e.ip {
        IpAddr::V4(ip) => format!("{ip}:{}", e.port),
        IpAddr::V6(ip) => format!("[{ip}]:{}", e.port),
    }
}

fn ip_text(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// `CLONE_NEW*` for a namespace's short name.
fn clone_flag(ns: &str) -> Option<&'static str> {
    Some(match ns {
        "mnt" => "CLONE_NEWNS",
        "uts" => "CLONE_NEWUTS",
        "ipc" => "CLONE_NEWIPC",
        "user" => "CLONE_NEWUSER",
        "pid" => "CLONE_NEWPID",
        "net" => "CLONE_NEWNET",
        "cgroup" => "CLONE_NEWCGROUP",
        "time" => "CLONE_NEWTIME",
        _ => return None,
    })
}

/// Fields of a file event (None: not a file field, or absent).
fn file_field(f: &FileEvent, id: FieldId) -> Option<FieldValue<'_>> {
    use FieldId as F;
    let (dir, name) = match f.path.rfind('/') {
        Some(0) => ("/", &f.path[1..]),
        Some(i) => (&f.path[..i], &f.path[i + 1..]),
        None => ("", f.path.as_str()),
    };
    let open = f.operation == FileOperation::Open;
    Some(match id {
        F::EvtRes => num(f.result),
        F::EvtFailed => FieldValue::Bool(f.result < 0),
        F::EvtArgFlags => FieldValue::StrList(
            f.flag_names
                .iter()
                .map(|n| Cow::Borrowed(n.as_str()))
                .collect(),
        ),
        F::EvtIsOpenRead => FieldValue::Bool(open && f.flags & 0o3 != 1),
        F::EvtIsOpenWrite => FieldValue::Bool(open && f.writes()),
        F::EvtArgMode => num(f.mode?),
        F::EvtArgUid => num(f.owner_uid?),
        F::EvtArgGid => num(f.owner_gid?),
        F::EvtArgNewpath => s(f.new_path.as_deref()?),
        F::FdName => s(&f.path),
        F::FdDirectory => s(dir),
        F::FdFilename => s(name),
        F::FdTypechar => s("f"),
        _ => return None,
    })
}

/// Fields of a security event.
fn security_field(e: &SecurityEvent, id: FieldId) -> Option<FieldValue<'_>> {
    use FieldId as F;
    let ids = |effective_at: usize| match &e.detail {
        SecurityDetail::Ids { requested } => requested
            .get(effective_at)
            .copied()
            .flatten()
            .or_else(|| requested.first().copied().flatten()),
        _ => None,
    };
    // setuid(u) sets the effective id; set{re,res}uid's second argument is it.
    let effective_at = usize::from(!matches!(
        e.kind,
        SecurityKind::Setuid | SecurityKind::Setgid
    ));
    let is_uid = matches!(
        e.kind,
        SecurityKind::Setuid | SecurityKind::Setreuid | SecurityKind::Setresuid
    );
    let is_gid = matches!(
        e.kind,
        SecurityKind::Setgid | SecurityKind::Setregid | SecurityKind::Setresgid
    );
    Some(match (id, &e.detail) {
        (F::EvtRes, _) => num(e.result),
        (F::EvtFailed, _) => FieldValue::Bool(e.result < 0),
        (F::EvtArgUid, _) if is_uid => num(ids(effective_at)?),
        (F::EvtArgGid, _) if is_gid => num(ids(effective_at)?),
        (F::EvtArgRequest, SecurityDetail::Ptrace { request, .. }) => s(request),
        (F::EvtArgPid, SecurityDetail::Ptrace { target_pid, .. }) => num(*target_pid),
        (F::EvtArgName, SecurityDetail::Memfd { name, .. })
        | (F::EvtArgName, SecurityDetail::ExecMemfd { name })
        | (F::EvtArgName, SecurityDetail::BpfProgLoad { name, .. }) => s(name),
        (F::EvtArgName, SecurityDetail::Module { name, .. }) => s(name.as_deref()?),
        (F::EvtArgSource, SecurityDetail::Mount { source, .. }) => s(source),
        (F::EvtArgTarget, SecurityDetail::Mount { target, .. })
        | (F::EvtArgTarget, SecurityDetail::Umount { target, .. }) => s(target),
        (F::EvtArgFstype, SecurityDetail::Mount { fstype, .. }) => s(fstype),
        (F::EvtArgFlags, SecurityDetail::Namespaces { namespaces, .. }) => FieldValue::StrList(
            namespaces
                .iter()
                .filter_map(|n| clone_flag(n))
                .map(Cow::Borrowed)
                .collect(),
        ),
        (F::EvtArgCaps, SecurityDetail::Capset { .. }) => FieldValue::StrList(
            capability_names(e.credentials_after.cap_effective)
                .into_iter()
                .map(Cow::Borrowed)
                .collect(),
        ),
        (F::ProcIsExeFromMemfd, _) if e.kind == SecurityKind::ExecMemfd => FieldValue::Bool(true),
        _ => return None,
    })
}

impl EventFields for EventView<'_> {
    fn field(&self, id: FieldId, index: Option<u32>) -> Option<FieldValue<'_>> {
        use FieldId as F;
        match self.event {
            Event::File(f) => {
                if let Some(v) = file_field(f, id) {
                    return Some(v);
                }
                if matches!(
                    id,
                    F::EvtArgMode | F::EvtArgUid | F::EvtArgGid | F::EvtArgNewpath
                ) {
                    return None;
                }
            }
            Event::Security(e) => {
                if let Some(v) = security_field(e, id) {
                    return Some(v);
                }
            }
            _ => {}
        }
        let p = self.proc;
        Some(match id {
            F::EvtType => s(self.evt_type),
            F::EvtTime => num(self.event.time().0.min(i64::MAX as u64) as i64),
            F::EvtRes => match self.event {
                Event::TcpConnection(c) if c.end == TcpEnd::ConnectFailed => num(-111),
                _ => num(0),
            },
            F::EvtFailed => FieldValue::Bool(matches!(
                self.event,
                Event::TcpConnection(c) if c.end == TcpEnd::ConnectFailed
            )),
            F::ProcName => s(p?.comm),
            F::ProcExe => s(p?.argv?.first()?),
            F::ProcExepath => s(p?.binary),
            F::ProcArgs => owned(p?.argv?.get(1..).unwrap_or_default().join(" ")),
            F::ProcCmdline => {
                let p = p?;
                let mut out = p.comm.to_string();
                for a in p.argv.and_then(|a| a.get(1..)).unwrap_or_default() {
                    out.push(' ');
                    out.push_str(a);
                }
                owned(out)
            }
            F::ProcPid => num(p?.pid),
            F::ProcPpid => num(p?.ppid.or_else(|| self.ancestors.first().map(|a| a.pid))?),
            F::ProcPname => s(self.ancestor_name(self.ancestors.first()?)),
            F::ProcPexepath => s(&self.ancestors.first()?.binary),
            F::ProcPcmdline => {
                let parent = self.lineage.get(&self.ancestors.first()?.exec_id)?;
                let mut out = parent.process.comm.clone();
                for a in parent.process.argv.get(1..).unwrap_or_default() {
                    out.push(' ');
                    out.push_str(a);
                }
                owned(out)
            }
            F::ProcAname => s(self.ancestor_name(self.ancestor(index)?)),
            F::ProcApid => num(self.ancestor(index)?.pid),
            F::ProcAexepath => s(&self.ancestor(index)?.binary),
            F::ProcCwd => s(p?.cwd?),
            F::ProcTty => num(p?.tty.map_or(0, tty_number)),
            F::ProcTreeId => num(tree_id(p?.exec_id, self.ancestors)),
            F::ProcStdinType => s(p?.stdio?.stdin.kind.as_str()),
            F::ProcStdoutType => s(p?.stdio?.stdout.kind.as_str()),
            F::ProcStderrType => s(p?.stdio?.stderr.kind.as_str()),
            F::ProcStdinFamily => s(p?.stdio?.stdin.family?.as_str()),
            F::ProcStdoutFamily => s(p?.stdio?.stdout.family?.as_str()),
            F::ProcStderrFamily => s(p?.stdio?.stderr.family?.as_str()),
            F::ProcIsExeFromMemfd => {
                let b = p?.binary;
                FieldValue::Bool(
                    b.starts_with("/dev/fd/")
                        || b.starts_with("/proc/self/fd/")
                        || b.contains("memfd:"),
                )
            }
            F::UserUid => num(p?.euid?),
            F::UserName => s(self.users.name(p?.euid?)?),
            F::GroupGid => num(p?.egid?),
            F::ContainerId => match p?.container {
                Some(c) => s(c.id.get(..12).unwrap_or(&c.id)),
                None => s("host"),
            },
            F::FdDirectory | F::FdFilename => return None,
            F::FdName => match self.event {
                Event::Listen(l) => owned(endpoint_text(l.local)),
                _ => {
                    let (l, r, _) = self.ends()?;
                    owned(format!("{}->{}", endpoint_text(l), endpoint_text(r)))
                }
            },
            F::FdTypechar => match self.local()?.0.ip {
                IpAddr::V4(_) => s("4"),
                IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => s("4"),
                IpAddr::V6(_) => s("6"),
            },
            F::FdSip => owned(ip_text(self.local()?.0.ip)),
            F::FdSport => num(self.local()?.0.port),
            F::FdDip => owned(ip_text(self.ends()?.1.ip)),
            F::FdDport => num(self.ends()?.1.port),
            F::FdL4proto => s(self.local()?.1),
            _ => return None,
        })
    }
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
