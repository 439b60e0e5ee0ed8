use sonde_event::EventKind;
use sonde_store::{AppendReport, EventStore};

use crate::common::*;

#[test]
fn exec_and_exit_events_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let shell = in_container(
        process(4242, "/usr/bin/bash", &["bash", "-l"]),
        CONTAINER_ID,
    );
    let events = vec![
        exec_of(T0 + SECOND, shell.clone()),
        realistic_exec(T0 + 2 * SECOND, 5000),
        exit_of(T0 + 3 * SECOND, shell, 130),
    ];

    let report = store.append(&events).unwrap();

    assert_eq!(report.events, 3);
    assert_eq!(report.bytes, store.stats().unwrap().bytes);
    assert_eq!(all(&store), events);
    let kinds: Vec<EventKind> = all(&store).iter().map(|event| event.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ProcessExec,
            EventKind::ProcessExec,
            EventKind::ProcessExit
        ]
    );
}

#[test]
fn ties_keep_append_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    store.append(&[exec(T0, 30), exec(T0, 10)]).unwrap();
    store.append(&[exec(T0, 20), exec(T0 - 1, 99)]).unwrap();

    assert_eq!(pids(&all(&store)), [99, 30, 10, 20]);
}

#[test]
fn appending_nothing_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    assert_eq!(store.append(&[]).unwrap(), AppendReport::default());
    assert_eq!(store.stats().unwrap().events, 0);
}
