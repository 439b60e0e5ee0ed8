//! The stored form of an event: one format-version byte, then postcard.

use sonde_event::Event;

/// Version of the value layout. A value with any other first byte is not
/// decoded. 2: exec ids packed as integers. 3: `Process::stdio`; a value of
/// format 2 still decodes, without it (`sonde_event::compat`).
pub(super) const FORMAT_VERSION: u8 = 3;

/// The format before `Process::stdio`.
const FORMAT_BEFORE_STDIO: u8 = 2;

/// Why a stored value could not be read back.
#[derive(Debug, thiserror::Error)]
pub(super) enum DecodeError {
    #[error("empty value")]
    Empty,
    #[error("unknown format version {0}")]
    UnknownVersion(u8),
    #[error("malformed event: {0}")]
    Malformed(#[from] postcard::Error),
    #[error("{0} unexpected bytes after the event")]
    TrailingBytes(usize),
}

pub(super) fn encode(event: &Event) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_extend(event, vec![FORMAT_VERSION])
}

pub(super) fn decode(value: &[u8]) -> Result<Event, DecodeError> {
    let (&version, body) = value.split_first().ok_or(DecodeError::Empty)?;
    let (event, rest) = match version {
        FORMAT_VERSION => postcard::take_from_bytes::<Event>(body)?,
        FORMAT_BEFORE_STDIO => {
            sonde_event::compat::before_stdio(|| postcard::take_from_bytes::<Event>(body))?
        }
        _ => return Err(DecodeError::UnknownVersion(version)),
    };
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use sonde_event::{
        Cgroup, Event, ExitStatus, Namespaces, Origin, Process, ProcessExit, Stdio, StdioFile,
        Timestamp,
    };

    use super::*;

    fn exit_event() -> Event {
        Event::ProcessExit(ProcessExit {
            time: Timestamp(1_700_000_000_000_000_000),
            process: Process {
                exec_id: "boot:42:7".into(),
                parent_exec_id: None,
                pid: 42,
                tid: 42,
                ppid: 1,
                uid: 0,
                gid: 0,
                euid: 0,
                egid: 0,
                comm: "true".into(),
                binary: "/usr/bin/true".into(),
                argv: vec!["true".into()],
                argv_truncated: false,
                cwd: "/".into(),
                start_time: Timestamp(1_699_999_999_000_000_000),
                cgroup: Cgroup {
                    id: 1,
                    path: "/".into(),
                },
                container: None,
                namespaces: Namespaces {
                    pid: 1,
                    mnt: 2,
                    net: 3,
                },
                tty: None,
                origin: Origin::Procfs,
                stdio: None,
            },
            status: ExitStatus::from_wait_status(0),
            duration_ns: 1_000_000_000,
        })
    }

    #[test]
    fn round_trips_behind_the_version_byte() {
        let value = encode(&exit_event()).unwrap();
        assert_eq!(value[0], FORMAT_VERSION);
        assert_eq!(decode(&value).unwrap(), exit_event());
    }

    /// `exit_event()` as format 2 (before `stdio`) wrote it.
    const FORMAT_2_EXIT: &str = "02018080a8b1e39fe7cb170109626f6f743a34323a37002a2a010000000004747275650d2f7573722f62696e2f7472756501047472756500012f80ecbcd4df9fe7cb1701012f000102030002010000008094ebdc03";

    #[test]
    fn reads_format_2_without_stdio() {
        let value: Vec<u8> = (0..FORMAT_2_EXIT.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&FORMAT_2_EXIT[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(decode(&value).unwrap(), exit_event());
        // And the same value with stdio, in today's format, round-trips.
        let mut with_stdio = exit_event();
        let Event::ProcessExit(e) = &mut with_stdio else {
            unreachable!()
        };
        let pipe = StdioFile::new(0o010600, 0, 0);
        e.process.stdio = Some(Stdio {
            stdin: StdioFile::new(0o140777, 10, 0),
            stdout: pipe,
            stderr: pipe,
        });
        assert_eq!(decode(&encode(&with_stdio).unwrap()).unwrap(), with_stdio);
    }

    #[test]
    fn rejects_what_it_did_not_write() {
        let value = encode(&exit_event()).unwrap();
        let mut other_version = value.clone();
        other_version[0] = FORMAT_VERSION + 1;
        let mut trailing = value.clone();
        trailing.push(0);

        assert!(matches!(decode(&[]), Err(DecodeError::Empty)));
        assert!(matches!(
            decode(&other_version),
            Err(DecodeError::UnknownVersion(v)) if v == FORMAT_VERSION + 1
        ));
        assert!(matches!(
            decode(&value[..value.len() - 3]),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        ));
    }
}
