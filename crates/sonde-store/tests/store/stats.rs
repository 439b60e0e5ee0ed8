use sonde_event::{EventKind, Timestamp};
use sonde_store::{EventStore, KindStats};

use crate::common::*;

#[test]
fn an_empty_store_has_no_events() {
    let dir = tempfile::tempdir().unwrap();
    let stats = open(dir.path()).stats().unwrap();

    assert_eq!(
        (stats.events, stats.bytes, stats.oldest, stats.newest),
        (0, 0, None, None)
    );
    assert!(stats.file_bytes > 0);
    assert!(stats
        .per_kind
        .iter()
        .all(|kind| kind.events == 0 && kind.bytes == 0));
}

#[test]
fn counts_each_kind_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let execs = [
        exec(T0 + 5, 10),
        realistic_exec(T0 + 1, 20),
        exec(T0 + 9, 30),
    ];
    let exits = [
        exit_of(T0 + 7, process(10, "/usr/bin/ls", &["ls"]), 0),
        exit_of(T0 + 3, process(20, "/bin/sh", &["sh"]), 1),
    ];

    let exec_bytes = store.append(&execs).unwrap().bytes;
    let exit_bytes = store.append(&exits).unwrap().bytes;

    let stats = store.stats().unwrap();
    // Every kind is listed, in order; only the two appended have events.
    let expected: Vec<KindStats> = EventKind::ALL
        .into_iter()
        .map(|kind| {
            let (events, bytes) = match kind {
                EventKind::ProcessExec => (3, exec_bytes),
                EventKind::ProcessExit => (2, exit_bytes),
                _ => (0, 0),
            };
            KindStats {
                kind,
                events,
                bytes,
            }
        })
        .collect();
    assert_eq!(stats.per_kind, expected);
    assert_eq!((stats.events, stats.bytes), (5, exec_bytes + exit_bytes));
    assert_eq!(
        (stats.oldest, stats.newest),
        (Some(Timestamp(T0 + 1)), Some(Timestamp(T0 + 9)))
    );
    let on_disk = std::fs::metadata(store.path()).unwrap().len();
    assert_eq!(stats.file_bytes, on_disk);
}
