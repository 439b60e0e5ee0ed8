//! The typed field registry, and the trait events implement to be matched.
//!
//! Rules name fields as text (`proc.name`, `proc.aname[2]`); the loader resolves
//! each name once to a [`FieldId`] and checks its type, so evaluation asks the
//! event for `(FieldId, index)` and never looks a name up. sonde's event types
//! implement [`EventFields`]; this crate depends on none of them.
//!
//! Fields marked *coming* are declared for the file, privilege and network events
//! of issue 7 so rules can be written and validated now; an event that does not
//! carry a field returns `None` and every comparison on it is false.

use std::borrow::Cow;
use std::fmt;

/// The type of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    Str,
    /// A signed 64-bit integer.
    Num,
    /// true/false.
    Bool,
    /// A list of strings (e.g. open flags).
    StrList,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::Str => "a string",
            FieldType::Num => "a number",
            FieldType::Bool => "a bool",
            FieldType::StrList => "a string list",
        })
    }
}

/// Whether a field takes a `[N]` index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    /// No index allowed.
    None,
    /// Ancestor fields: `[N]` is the N-th ancestor (1 = parent); without an index
    /// a comparison matches if *any* ancestor matches.
    Ancestor,
}

/// A field value borrowed from (or computed by) the event.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// Text.
    Str(Cow<'a, str>),
    /// A number.
    Num(i64),
    /// A bool.
    Bool(bool),
    /// A list of strings.
    StrList(Vec<Cow<'a, str>>),
}

impl fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Str(s) => f.write_str(s),
            FieldValue::Num(n) => write!(f, "{n}"),
            FieldValue::Bool(b) => write!(f, "{b}"),
            FieldValue::StrList(l) => {
                for (i, s) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(s)?;
                }
                Ok(())
            }
        }
    }
}

/// What an event must provide to be matched against rules.
///
/// `index` is `Some(n)` only for [`Indexing::Ancestor`] fields: the n-th
/// ancestor, 1 being the parent. Return `None` when the event does not carry the
/// field (or has no such ancestor); the engine stops walking ancestors at the
/// first `None`.
pub trait EventFields {
    /// The value of a field.
    fn field(&self, id: FieldId, index: Option<u32>) -> Option<FieldValue<'_>>;
}

/// How far `proc.aname` without index walks up.
pub const MAX_ANCESTORS: u32 = 64;

macro_rules! fields {
    ($($variant:ident => $name:literal, $ty:ident, $idx:ident, $desc:literal;)*) => {
        /// Every field a rule can use. Resolved from its name once, at load.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum FieldId {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        /// The registry: name, type, indexing and a one-line description of each field.
        pub static FIELDS: &[FieldDef] = &[
            $(FieldDef {
                id: FieldId::$variant,
                name: $name,
                ty: FieldType::$ty,
                indexing: Indexing::$idx,
                description: $desc,
            },)*
        ];
    };
}

fields! {
    EvtType => "evt.type", Str, None, "Event type, named after the syscall (execve, openat, unlinkat, renameat2, fchmodat, setuid, ptrace, memfd_create, mount, finit_module, bpf, unshare, setns, connect, listen...).";
    EvtTime => "evt.time", Num, None, "Event time in nanoseconds (drives sequence windows).";
    EvtRes => "evt.res", Num, None, "Result of the operation: 0 or a positive value on success, -errno on failure.";
    EvtFailed => "evt.failed", Bool, None, "True when evt.res is an error.";
    EvtArgFlags => "evt.arg.flags", StrList, None, "Flags of the operation by name (open: O_RDONLY, O_WRONLY, O_CREAT...; unshare/setns: CLONE_NEWNS...).";
    EvtIsOpenRead => "evt.is_open_read", Bool, None, "An open for reading (O_RDONLY or O_RDWR).";
    EvtIsOpenWrite => "evt.is_open_write", Bool, None, "An open for writing (O_WRONLY, O_RDWR, O_CREAT or O_TRUNC).";
    EvtArgMode => "evt.arg.mode", Num, None, "Mode argument (chmod, open with O_CREAT).";
    EvtArgUid => "evt.arg.uid", Num, None, "Target uid of setuid/setreuid/setresuid, new owner of chown.";
    EvtArgGid => "evt.arg.gid", Num, None, "Target gid of setgid/setregid/setresgid, new group of chown.";
    EvtArgCaps => "evt.arg.caps", StrList, None, "Capset: the effective capability set after the call, by name (CAP_SYS_ADMIN...).";
    EvtArgRequest => "evt.arg.request", Str, None, "ptrace request (PTRACE_ATTACH, PTRACE_SEIZE, PTRACE_POKETEXT...).";
    EvtArgPid => "evt.arg.pid", Num, None, "Target pid of ptrace (or kill).";
    EvtArgSource => "evt.arg.source", Str, None, "Mount source.";
    EvtArgTarget => "evt.arg.target", Str, None, "Mount target directory.";
    EvtArgFstype => "evt.arg.fstype", Str, None, "Mount filesystem type.";
    EvtArgName => "evt.arg.name", Str, None, "Name argument: kernel module name, memfd name, BPF program name.";
    EvtArgNewpath => "evt.arg.newpath", Str, None, "New path of a rename or link (fd.name holds the old one).";
    ProcName => "proc.name", Str, None, "Process name (comm, up to 15 chars).";
    ProcExe => "proc.exe", Str, None, "First command-line argument (`argv[0]`).";
    ProcExepath => "proc.exepath", Str, None, "Full path of the executable.";
    ProcArgs => "proc.args", Str, None, "Command-line arguments after `argv[0]`, space-joined.";
    ProcCmdline => "proc.cmdline", Str, None, "proc.name followed by proc.args.";
    ProcPid => "proc.pid", Num, None, "Process id (thread group id).";
    ProcPpid => "proc.ppid", Num, None, "Parent process id.";
    ProcPname => "proc.pname", Str, None, "Parent process name.";
    ProcPexepath => "proc.pexepath", Str, None, "Parent executable path.";
    ProcPcmdline => "proc.pcmdline", Str, None, "Parent command line.";
    ProcAname => "proc.aname", Str, Ancestor, "Ancestor process name: `[1]` parent, `[2]` grandparent...; without index any ancestor.";
    ProcApid => "proc.apid", Num, Ancestor, "Ancestor process id, indexed like proc.aname.";
    ProcAexepath => "proc.aexepath", Str, Ancestor, "Ancestor executable path, indexed like proc.aname.";
    ProcCwd => "proc.cwd", Str, None, "Current working directory.";
    ProcTty => "proc.tty", Num, None, "Controlling terminal device number, 0 if none.";
    ProcSid => "proc.sid", Num, None, "Session id.";
    ProcTreeId => "proc.tree_id", Num, None, "Process-tree key chosen by the agent (shared by a process and its descendants); the usual `by:` of sequences.";
    ProcIsExeFromMemfd => "proc.is_exe_from_memfd", Bool, None, "The executable is a memfd (fileless execution).";
    ProcIsExeWritable => "proc.is_exe_writable", Bool, None, "The executable file is writable by the process's user.";
    ProcStdinType => "proc.stdin.type", Str, None, "Type of fd 0 when the process exec'd: file, dir, pipe, socket, tty, chr (another character device, such as /dev/null), blk, other, none (not open).";
    ProcStdoutType => "proc.stdout.type", Str, None, "Type of fd 1 when the process exec'd, as proc.stdin.type.";
    ProcStderrType => "proc.stderr.type", Str, None, "Type of fd 2 when the process exec'd, as proc.stdin.type.";
    ProcStdinFamily => "proc.stdin.family", Str, None, "Address family of fd 0 when it is a socket: unix, inet, inet6, netlink, other; absent for other files.";
    ProcStdoutFamily => "proc.stdout.family", Str, None, "Address family of fd 1 when it is a socket, as proc.stdin.family.";
    ProcStderrFamily => "proc.stderr.family", Str, None, "Address family of fd 2 when it is a socket, as proc.stdin.family.";
    UserUid => "user.uid", Num, None, "Effective user id.";
    UserName => "user.name", Str, None, "Effective user name, when resolvable.";
    UserLoginuid => "user.loginuid", Num, None, "Audit login uid (-1 when unset).";
    GroupGid => "group.gid", Num, None, "Effective group id.";
    ContainerId => "container.id", Str, None, "Container id (short), `host` outside containers.";
    ContainerName => "container.name", Str, None, "Container name, when known.";
    FdName => "fd.name", Str, None, "File path, or for sockets `sip:sport->dip:dport`.";
    FdDirectory => "fd.directory", Str, None, "Directory part of fd.name.";
    FdFilename => "fd.filename", Str, None, "File-name part of fd.name.";
    FdTypechar => "fd.typechar", Str, None, "One letter: f file, 4 IPv4 socket, 6 IPv6 socket, u unix socket, p pipe.";
    FdSip => "fd.sip", Str, None, "Source (local) IP address of a connection.";
    FdSport => "fd.sport", Num, None, "Source (local) port.";
    FdDip => "fd.dip", Str, None, "Destination (remote) IP address.";
    FdDport => "fd.dport", Num, None, "Destination (remote) port.";
    FdL4proto => "fd.l4proto", Str, None, "Transport protocol: tcp, udp.";
}

/// One field's registry entry.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Its id.
    pub id: FieldId,
    /// Its name in rules.
    pub name: &'static str,
    /// Its value type.
    pub ty: FieldType,
    /// Whether it takes `[N]`.
    pub indexing: Indexing,
    /// One line for documentation.
    pub description: &'static str,
}

impl FieldId {
    /// The field's registry entry.
    pub fn def(self) -> &'static FieldDef {
        &FIELDS[self as usize]
    }

    /// The field's name.
    pub fn name(self) -> &'static str {
        self.def().name
    }
}

/// Looks a field up by name (without index).
pub fn lookup(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.name == name)
}

/// A parsed field reference: `proc.aname[2]` → (ProcAname, Some(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef {
    /// The field.
    pub id: FieldId,
    /// The `[N]` index, if written.
    pub index: Option<u32>,
}

/// Why a field name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// No such field.
    Unknown(String),
    /// Index problem (message).
    BadIndex(String),
}

/// Resolves `name` or `name[N]`.
pub fn resolve(text: &str) -> Result<FieldRef, ResolveError> {
    let (name, index) = match text.find('[') {
        Some(open) => {
            let Some(inner) = text[open + 1..].strip_suffix(']') else {
                return Err(ResolveError::BadIndex(format!(
                    "`{text}`: expected `name[N]`"
                )));
            };
            let n: u32 = inner.parse().map_err(|_| {
                ResolveError::BadIndex(format!("`{text}`: index must be a number from 1"))
            })?;
            (&text[..open], Some(n))
        }
        None => (text, None),
    };
    let def = lookup(name).ok_or_else(|| ResolveError::Unknown(name.to_string()))?;
    match (def.indexing, index) {
        (Indexing::None, Some(_)) => {
            Err(ResolveError::BadIndex(format!("`{name}` takes no index")))
        }
        (Indexing::Ancestor, Some(0)) => Err(ResolveError::BadIndex(format!(
            "`{text}`: ancestors count from 1 (the parent)"
        ))),
        (Indexing::Ancestor, Some(n)) if n > MAX_ANCESTORS => Err(ResolveError::BadIndex(format!(
            "`{text}`: at most {MAX_ANCESTORS} ancestors"
        ))),
        _ => Ok(FieldRef { id: def.id, index }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(f.id as usize, i, "{}", f.name);
            assert!(!f.description.is_empty());
            assert_eq!(lookup(f.name).unwrap().id, f.id);
        }
    }

    #[test]
    fn resolves_indexes() {
        assert_eq!(
            resolve("proc.aname[2]").unwrap(),
            FieldRef {
                id: FieldId::ProcAname,
                index: Some(2)
            }
        );
        assert_eq!(resolve("proc.aname").unwrap().index, None);
        assert!(matches!(resolve("proc.nme"), Err(ResolveError::Unknown(_))));
        assert!(matches!(
            resolve("proc.name[1]"),
            Err(ResolveError::BadIndex(_))
        ));
        assert!(matches!(
            resolve("proc.aname[0]"),
            Err(ResolveError::BadIndex(_))
        ));
        assert!(matches!(
            resolve("proc.aname[x]"),
            Err(ResolveError::BadIndex(_))
        ));
    }
}
