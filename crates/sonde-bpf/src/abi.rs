//! Rust mirror of `bpf/abi.h`. Layouts are checked at compile time against
//! the types libbpf-cargo generated from the compiled object's BTF, so a
//! drift between the header and this file fails the build; the constants are
//! checked against the header's text by a unit test.

use std::mem::{offset_of, size_of};

use crate::skel::process::types as btf;

pub const ABI_VERSION: u16 = 1;
pub const PATH_MAX: usize = 4096;
pub const ARGS_MAX: usize = 32768;

pub const EVENT_EXEC: u16 = 1;
pub const EVENT_EXIT: u16 = 2;
pub const EVENT_FORK: u16 = 3;
/// One past the largest event type: the length of the kernel's `lost` array.
pub const EVENT_TYPE_MAX: u32 = 4;

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
    args_len = args_len
);
same_layout!(
    ExitEvent,
    btf::sonde_exit_event,
    hdr = hdr,
    task = task,
    exit_code = exit_code
);
same_layout!(ForkEvent, btf::sonde_fork_event, hdr = hdr, task = task);

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
                .find(|l| l.split_whitespace().any(|w| w == name))
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
        assert_eq!(value("SONDE_EVENT_TYPE_MAX"), u64::from(EVENT_TYPE_MAX));
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
