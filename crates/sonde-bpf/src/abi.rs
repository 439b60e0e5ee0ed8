//! Rust mirror of `bpf/abi.h`. Layouts are checked at compile time against
//! the types libbpf-cargo generated from the compiled object's BTF, so a
//! drift between the header and this file fails the build; the constants are
//! checked against the header's text by a unit test.

use std::mem::{offset_of, size_of};

use crate::skel::capture::types as cap_btf;
use crate::skel::enforce::types as enf_btf;
use crate::skel::network::types as net_btf;
use crate::skel::process::types as btf;
use crate::skel::profile::types as prof_btf;
use crate::skel::security::types as sec_btf;

pub const ABI_VERSION: u16 = 1;
pub const PATH_MAX: usize = 4096;
pub const ARGS_MAX: usize = 32768;

pub const EVENT_EXEC: u16 = 1;
pub const EVENT_EXIT: u16 = 2;
pub const EVENT_FORK: u16 = 3;
pub const EVENT_TCP: u16 = 4;
pub const EVENT_DROP: u16 = 5;
pub const EVENT_DATA: u16 = 6;
pub const EVENT_SAMPLE: u16 = 7;
pub const EVENT_FILE: u16 = 8;
pub const EVENT_SECURITY: u16 = 9;
pub const EVENT_ENFORCE: u16 = 10;
pub const EVENT_LISTEN: u16 = 11;
/// One past the largest event type: the length of the kernel's `lost` array.
pub const EVENT_TYPE_MAX: u32 = 12;

pub const DIR_CONNECT: u8 = 1;
pub const DIR_ACCEPT: u8 = 2;
pub const REPORT_INTERIM: u8 = 1;
pub const OWNER_NONE: u32 = 0;
pub const OWNER_IO: u32 = 3;

pub const NET_CONNS_UNTRACKED: u32 = 0;
pub const NET_DROPS_SUPPRESSED: u32 = 1;
pub const NET_DROP_REASONS_FULL: u32 = 2;
pub const NET_RESETS_SENT_UNTRACKED: u32 = 3;
pub const NET_UDP_FLOWS_UNTRACKED: u32 = 4;
pub const NET_COUNTER_MAX: u32 = 5;

pub const CAPTURE_MAX: usize = 16384;
pub const SRC_READ: u8 = 1;
pub const SRC_SENDFILE: u8 = 9;
pub const SRC_SSL_READ: u8 = 10;
pub const SRC_SSL_WRITE: u8 = 11;
pub const DATA_TLS: u8 = 1 << 0;
pub const DATA_PEER: u8 = 1 << 1;
pub const LAYER_RAW: usize = 0;
pub const LAYER_TLS: usize = 1;
pub const EGRESS: u8 = 0;
pub const INGRESS: u8 = 1;
pub const CTL_MUTE_RAW: u32 = 1 << 0;
pub const CTL_MUTE_TLS: u32 = 1 << 1;

pub const CAP_CALLS: u32 = 0;
pub const CAP_BYTES_COPIED: u32 = 1;
pub const CAP_BYTES_NOT_COPIED: u32 = 2;
pub const CAP_MUTED_CALLS: u32 = 3;
pub const CAP_TLS_NO_SOCKET: u32 = 4;
pub const CAP_CALLS_UNTRACKED: u32 = 5;
pub const CAP_MMSG_UNREAD: u32 = 6;
pub const CAP_COUNTER_MAX: u32 = 7;

pub const STACK_DEPTH: usize = 127;
pub const STACK_COPY: usize = 16384;
pub const SAMPLE_KERNEL_MODE: u32 = 1 << 0;
pub const SAMPLE_NEW_PROCESS: u32 = 1 << 1;
pub const PROF_SAMPLES: u32 = 0;
pub const PROF_IDLE: u32 = 1;
pub const PROF_FILTERED: u32 = 2;
pub const PROF_KSTACK_FAILED: u32 = 3;
pub const PROF_USTACK_FAILED: u32 = 4;
pub const PROF_STACK_COPY_SHORT: u32 = 5;
pub const PROF_COUNTER_MAX: u32 = 6;

pub const EXEC_ARGS_TRUNCATED: u32 = 1 << 0;
pub const EXEC_CWD_TRUNCATED: u32 = 1 << 1;
pub const EXEC_CGROUP_TRUNCATED: u32 = 1 << 2;
pub const EXEC_FILENAME_TRUNCATED: u32 = 1 << 3;
pub const EXEC_ARGS_UNREADABLE: u32 = 1 << 4;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventHeader {
    pub kind: u16,
    pub version: u16,
    pub size: u32,
    /// CLOCK_BOOTTIME nanoseconds.
    pub ktime_ns: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Task {
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub _pad: u32,
    pub start_ns: u64,
    pub parent_start_ns: u64,
}

/// One of fds 0-2 as an exec left it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stdio {
    /// The inode's `i_mode`; 0 when the fd is not open.
    pub mode: u16,
    /// A socket's address family (`AF_*`); 0 for other files.
    pub family: u16,
    /// A device's number in the kernel's encoding (`major << 20 | minor`);
    /// 0 for other files.
    pub rdev: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecEvent {
    pub hdr: EventHeader,
    pub task: Task,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub pid_ns: u32,
    pub mnt_ns: u32,
    pub net_ns: u32,
    pub flags: u32,
    pub comm: [u8; 16],
    pub tty: [u8; 64],
    pub filename_len: u16,
    pub cwd_len: u16,
    pub cgroup_len: u16,
    pub _pad: u16,
    pub args_len: u32,
    pub _pad2: u32,
    /// stdin, stdout, stderr.
    pub stdio: [Stdio; 3],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitEvent {
    pub hdr: EventHeader,
    pub task: Task,
    /// Wait status: `code << 8 | core << 7 | signal`.
    pub exit_code: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForkEvent {
    pub hdr: EventHeader,
    pub task: Task,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// `OWNER_*`: how the kernel learned the owner.
    pub from: u32,
    /// The owner's start_boottime, to tell a reused pid apart.
    pub start_ns: u64,
    pub comm: [u8; 16],
}

/// IPv4 addresses arrive IPv4-mapped (`::ffff:a.b.c.d`); ports in host order.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tuple {
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    pub sport: u16,
    pub dport: u16,
    pub family: u16,
    pub protocol: u8,
    pub _pad: u8,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpEvent {
    pub hdr: EventHeader,
    /// Source = local end, destination = remote end.
    pub tuple: Tuple,
    pub owner: Owner,
    pub start_ns: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub srtt_us: u32,
    pub retransmits: u32,
    pub resets_sent: u32,
    pub resets_received: u32,
    pub netns: u32,
    pub direction: u8,
    pub report: u8,
    pub last_state: u8,
    pub _pad: u8,
    /// Random; requests carry the same id. 0 when the connection was untracked.
    pub conn_id: u64,
}

/// What one socket call or OpenSSL call moved; `captured` bytes follow.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataEvent {
    pub hdr: EventHeader,
    /// Source = local end, destination = remote end (the call's peer with `DATA_PEER`).
    pub tuple: Tuple,
    /// Kernel address of the socket: the key of `capture_ctl`.
    pub sock: u64,
    pub conn_id: u64,
    /// Stream position of the first byte, per socket, layer and direction.
    pub offset: u64,
    /// The process's start_boottime.
    pub start_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// Bytes the call moved.
    pub len: u32,
    /// Bytes that follow the event.
    pub captured: u32,
    pub netns: u32,
    /// `EGRESS` or `INGRESS`.
    pub direction: u8,
    /// `SRC_*`.
    pub source: u8,
    /// `DATA_*`.
    pub flags: u8,
    pub _pad: u8,
    pub comm: [u8; 16],
}

/// Value of the kernel's `capture_ctl` map: how user space steers the capture
/// of one socket. Applies only while `conn_id` matches the socket's.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCtl {
    pub conn_id: u64,
    /// `[layer][direction]`: bytes below these stream offsets are not copied.
    pub skip_until: [[u64; 2]; 2],
    /// `CTL_*`.
    pub flags: u32,
    pub _pad: u32,
}

impl CaptureCtl {
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: repr(C), only integers, no padding (checked against the BTF below).
        unsafe { std::slice::from_raw_parts((self as *const Self).cast::<u8>(), size_of::<Self>()) }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropEvent {
    pub hdr: EventHeader,
    pub tuple: Tuple,
    pub owner: Owner,
    pub location: u64,
    pub reason: u32,
    pub ifindex: u32,
    pub netns: u32,
    pub len: u32,
}

/// One CPU sample. Followed by `kstack_len` kernel and `ustack_len` user
/// addresses (u64 each, sampled address first) and `stack_len` stack bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleEvent {
    pub hdr: EventHeader,
    pub cgroup_id: u64,
    /// The process's start_boottime.
    pub start_ns: u64,
    /// User registers when the sample was taken (in user or kernel mode).
    pub user_ip: u64,
    pub user_sp: u64,
    pub user_bp: u64,
    pub pid: u32,
    pub tid: u32,
    pub cpu: u32,
    /// `SAMPLE_*`.
    pub flags: u32,
    pub kstack_len: u16,
    pub ustack_len: u16,
    pub stack_len: u32,
    pub comm: [u8; 16],
}

pub const LISTEN_OPEN: u8 = 1;
pub const LISTEN_CLOSED: u8 = 2;

/// A TCP socket started (`LISTEN_OPEN`) or stopped (`LISTEN_CLOSED`) listening.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenEvent {
    pub hdr: EventHeader,
    /// The listen() caller; `OWNER_NONE` when it listened before sonde.
    pub owner: Owner,
    /// IPv4-mapped for IPv4.
    pub addr: [u8; 16],
    /// Host byte order; 0 when listen() came without bind().
    pub port: u16,
    pub family: u16,
    pub netns: u32,
    /// `sk_max_ack_backlog`.
    pub backlog: u32,
    /// `LISTEN_*`.
    pub state: u8,
    pub _pad: [u8; 3],
}

/// Key of the kernel's `udp_flows` map: one UDP flow as one end sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct UdpKey {
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
    pub lport: u16,
    pub rport: u16,
    pub netns: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpCounts {
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub packets_in: u64,
    pub first_ns: u64,
    pub last_ns: u64,
}

/// Key of the kernel's `udp_owners` map.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortKey {
    pub netns: u32,
    pub port: u16,
    pub _pad: u16,
}

/// Fails the build unless `$ours` and `$theirs` have the same size and each
/// listed field pair the same offset.
macro_rules! same_layout {
    ($ours:ty, $theirs:ty, $($a:ident = $b:ident),+ $(,)?) => {
        const _: () = {
            assert!(size_of::<$ours>() == size_of::<$theirs>());
            $(assert!(offset_of!($ours, $a) == offset_of!($theirs, $b));)+
        };
    };
}

same_layout!(
    EventHeader,
    btf::sonde_event_header,
    kind = r#type,
    version = version,
    size = size,
    ktime_ns = ktime_ns
);
same_layout!(
    Task,
    btf::sonde_task,
    pid = pid,
    tid = tid,
    ppid = ppid,
    start_ns = start_ns,
    parent_start_ns = parent_start_ns
);
same_layout!(
    ExecEvent,
    btf::sonde_exec_event,
    hdr = hdr,
    task = task,
    uid = uid,
    gid = gid,
    euid = euid,
    egid = egid,
    cgroup_id = cgroup_id,
    pid_ns = pid_ns,
    mnt_ns = mnt_ns,
    net_ns = net_ns,
    flags = flags,
    comm = comm,
    tty = tty,
    filename_len = filename_len,
    cwd_len = cwd_len,
    cgroup_len = cgroup_len,
    args_len = args_len,
    stdio = stdio
);
same_layout!(
    Stdio,
    btf::sonde_stdio,
    mode = mode,
    family = family,
    rdev = rdev
);
same_layout!(
    ExitEvent,
    btf::sonde_exit_event,
    hdr = hdr,
    task = task,
    exit_code = exit_code
);
same_layout!(ForkEvent, btf::sonde_fork_event, hdr = hdr, task = task);
same_layout!(
    Owner,
    net_btf::sonde_owner,
    pid = pid,
    from = from,
    start_ns = start_ns,
    comm = comm
);
same_layout!(
    Tuple,
    net_btf::sonde_tuple,
    saddr = saddr,
    daddr = daddr,
    sport = sport,
    dport = dport,
    family = family,
    protocol = protocol
);
same_layout!(
    TcpEvent,
    net_btf::sonde_tcp_event,
    hdr = hdr,
    tuple = tuple,
    owner = owner,
    start_ns = start_ns,
    bytes_sent = bytes_sent,
    bytes_received = bytes_received,
    segs_out = segs_out,
    segs_in = segs_in,
    srtt_us = srtt_us,
    retransmits = retransmits,
    resets_sent = resets_sent,
    resets_received = resets_received,
    netns = netns,
    direction = direction,
    report = report,
    last_state = last_state,
    conn_id = conn_id
);
same_layout!(
    DataEvent,
    cap_btf::sonde_data_event,
    hdr = hdr,
    tuple = tuple,
    sock = sock,
    conn_id = conn_id,
    offset = offset,
    start_ns = start_ns,
    pid = pid,
    tid = tid,
    len = len,
    captured = captured,
    netns = netns,
    direction = direction,
    source = source,
    flags = flags,
    comm = comm
);
same_layout!(
    CaptureCtl,
    cap_btf::sonde_capture_ctl,
    conn_id = conn_id,
    skip_until = skip_until,
    flags = flags
);
same_layout!(
    SampleEvent,
    prof_btf::sonde_sample_event,
    hdr = hdr,
    cgroup_id = cgroup_id,
    start_ns = start_ns,
    user_ip = user_ip,
    user_sp = user_sp,
    user_bp = user_bp,
    pid = pid,
    tid = tid,
    cpu = cpu,
    flags = flags,
    kstack_len = kstack_len,
    ustack_len = ustack_len,
    stack_len = stack_len,
    comm = comm
);
same_layout!(
    DropEvent,
    net_btf::sonde_drop_event,
    hdr = hdr,
    tuple = tuple,
    owner = owner,
    location = location,
    reason = reason,
    ifindex = ifindex,
    netns = netns,
    len = len
);
same_layout!(
    ListenEvent,
    net_btf::sonde_listen_event,
    hdr = hdr,
    owner = owner,
    addr = addr,
    port = port,
    family = family,
    netns = netns,
    backlog = backlog,
    state = state
);

// ---- security events (issue 7) ----

/// Longest watched path prefix, in bytes (the LPM trie's key data).
pub const WATCH_KEY_MAX: usize = 256;
/// Bytes of one path in a file record.
pub const FILE_PATH_MAX: usize = 1024;
/// Bytes of one string in a security record.
pub const SEC_STR_MAX: usize = 512;

pub const WATCH_READS: u32 = 1 << 0;

pub const FILE_OPEN: u32 = 1;
pub const FILE_UNLINK: u32 = 2;
pub const FILE_RENAME: u32 = 3;
pub const FILE_CHMOD: u32 = 4;
pub const FILE_CHOWN: u32 = 5;

pub const FILE_RELATIVE: u32 = 1 << 0;
pub const FILE_PATH_TRUNCATED: u32 = 1 << 1;
pub const FILE_RELATIVE2: u32 = 1 << 2;
pub const FILE_PATH2_TRUNCATED: u32 = 1 << 3;

pub const SEC_SETUID: u32 = 1;
pub const SEC_SETGID: u32 = 2;
pub const SEC_SETREUID: u32 = 3;
pub const SEC_SETREGID: u32 = 4;
pub const SEC_SETRESUID: u32 = 5;
pub const SEC_SETRESGID: u32 = 6;
pub const SEC_CAPSET: u32 = 7;
pub const SEC_PTRACE: u32 = 8;
pub const SEC_MEMFD_CREATE: u32 = 9;
pub const SEC_EXEC_MEMFD: u32 = 10;
pub const SEC_MOUNT: u32 = 11;
pub const SEC_UMOUNT: u32 = 12;
pub const SEC_INIT_MODULE: u32 = 13;
pub const SEC_FINIT_MODULE: u32 = 14;
pub const SEC_DELETE_MODULE: u32 = 15;
pub const SEC_BPF_PROG_LOAD: u32 = 16;
pub const SEC_UNSHARE: u32 = 17;
pub const SEC_SETNS: u32 = 18;
pub const SEC_KIND_MAX: u32 = 19;

pub const SEC_STR0_TRUNCATED: u32 = 1 << 0;

pub const SECC_PENDING_FULL: u32 = 0;
pub const SECC_STALE: u32 = 1;
pub const SECC_COUNTER_MAX: u32 = 2;

/// Key of the kernel's `watch_prefixes` LPM trie.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchKey {
    /// Bits of `path` that the prefix covers.
    pub prefixlen: u32,
    pub path: [u8; WATCH_KEY_MAX],
}

/// Value of the kernel's `watch_prefixes` LPM trie.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchValue {
    /// The prefix's length in bytes.
    pub len: u32,
    /// `WATCH_READS`: read-only opens are reported too.
    pub flags: u32,
}

/// A file operation on a watched path; followed by `path`, then `path2`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEvent {
    pub hdr: EventHeader,
    pub task: Task,
    pub cgroup_id: u64,
    /// fd or 0, or -errno.
    pub result: i64,
    pub uid: u32,
    pub euid: u32,
    pub op: u32,
    pub flags: u32,
    pub mode: u32,
    pub owner_uid: u32,
    pub owner_gid: u32,
    pub dirfd: i32,
    pub dirfd2: i32,
    pub file_flags: u32,
    pub path_len: u16,
    pub path2_len: u16,
    pub _pad: u32,
    pub comm: [u8; 16],
}

/// A task's credentials.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Creds {
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

/// A privilege, ptrace, memfd, mount, module, BPF or namespace operation;
/// followed by its strings.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityEvent {
    pub hdr: EventHeader,
    pub task: Task,
    pub cgroup_id: u64,
    pub result: i64,
    pub args: [u64; 4],
    pub before: Creds,
    pub after: Creds,
    pub kind: u32,
    pub flags: u32,
    pub str_len: [u16; 3],
    pub _pad: u16,
    pub comm: [u8; 16],
}

same_layout!(
    WatchKey,
    sec_btf::sonde_watch_key,
    prefixlen = prefixlen,
    path = path
);
same_layout!(
    WatchValue,
    sec_btf::sonde_watch_value,
    len = len,
    flags = flags
);
same_layout!(
    FileEvent,
    sec_btf::sonde_file_event,
    hdr = hdr,
    task = task,
    cgroup_id = cgroup_id,
    result = result,
    uid = uid,
    euid = euid,
    op = op,
    flags = flags,
    mode = mode,
    owner_uid = owner_uid,
    owner_gid = owner_gid,
    dirfd = dirfd,
    dirfd2 = dirfd2,
    file_flags = file_flags,
    path_len = path_len,
    path2_len = path2_len,
    comm = comm
);
same_layout!(
    Creds,
    sec_btf::sonde_creds,
    uid = uid,
    fsgid = fsgid,
    cap_effective = cap_effective,
    cap_permitted = cap_permitted
);
same_layout!(
    SecurityEvent,
    sec_btf::sonde_security_event,
    hdr = hdr,
    task = task,
    cgroup_id = cgroup_id,
    result = result,
    args = args,
    before = before,
    after = after,
    kind = kind,
    flags = flags,
    str_len = str_len,
    comm = comm
);

#[cfg(test)]
mod security_tests {
    use super::*;

    /// The value of `name` in abi.h (`NAME = 3,`, `NAME = 1 << 2,` or `#define NAME 3`).
    fn value(name: &str) -> u64 {
        let header = include_str!("../../../bpf/abi.h");
        let line = header
            .lines()
            .map(str::trim_start)
            .find(|l| {
                l.strip_prefix("#define ")
                    .unwrap_or(l)
                    .split_whitespace()
                    .next()
                    == Some(name)
            })
            .unwrap_or_else(|| panic!("{name} not in abi.h"));
        let words: Vec<&str> = line
            .split(['=', ' ', '\t', ','])
            .filter(|w| !w.is_empty())
            .skip_while(|w| *w != name)
            .skip(1)
            .collect();
        match words.as_slice() {
            ["1", "<<", shift, ..] => 1 << shift.parse::<u64>().unwrap(),
            [n, ..] => n.parse().unwrap(),
            [] => panic!("{name} has no value"),
        }
    }

    #[test]
    fn security_constants_match_the_header() {
        for (name, ours) in [
            ("SONDE_WATCH_KEY_MAX", WATCH_KEY_MAX as u32),
            ("SONDE_FILE_PATH_MAX", FILE_PATH_MAX as u32),
            ("SONDE_SEC_STR_MAX", SEC_STR_MAX as u32),
            ("SONDE_WATCH_READS", WATCH_READS),
            ("SONDE_FILE_OPEN", FILE_OPEN),
            ("SONDE_FILE_UNLINK", FILE_UNLINK),
            ("SONDE_FILE_RENAME", FILE_RENAME),
            ("SONDE_FILE_CHMOD", FILE_CHMOD),
            ("SONDE_FILE_CHOWN", FILE_CHOWN),
            ("SONDE_FILE_RELATIVE", FILE_RELATIVE),
            ("SONDE_FILE_PATH_TRUNCATED", FILE_PATH_TRUNCATED),
            ("SONDE_FILE_RELATIVE2", FILE_RELATIVE2),
            ("SONDE_FILE_PATH2_TRUNCATED", FILE_PATH2_TRUNCATED),
            ("SONDE_SEC_SETUID", SEC_SETUID),
            ("SONDE_SEC_SETGID", SEC_SETGID),
            ("SONDE_SEC_SETREUID", SEC_SETREUID),
            ("SONDE_SEC_SETREGID", SEC_SETREGID),
            ("SONDE_SEC_SETRESUID", SEC_SETRESUID),
            ("SONDE_SEC_SETRESGID", SEC_SETRESGID),
            ("SONDE_SEC_CAPSET", SEC_CAPSET),
            ("SONDE_SEC_PTRACE", SEC_PTRACE),
            ("SONDE_SEC_MEMFD_CREATE", SEC_MEMFD_CREATE),
            ("SONDE_SEC_EXEC_MEMFD", SEC_EXEC_MEMFD),
            ("SONDE_SEC_MOUNT", SEC_MOUNT),
            ("SONDE_SEC_UMOUNT", SEC_UMOUNT),
            ("SONDE_SEC_INIT_MODULE", SEC_INIT_MODULE),
            ("SONDE_SEC_FINIT_MODULE", SEC_FINIT_MODULE),
            ("SONDE_SEC_DELETE_MODULE", SEC_DELETE_MODULE),
            ("SONDE_SEC_BPF_PROG_LOAD", SEC_BPF_PROG_LOAD),
            ("SONDE_SEC_UNSHARE", SEC_UNSHARE),
            ("SONDE_SEC_SETNS", SEC_SETNS),
            ("SONDE_SEC_KIND_MAX", SEC_KIND_MAX),
            ("SONDE_SEC_STR0_TRUNCATED", SEC_STR0_TRUNCATED),
            ("SONDE_SECC_PENDING_FULL", SECC_PENDING_FULL),
            ("SONDE_SECC_STALE", SECC_STALE),
            ("SONDE_SECC_COUNTER_MAX", SECC_COUNTER_MAX),
        ] {
            assert_eq!(value(name), u64::from(ours), "{name}");
        }
    }
}

// enforcement (issue 7)

pub const ENFORCE_PATH_MAX: usize = 256;
pub const ENFORCE_ANCESTRY_MAX: u32 = 16;
pub const ENFORCE_CGROUP_DEPTH: u32 = 16;
pub const ENFORCE_KILL: u8 = 1;
pub const ENFORCE_DENY_CONNECT: u8 = 2;
pub const ENFORCE_DENY_SEND: u8 = 3;
pub const ENFORCE_DRY_RUN: u32 = 1 << 0;
pub const ENFORCE_SPARED: u32 = 1 << 1;
pub const KILL_BY_INODE: u32 = 1;
pub const KILL_BY_PATH: u32 = 2;
pub const KILL_BY_NAME: u32 = 3;

/// Key of the kernel's `kill_rules` map; unused fields are zero.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KillKey {
    /// `KILL_BY_*`.
    pub match_: u32,
    pub _pad: u32,
    /// The superblock's kernel dev_t (`MAJOR << 20 | MINOR`).
    pub dev: u64,
    pub ino: u64,
    /// NUL-padded path or name.
    pub name: [u8; ENFORCE_PATH_MAX],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillRule {
    pub rule_id: u32,
    pub flags: u32,
    pub cgroup_id: u64,
    pub cgroup_level: u32,
    pub _pad: u32,
    pub ancestor: [u8; 16],
}

/// Key of the kernel's `connect_rules` LPM trie.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectKey {
    pub prefixlen: u32,
    pub cgroup_id: u64,
    pub port: u16,
    pub addr: [u8; 16],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRule {
    pub rule_id: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnforceEvent {
    pub hdr: EventHeader,
    pub task: Task,
    pub cgroup_id: u64,
    pub rule_id: u32,
    pub action: u8,
    pub flags: u8,
    pub dport: u16,
    pub daddr: [u8; 16],
    pub family: u16,
    pub _pad: u16,
    pub error: i32,
    pub comm: [u8; 16],
    pub binary: [u8; ENFORCE_PATH_MAX],
}

same_layout!(
    KillKey,
    enf_btf::sonde_kill_key,
    match_ = r#match,
    dev = dev,
    ino = ino,
    name = name
);
same_layout!(
    KillRule,
    enf_btf::sonde_kill_rule,
    rule_id = rule_id,
    flags = flags,
    cgroup_id = cgroup_id,
    cgroup_level = cgroup_level,
    ancestor = ancestor
);
same_layout!(
    ConnectKey,
    enf_btf::sonde_connect_key,
    prefixlen = prefixlen,
    cgroup_id = cgroup_id,
    port = port,
    addr = addr
);
same_layout!(
    ConnectRule,
    enf_btf::sonde_connect_rule,
    rule_id = rule_id,
    flags = flags
);
same_layout!(
    EnforceEvent,
    enf_btf::sonde_enforce_event,
    hdr = hdr,
    task = task,
    cgroup_id = cgroup_id,
    rule_id = rule_id,
    action = action,
    flags = flags,
    dport = dport,
    daddr = daddr,
    family = family,
    error = error,
    comm = comm,
    binary = binary
);

// end of enforcement (issue 7)

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `#define SONDE_*` and enum constant in abi.h that Rust mirrors.
    #[test]
    fn constants_match_the_header() {
        let header = include_str!("../../../bpf/abi.h");
        let value = |name: &str| -> u64 {
            let line = header
                .lines()
                .find(|l| {
                    // The definition, not a comment that mentions the name.
                    let l = l.trim_start();
                    l.strip_prefix("#define ")
                        .unwrap_or(l)
                        .split_whitespace()
                        .next()
                        == Some(name)
                })
                .unwrap_or_else(|| panic!("{name} not in abi.h"));
            let text = line.split(['=', ' ', '\t', ',']).filter(|w| !w.is_empty());
            let text: Vec<&str> = text.skip_while(|w| *w != name).skip(1).collect();
            match text.as_slice() {
                ["1", "<<", shift, ..] => 1 << shift.parse::<u64>().unwrap(),
                [n, ..] => n.parse().unwrap(),
                [] => panic!("{name} has no value"),
            }
        };
        assert_eq!(value("SONDE_ABI_VERSION"), u64::from(ABI_VERSION));
        assert_eq!(value("SONDE_PATH_MAX"), PATH_MAX as u64);
        assert_eq!(value("SONDE_ARGS_MAX"), ARGS_MAX as u64);
        assert_eq!(value("SONDE_EVENT_EXEC"), u64::from(EVENT_EXEC));
        assert_eq!(value("SONDE_EVENT_EXIT"), u64::from(EVENT_EXIT));
        assert_eq!(value("SONDE_EVENT_FORK"), u64::from(EVENT_FORK));
        assert_eq!(value("SONDE_EVENT_TCP"), u64::from(EVENT_TCP));
        assert_eq!(value("SONDE_EVENT_DROP"), u64::from(EVENT_DROP));
        assert_eq!(value("SONDE_EVENT_DATA"), u64::from(EVENT_DATA));
        assert_eq!(value("SONDE_EVENT_TYPE_MAX"), u64::from(EVENT_TYPE_MAX));
        assert_eq!(value("SONDE_CAPTURE_MAX"), CAPTURE_MAX as u64);
        assert_eq!(value("SONDE_EVENT_SAMPLE"), u64::from(EVENT_SAMPLE));
        assert_eq!(value("SONDE_EVENT_FILE"), u64::from(EVENT_FILE));
        assert_eq!(value("SONDE_EVENT_SECURITY"), u64::from(EVENT_SECURITY));
        assert_eq!(value("SONDE_EVENT_ENFORCE"), u64::from(EVENT_ENFORCE));
        assert_eq!(value("SONDE_EVENT_LISTEN"), u64::from(EVENT_LISTEN));
        assert_eq!(value("SONDE_LISTEN_OPEN"), u64::from(LISTEN_OPEN));
        assert_eq!(value("SONDE_LISTEN_CLOSED"), u64::from(LISTEN_CLOSED));
        for (name, ours) in [
            ("SONDE_ENFORCE_PATH_MAX", ENFORCE_PATH_MAX as u32),
            ("SONDE_ENFORCE_ANCESTRY_MAX", ENFORCE_ANCESTRY_MAX),
            ("SONDE_ENFORCE_CGROUP_DEPTH", ENFORCE_CGROUP_DEPTH),
            ("SONDE_ENFORCE_KILL", u32::from(ENFORCE_KILL)),
            (
                "SONDE_ENFORCE_DENY_CONNECT",
                u32::from(ENFORCE_DENY_CONNECT),
            ),
            ("SONDE_ENFORCE_DENY_SEND", u32::from(ENFORCE_DENY_SEND)),
            ("SONDE_ENFORCE_DRY_RUN", ENFORCE_DRY_RUN),
            ("SONDE_ENFORCE_SPARED", ENFORCE_SPARED),
            ("SONDE_KILL_BY_INODE", KILL_BY_INODE),
            ("SONDE_KILL_BY_PATH", KILL_BY_PATH),
            ("SONDE_KILL_BY_NAME", KILL_BY_NAME),
        ] {
            assert_eq!(value(name), u64::from(ours), "{name}");
        }
        assert_eq!(value("SONDE_STACK_DEPTH"), STACK_DEPTH as u64);
        assert_eq!(value("SONDE_STACK_COPY"), STACK_COPY as u64);
        for (name, ours) in [
            ("SONDE_SRC_READ", SRC_READ),
            ("SONDE_SRC_SENDFILE", SRC_SENDFILE),
            ("SONDE_SRC_SSL_READ", SRC_SSL_READ),
            ("SONDE_SRC_SSL_WRITE", SRC_SSL_WRITE),
            ("SONDE_DATA_TLS", DATA_TLS),
            ("SONDE_DATA_PEER", DATA_PEER),
            ("SONDE_EGRESS", EGRESS),
            ("SONDE_INGRESS", INGRESS),
        ] {
            assert_eq!(value(name), u64::from(ours), "{name}");
        }
        for (name, ours) in [
            ("SONDE_LAYER_RAW", LAYER_RAW as u32),
            ("SONDE_LAYER_TLS", LAYER_TLS as u32),
            ("SONDE_CTL_MUTE_RAW", CTL_MUTE_RAW),
            ("SONDE_CTL_MUTE_TLS", CTL_MUTE_TLS),
            ("SONDE_CAP_CALLS", CAP_CALLS),
            ("SONDE_CAP_BYTES_COPIED", CAP_BYTES_COPIED),
            ("SONDE_CAP_BYTES_NOT_COPIED", CAP_BYTES_NOT_COPIED),
            ("SONDE_CAP_MUTED_CALLS", CAP_MUTED_CALLS),
            ("SONDE_CAP_TLS_NO_SOCKET", CAP_TLS_NO_SOCKET),
            ("SONDE_CAP_CALLS_UNTRACKED", CAP_CALLS_UNTRACKED),
            ("SONDE_CAP_MMSG_UNREAD", CAP_MMSG_UNREAD),
            ("SONDE_CAP_COUNTER_MAX", CAP_COUNTER_MAX),
            ("SONDE_SAMPLE_KERNEL_MODE", SAMPLE_KERNEL_MODE),
            ("SONDE_SAMPLE_NEW_PROCESS", SAMPLE_NEW_PROCESS),
            ("SONDE_PROF_SAMPLES", PROF_SAMPLES),
            ("SONDE_PROF_IDLE", PROF_IDLE),
            ("SONDE_PROF_FILTERED", PROF_FILTERED),
            ("SONDE_PROF_KSTACK_FAILED", PROF_KSTACK_FAILED),
            ("SONDE_PROF_USTACK_FAILED", PROF_USTACK_FAILED),
            ("SONDE_PROF_STACK_COPY_SHORT", PROF_STACK_COPY_SHORT),
            ("SONDE_PROF_COUNTER_MAX", PROF_COUNTER_MAX),
        ] {
            assert_eq!(value(name), u64::from(ours), "{name}");
        }
        assert_eq!(value("SONDE_DIR_CONNECT"), u64::from(DIR_CONNECT));
        assert_eq!(value("SONDE_DIR_ACCEPT"), u64::from(DIR_ACCEPT));
        assert_eq!(value("SONDE_REPORT_INTERIM"), u64::from(REPORT_INTERIM));
        assert_eq!(value("SONDE_OWNER_NONE"), u64::from(OWNER_NONE));
        assert_eq!(value("SONDE_OWNER_IO"), u64::from(OWNER_IO));
        assert_eq!(
            value("SONDE_NET_CONNS_UNTRACKED"),
            u64::from(NET_CONNS_UNTRACKED)
        );
        assert_eq!(
            value("SONDE_NET_DROPS_SUPPRESSED"),
            u64::from(NET_DROPS_SUPPRESSED)
        );
        assert_eq!(
            value("SONDE_NET_DROP_REASONS_FULL"),
            u64::from(NET_DROP_REASONS_FULL)
        );
        assert_eq!(
            value("SONDE_NET_RESETS_SENT_UNTRACKED"),
            u64::from(NET_RESETS_SENT_UNTRACKED)
        );
        assert_eq!(
            value("SONDE_NET_UDP_FLOWS_UNTRACKED"),
            u64::from(NET_UDP_FLOWS_UNTRACKED)
        );
        assert_eq!(value("SONDE_NET_COUNTER_MAX"), u64::from(NET_COUNTER_MAX));
        assert_eq!(
            value("SONDE_EXEC_ARGS_TRUNCATED"),
            u64::from(EXEC_ARGS_TRUNCATED)
        );
        assert_eq!(
            value("SONDE_EXEC_CWD_TRUNCATED"),
            u64::from(EXEC_CWD_TRUNCATED)
        );
        assert_eq!(
            value("SONDE_EXEC_CGROUP_TRUNCATED"),
            u64::from(EXEC_CGROUP_TRUNCATED)
        );
        assert_eq!(
            value("SONDE_EXEC_FILENAME_TRUNCATED"),
            u64::from(EXEC_FILENAME_TRUNCATED)
        );
        assert_eq!(
            value("SONDE_EXEC_ARGS_UNREADABLE"),
            u64::from(EXEC_ARGS_UNREADABLE)
        );
    }
}
