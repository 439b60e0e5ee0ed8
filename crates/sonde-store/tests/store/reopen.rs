use sonde_event::EventKind;
use sonde_store::EventStore;

use crate::common::*;

#[test]
fn reopening_keeps_events_stats_and_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ls = process(100, "/usr/bin/ls", &["ls"]);
    let first = vec![
        exec_of(T0, ls.clone()),
        exec(T0, 7),
        exit_of(T0 + SECOND, ls, 0),
    ];
    store.append(&first).unwrap();
    let before = store.stats().unwrap();
    drop(store);

    let store = open(dir.path());
    let after = store.stats().unwrap();
    assert_eq!(all(&store), first);
    assert_eq!(
        (after.events, after.bytes, after.oldest, after.newest),
        (3, before.bytes, before.oldest, before.newest)
    );
    assert_eq!(after.per_kind, before.per_kind);
    assert_eq!(after.per_kind[0].kind, EventKind::ProcessExec);
    assert_eq!(after.per_kind[0].events, 2);

    // Same nanosecond as the first events: sorts after them only if the
    // sequence continued from where the last session left it.
    store.append(&[exec(T0, 1)]).unwrap();
    assert_eq!(pids(&all(&store)), [100, 7, 1, 100]);
    assert_eq!(store.stats().unwrap().events, 4);
}
