//! Turns ring-buffer records into typed views, checking every length the
//! kernel gave before trusting it.

use std::mem::size_of;

use crate::abi::{
    DataEvent, DropEvent, EnforceEvent, EventHeader, ExecEvent, ExitEvent, ForkEvent, SampleEvent,
    TcpEvent, ABI_VERSION, EVENT_DATA, EVENT_DROP, EVENT_ENFORCE, EVENT_EXEC, EVENT_EXIT,
    EVENT_FORK, EVENT_SAMPLE, EVENT_TCP, STACK_COPY, STACK_DEPTH,
};
use crate::abi::{FileEvent, SecurityEvent, EVENT_FILE, EVENT_SECURITY};
use crate::abi::{ListenEvent, EVENT_LISTEN};

/// One decoded record, borrowing its strings from the ring buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    Exec(ExecRecord<'a>),
    Exit(ExitEvent),
    Fork(ForkEvent),
    Tcp(TcpEvent),
    Drop(DropEvent),
    Data(DataRecord<'a>),
    Sample(SampleRecord<'a>),
    File(FileRecord<'a>),
    Security(SecurityRecord<'a>),
    /// An enforcement (or a dry run of one); fixed size.
    Enforce(EnforceEvent),
    /// A TCP socket started or stopped listening; fixed size.
    Listen(ListenEvent),
}

/// One CPU sample: its stacks as the kernel unwound them, and the copied
/// top of the user stack (empty unless the profiler asked for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRecord<'a> {
    pub event: SampleEvent,
    kernel: &'a [u8],
    user: &'a [u8],
    /// User stack bytes from `event.user_sp` upwards.
    pub stack: &'a [u8],
}

impl SampleRecord<'_> {
    /// Kernel addresses, the sampled one first.
    pub fn kernel_stack(&self) -> impl Iterator<Item = u64> + '_ {
        addresses(self.kernel)
    }

    /// User addresses (frame-pointer unwound), the sampled one first.
    pub fn user_stack(&self) -> impl Iterator<Item = u64> + '_ {
        addresses(self.user)
    }
}

fn addresses(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default()))
}

/// What one socket or OpenSSL call moved, with the bytes that were copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataRecord<'a> {
    pub event: DataEvent,
    /// The first `event.captured` of the `event.len` bytes the call moved.
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecRecord<'a> {
    pub event: ExecEvent,
    pub filename: &'a [u8],
    pub cwd: &'a [u8],
    pub cgroup: &'a [u8],
    /// NUL-separated, as in /proc/PID/cmdline.
    pub args: &'a [u8],
}

/// Why a record could not be decoded; each is counted by the agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("record has ABI version {0}, this sonde speaks {ABI_VERSION}")]
    Version(u16),
    #[error("record says it is {declared} bytes but {actual} arrived")]
    Size { declared: u32, actual: usize },
    #[error("unknown record type {0}")]
    UnknownType(u16),
    #[error("record's variable-length part overruns the record")]
    Overrun,
}

impl DecodeError {
    /// Short stable name, used as a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Short(_) => "short",
            DecodeError::Version(_) => "version",
            DecodeError::Size { .. } => "size",
            DecodeError::UnknownType(_) => "unknown_type",
            DecodeError::Overrun => "overrun",
        }
    }
}

/// Decodes one ring-buffer record.
pub fn decode(bytes: &[u8]) -> Result<Record<'_>, DecodeError> {
    let hdr: EventHeader = read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    if hdr.version != ABI_VERSION {
        return Err(DecodeError::Version(hdr.version));
    }
    // The ring buffer may pad a record; it never shortens one.
    if (hdr.size as usize) > bytes.len() {
        return Err(DecodeError::Size {
            declared: hdr.size,
            actual: bytes.len(),
        });
    }
    let bytes = &bytes[..hdr.size as usize];
    match hdr.kind {
        EVENT_EXEC => decode_exec(bytes).map(Record::Exec),
        EVENT_EXIT => read(bytes)
            .map(Record::Exit)
            .ok_or(DecodeError::Short(bytes.len())),
        EVENT_FORK => read(bytes)
            .map(Record::Fork)
            .ok_or(DecodeError::Short(bytes.len())),
        EVENT_TCP => read(bytes)
            .map(Record::Tcp)
            .ok_or(DecodeError::Short(bytes.len())),
        EVENT_DROP => read(bytes)
            .map(Record::Drop)
            .ok_or(DecodeError::Short(bytes.len())),
        EVENT_DATA => decode_data(bytes).map(Record::Data),
        EVENT_SAMPLE => decode_sample(bytes).map(Record::Sample),
        EVENT_FILE => decode_file(bytes).map(Record::File),
        EVENT_SECURITY => decode_security(bytes).map(Record::Security),
        EVENT_ENFORCE => read(bytes)
            .map(Record::Enforce)
            .ok_or(DecodeError::Short(bytes.len())),
        EVENT_LISTEN => read(bytes)
            .map(Record::Listen)
            .ok_or(DecodeError::Short(bytes.len())),
        other => Err(DecodeError::UnknownType(other)),
    }
}

fn decode_exec(bytes: &[u8]) -> Result<ExecRecord<'_>, DecodeError> {
    let event: ExecEvent = read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    let mut rest = &bytes[size_of::<ExecEvent>()..];
    let mut take = |len: usize| -> Result<&[u8], DecodeError> {
        let (head, tail) = rest.split_at_checked(len).ok_or(DecodeError::Overrun)?;
        rest = tail;
        Ok(head)
    };
    Ok(ExecRecord {
        filename: take(event.filename_len.into())?,
        cwd: take(event.cwd_len.into())?,
        cgroup: take(event.cgroup_len.into())?,
        args: take(event.args_len as usize)?,
        event,
    })
}

/// A file operation on a watched path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRecord<'a> {
    pub event: FileEvent,
    pub path: &'a [u8],
    /// The rename target; empty for other operations.
    pub path2: &'a [u8],
}

/// A security operation with its (up to three) strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityRecord<'a> {
    pub event: SecurityEvent,
    pub strings: [&'a [u8]; 3],
}

fn decode_file(bytes: &[u8]) -> Result<FileRecord<'_>, DecodeError> {
    let event: FileEvent = read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    let rest = &bytes[size_of::<FileEvent>()..];
    let (path, rest) = rest
        .split_at_checked(event.path_len.into())
        .ok_or(DecodeError::Overrun)?;
    let path2 = rest
        .get(..event.path2_len.into())
        .ok_or(DecodeError::Overrun)?;
    Ok(FileRecord { event, path, path2 })
}

fn decode_security(bytes: &[u8]) -> Result<SecurityRecord<'_>, DecodeError> {
    let event: SecurityEvent = read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    let mut rest = &bytes[size_of::<SecurityEvent>()..];
    let mut strings: [&[u8]; 3] = [&[]; 3];
    for (s, len) in strings.iter_mut().zip(event.str_len) {
        let (head, tail) = rest
            .split_at_checked(len.into())
            .ok_or(DecodeError::Overrun)?;
        (*s, rest) = (head, tail);
    }
    Ok(SecurityRecord { event, strings })
}

fn decode_data(bytes: &[u8]) -> Result<DataRecord<'_>, DecodeError> {
    let event: DataEvent = read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    let data = bytes[size_of::<DataEvent>()..]
        .get(..event.captured as usize)
        .ok_or(DecodeError::Overrun)?;
    if event.captured > event.len {
        return Err(DecodeError::Overrun);
    }
    Ok(DataRecord { event, data })
}

fn decode_sample(bytes: &[u8]) -> Result<SampleRecord<'_>, DecodeError> {
    let event: SampleEvent = read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    let (kernel_len, user_len) = (usize::from(event.kstack_len), usize::from(event.ustack_len));
    if kernel_len > STACK_DEPTH || user_len > STACK_DEPTH || event.stack_len as usize > STACK_COPY {
        return Err(DecodeError::Overrun);
    }
    let rest = &bytes[size_of::<SampleEvent>()..];
    let (kernel, rest) = rest
        .split_at_checked(kernel_len * 8)
        .ok_or(DecodeError::Overrun)?;
    let (user, rest) = rest
        .split_at_checked(user_len * 8)
        .ok_or(DecodeError::Overrun)?;
    let stack = rest
        .get(..event.stack_len as usize)
        .ok_or(DecodeError::Overrun)?;
    Ok(SampleRecord {
        event,
        kernel,
        user,
        stack,
    })
}

/// Copies a plain-old-data ABI struct out of the front of `bytes` (also map
/// keys and values read from user space).
pub fn read<T: Copy>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: the length is checked above; T is one of the #[repr(C)] ABI
    // structs, made only of integers and byte arrays, so every bit pattern is
    // a valid value; read_unaligned makes no alignment assumption.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The bytes of a plain-old-data ABI struct (for building test records).
pub fn bytes_of<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: T is a #[repr(C)] ABI struct of integers with explicit padding
    // fields, so all of its bytes are initialised.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{Stdio, Task};

    fn exec_record(filename: &[u8], cwd: &[u8], cgroup: &[u8], args: &[u8]) -> Vec<u8> {
        let size = size_of::<ExecEvent>() + filename.len() + cwd.len() + cgroup.len() + args.len();
        let event = ExecEvent {
            hdr: EventHeader {
                kind: EVENT_EXEC,
                version: ABI_VERSION,
                size: size as u32,
                ktime_ns: 5,
            },
            task: Task {
                pid: 10,
                tid: 10,
                ppid: 1,
                ..Task::default()
            },
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            cgroup_id: 1,
            pid_ns: 1,
            mnt_ns: 2,
            net_ns: 3,
            flags: 0,
            comm: [0; 16],
            tty: [0; 64],
            filename_len: filename.len() as u16,
            cwd_len: cwd.len() as u16,
            cgroup_len: cgroup.len() as u16,
            _pad: 0,
            args_len: args.len() as u32,
            _pad2: 0,
            stdio: [Stdio::default(); 3],
        };
        let mut out = bytes_of(&event).to_vec();
        for part in [filename, cwd, cgroup, args] {
            out.extend_from_slice(part);
        }
        out
    }

    #[test]
    fn decodes_exec_strings_in_order() {
        let bytes = exec_record(b"/bin/sh", b"/tmp", b"/", b"sh\0-c\0exit 7\0");
        let Record::Exec(rec) = decode(&bytes).unwrap() else {
            panic!("not exec")
        };
        assert_eq!(rec.filename, b"/bin/sh");
        assert_eq!(rec.cwd, b"/tmp");
        assert_eq!(rec.cgroup, b"/");
        assert_eq!(rec.args, b"sh\0-c\0exit 7\0");
        assert_eq!(rec.event.task.pid, 10);
    }

    #[test]
    fn decodes_exec_stdio() {
        let mut bytes = exec_record(b"/bin/sh", b"/", b"/", b"sh\0");
        let stdio = std::mem::offset_of!(ExecEvent, stdio);
        // stdin a TCP socket (S_IFSOCK | 0777, AF_INET), stdout a pipe,
        // stderr /dev/pts/3 (S_IFCHR | 0620, 136:3).
        for (i, (mode, family, rdev)) in [
            (0o140777u16, 2u16, 0u32),
            (0o010600, 0, 0),
            (0o020620, 0, 136 << 20 | 3),
        ]
        .into_iter()
        .enumerate()
        {
            let at = stdio + i * size_of::<Stdio>();
            bytes[at..at + 2].copy_from_slice(&mode.to_ne_bytes());
            bytes[at + 2..at + 4].copy_from_slice(&family.to_ne_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&rdev.to_ne_bytes());
        }
        let Record::Exec(rec) = decode(&bytes).unwrap() else {
            panic!("not exec")
        };
        assert_eq!(
            rec.event.stdio,
            [
                Stdio {
                    mode: 0o140777,
                    family: 2,
                    rdev: 0
                },
                Stdio {
                    mode: 0o010600,
                    family: 0,
                    rdev: 0
                },
                Stdio {
                    mode: 0o020620,
                    family: 0,
                    rdev: 136 << 20 | 3
                },
            ]
        );
        assert_eq!(rec.filename, b"/bin/sh");
        assert_eq!(rec.args, b"sh\0");
    }

    #[test]
    fn ring_buffer_padding_is_ignored() {
        let mut bytes = exec_record(b"/bin/true", b"/", b"/", b"true\0");
        bytes.extend_from_slice(&[0xAA; 3]);
        assert!(matches!(decode(&bytes), Ok(Record::Exec(r)) if r.args == b"true\0"));
    }

    #[test]
    fn rejects_malformed_records() {
        assert_eq!(decode(&[1, 2, 3]), Err(DecodeError::Short(3)));

        let good = exec_record(b"/bin/sh", b"/", b"/", b"sh\0");
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(DecodeError::Size { .. })
        ));

        let mut wrong_version = good.clone();
        wrong_version[2] = 9;
        assert_eq!(decode(&wrong_version), Err(DecodeError::Version(9)));

        let mut unknown = good.clone();
        unknown[0] = 77;
        assert_eq!(decode(&unknown), Err(DecodeError::UnknownType(77)));

        // args_len claims more bytes than the record holds.
        let mut overrun = good.clone();
        let args_len = std::mem::offset_of!(ExecEvent, args_len);
        overrun[args_len..args_len + 4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(decode(&overrun), Err(DecodeError::Overrun));
    }

    fn sample_record(kernel: &[u64], user: &[u64], stack: &[u8]) -> Vec<u8> {
        let size = size_of::<SampleEvent>() + 8 * (kernel.len() + user.len()) + stack.len();
        let event = SampleEvent {
            hdr: EventHeader {
                kind: EVENT_SAMPLE,
                version: ABI_VERSION,
                size: size as u32,
                ktime_ns: 5,
            },
            pid: 42,
            kstack_len: kernel.len() as u16,
            ustack_len: user.len() as u16,
            stack_len: stack.len() as u32,
            ..Default::default()
        };
        let mut out = bytes_of(&event).to_vec();
        for a in kernel.iter().chain(user) {
            out.extend_from_slice(&a.to_ne_bytes());
        }
        out.extend_from_slice(stack);
        out
    }

    #[test]
    fn decodes_a_sample_s_stacks_and_stack_copy() {
        let bytes = sample_record(
            &[0xffff_8001, 0xffff_8002],
            &[0x401000, 0x402000, 0x7f00],
            b"stack",
        );
        let Record::Sample(rec) = decode(&bytes).unwrap() else {
            panic!("not a sample")
        };
        assert_eq!(rec.event.pid, 42);
        assert_eq!(
            rec.kernel_stack().collect::<Vec<_>>(),
            [0xffff_8001, 0xffff_8002]
        );
        assert_eq!(
            rec.user_stack().collect::<Vec<_>>(),
            [0x401000, 0x402000, 0x7f00]
        );
        assert_eq!(rec.stack, b"stack");
    }

    #[test]
    fn decodes_an_enforce_record_and_rejects_a_short_one() {
        use crate::abi::{EnforceEvent, ENFORCE_KILL, ENFORCE_PATH_MAX};
        let size = size_of::<EnforceEvent>();
        let event = EnforceEvent {
            hdr: EventHeader {
                kind: EVENT_ENFORCE,
                version: ABI_VERSION,
                size: size as u32,
                ktime_ns: 7,
            },
            task: Task {
                pid: 9,
                ..Task::default()
            },
            cgroup_id: 1,
            rule_id: 3,
            action: ENFORCE_KILL,
            flags: 0,
            dport: 0,
            daddr: [0; 16],
            family: 0,
            _pad: 0,
            error: 0,
            comm: [0; 16],
            binary: [0; ENFORCE_PATH_MAX],
        };
        let bytes = bytes_of(&event).to_vec();
        assert_eq!(decode(&bytes), Ok(Record::Enforce(event)));
        // A record that says it is shorter than the struct is refused.
        let mut short = bytes.clone();
        short[4..8].copy_from_slice(&32u32.to_ne_bytes());
        assert_eq!(decode(&short), Err(DecodeError::Short(32)));
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn a_sample_whose_lengths_overrun_it_is_rejected() {
        let mut bytes = sample_record(&[1], &[2], b"");
        let at = std::mem::offset_of!(SampleEvent, ustack_len);
        bytes[at..at + 2].copy_from_slice(&5u16.to_ne_bytes());
        assert_eq!(decode(&bytes), Err(DecodeError::Overrun));
        bytes[at..at + 2].copy_from_slice(&500u16.to_ne_bytes());
        assert_eq!(decode(&bytes), Err(DecodeError::Overrun));
        let good = sample_record(&[1, 2], &[3], b"abc");
        for len in 0..good.len() {
            assert!(decode(&good[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn every_truncation_of_a_record_is_an_error_not_a_panic() {
        let good = exec_record(b"/usr/bin/env", b"/home", b"/user.slice", b"env\0x=1\0");
        for len in 0..good.len() {
            assert!(decode(&good[..len]).is_err(), "len {len}");
        }
    }

    fn file_record(path: &[u8], path2: &[u8]) -> Vec<u8> {
        let mut ev: crate::abi::FileEvent = unsafe_zeroed();
        ev.hdr.kind = EVENT_FILE;
        ev.hdr.version = ABI_VERSION;
        ev.path_len = path.len() as u16;
        ev.path2_len = path2.len() as u16;
        ev.result = -2;
        let mut bytes = bytes_of(&ev).to_vec();
        bytes.extend_from_slice(path);
        bytes.extend_from_slice(path2);
        let size = bytes.len() as u32;
        bytes[4..8].copy_from_slice(&size.to_ne_bytes());
        bytes
    }

    /// A zeroed ABI struct (all-integer, so zero is a valid value).
    fn unsafe_zeroed<T: Copy>() -> T {
        read(&vec![0u8; size_of::<T>()]).unwrap()
    }

    #[test]
    fn decodes_a_file_record_s_two_paths() {
        let bytes = file_record(b"/etc/a", b"/etc/b");
        let Record::File(rec) = decode(&bytes).unwrap() else {
            panic!("not a file record")
        };
        assert_eq!((rec.path, rec.path2), (&b"/etc/a"[..], &b"/etc/b"[..]));
        assert_eq!(rec.event.result, -2);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn decodes_a_security_record_s_strings_and_rejects_overruns() {
        let mut ev: crate::abi::SecurityEvent = unsafe_zeroed();
        ev.hdr.kind = EVENT_SECURITY;
        ev.hdr.version = ABI_VERSION;
        ev.str_len = [4, 0, 5];
        let mut bytes = bytes_of(&ev).to_vec();
        bytes.extend_from_slice(b"nonetmpfs");
        let size = bytes.len() as u32;
        bytes[4..8].copy_from_slice(&size.to_ne_bytes());
        let Record::Security(rec) = decode(&bytes).unwrap() else {
            panic!("not a security record")
        };
        assert_eq!(rec.strings, [&b"none"[..], &b""[..], &b"tmpfs"[..]]);
        ev.str_len = [4, 0, 6];
        let mut bad = bytes_of(&ev).to_vec();
        bad.extend_from_slice(b"nonetmpfs");
        let size = bad.len() as u32;
        bad[4..8].copy_from_slice(&size.to_ne_bytes());
        assert_eq!(decode(&bad), Err(DecodeError::Overrun));
    }

    #[test]
    fn decodes_a_listen_record_and_rejects_a_short_one() {
        use crate::abi::{Owner, LISTEN_CLOSED, LISTEN_OPEN};
        let mut addr = [0u8; 16];
        addr[10..].copy_from_slice(&[0xff, 0xff, 127, 0, 0, 1]);
        let event = ListenEvent {
            hdr: EventHeader {
                kind: EVENT_LISTEN,
                version: ABI_VERSION,
                size: size_of::<ListenEvent>() as u32,
                ktime_ns: 11,
            },
            owner: Owner {
                pid: 4242,
                from: 2,
                start_ns: 99,
                comm: *b"python3\0\0\0\0\0\0\0\0\0",
            },
            addr,
            port: 8080,
            family: 2,
            netns: 4026531840,
            backlog: 128,
            state: LISTEN_OPEN,
            _pad: [0; 3],
        };
        let bytes = bytes_of(&event).to_vec();
        assert_eq!(decode(&bytes), Ok(Record::Listen(event)));
        let closed = ListenEvent {
            state: LISTEN_CLOSED,
            ..event
        };
        assert_eq!(decode(bytes_of(&closed)), Ok(Record::Listen(closed)));
        // A record that says it is shorter than the struct is refused.
        let mut short = bytes.clone();
        short[4..8].copy_from_slice(&16u32.to_ne_bytes());
        assert_eq!(decode(&short), Err(DecodeError::Short(16)));
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "len {len}");
        }
    }
}
