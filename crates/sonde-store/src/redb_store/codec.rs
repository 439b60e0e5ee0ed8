//! The stored form of an event: one format-version byte, then postcard.

use sonde_event::Event;

/// Version of the value layout. A value with any other first byte is not
/// decoded. 2: exec ids packed as integers.
pub(super) const FORMAT_VERSION: u8 = 2;

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
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let (event, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use sonde_event::{
        Cgroup, Event, ExitStatus, Namespaces, Origin, Process, ProcessExit, Timestamp,
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
