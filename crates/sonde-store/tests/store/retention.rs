use std::time::Duration;

use sonde_event::{Event, Timestamp};
use sonde_store::{EventStore, Query, RedbStore, Retention, RetentionReport};

use crate::common::*;
use crate::raw;

/// Ten events one second apart, appended one by one; returns the value size
/// of each.
fn store_ten(store: &RedbStore) -> Vec<u64> {
    (0..10u64)
        .map(|i| store.append(&[event(i)]).unwrap().bytes)
        .collect()
}

/// Execs and exits alternate, with argv of varying length so sizes differ.
fn event(i: u64) -> Event {
    let pid = 1000 + i as u32;
    let arg = "x".repeat(i as usize * 7);
    let process = process(pid, "/usr/bin/echo", &["echo", &arg]);
    match i % 2 {
        0 => exec_of(T0 + i * SECOND, process),
        _ => exit_of(T0 + i * SECOND, process, 0),
    }
}

fn remaining_seconds(store: &RedbStore) -> Vec<u64> {
    offsets(&all(store))
        .into_iter()
        .map(|offset| offset / SECOND)
        .collect()
}

#[test]
fn deletes_events_older_than_max_age() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let sizes = store_ten(&store);
    let retention = Retention {
        max_age: Some(Duration::from_secs(4)),
        max_bytes: None,
    };

    let report = store
        .apply_retention(&retention, Timestamp(T0 + 10 * SECOND))
        .unwrap();

    let deleted_bytes: u64 = sizes[..6].iter().sum();
    assert_eq!(
        report,
        RetentionReport {
            deleted_events: 6,
            deleted_bytes,
            skipped_corrupt: 0
        }
    );
    assert_eq!(remaining_seconds(&store), [6, 7, 8, 9]);
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.events, stats.bytes),
        (4, sizes[6..].iter().sum::<u64>())
    );
    assert_eq!(stats.oldest, Some(Timestamp(T0 + 6 * SECOND)));
    let exec_stats = stats.per_kind[0];
    assert_eq!(
        (exec_stats.events, exec_stats.bytes),
        (2, sizes[6] + sizes[8])
    );
    let pid_1003 = Query {
        filter: sonde_event::EventFilter {
            pid: Some(1003),
            ..Default::default()
        },
        ..Query::default()
    };
    assert!(store.query(&pid_1003).unwrap().events.is_empty());
    drop(store);
    assert_eq!(
        raw::pid_index_len(dir.path()),
        4,
        "index entries go with their events"
    );
}

#[test]
fn deletes_oldest_events_until_the_bytes_fit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let sizes = store_ten(&store);
    let last_four: u64 = sizes[6..].iter().sum();

    let exact = Retention {
        max_age: None,
        max_bytes: Some(last_four),
    };
    let report = store.apply_retention(&exact, Timestamp(T0)).unwrap();
    assert_eq!(
        (report.deleted_events, report.deleted_bytes),
        (6, sizes[..6].iter().sum::<u64>())
    );
    assert_eq!(remaining_seconds(&store), [6, 7, 8, 9]);

    let one_byte_less = Retention {
        max_age: None,
        max_bytes: Some(last_four - 1),
    };
    let report = store
        .apply_retention(&one_byte_less, Timestamp(T0))
        .unwrap();
    assert_eq!((report.deleted_events, report.deleted_bytes), (1, sizes[6]));
    assert_eq!(remaining_seconds(&store), [7, 8, 9]);
    assert_eq!(store.stats().unwrap().bytes, sizes[7..].iter().sum::<u64>());
    drop(store);
    assert_eq!(raw::pid_index_len(dir.path()), 3);
}

#[test]
fn applies_age_then_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let sizes = store_ten(&store);
    let retention = Retention {
        max_age: Some(Duration::from_secs(8)),
        max_bytes: Some(sizes[8] + sizes[9]),
    };

    let report = store
        .apply_retention(&retention, Timestamp(T0 + 10 * SECOND))
        .unwrap();

    assert_eq!(report.deleted_events, 8);
    assert_eq!(remaining_seconds(&store), [8, 9]);
}

#[test]
fn keeps_everything_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let sizes = store_ten(&store);
    let generous = Retention {
        max_age: Some(Duration::from_secs(3600)),
        max_bytes: Some(sizes.iter().sum::<u64>()),
    };

    assert_eq!(
        store
            .apply_retention(&generous, Timestamp(T0 + 10 * SECOND))
            .unwrap(),
        RetentionReport::default()
    );
    assert_eq!(
        store
            .apply_retention(&Retention::default(), Timestamp(u64::MAX))
            .unwrap(),
        RetentionReport::default()
    );
    assert_eq!(store.stats().unwrap().events, 10);
}

#[test]
fn deletes_large_backlogs_in_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let events: Vec<Event> = (0..10_000)
        .map(|i| exec(T0 + i, 2 + (i % 500) as u32))
        .collect();
    store.append(&events).unwrap();
    let retention = Retention {
        max_age: Some(Duration::from_nanos(1)),
        max_bytes: None,
    };

    let report = store
        .apply_retention(&retention, Timestamp(T0 + 9_001))
        .unwrap();

    assert_eq!(report.deleted_events, 9_000);
    assert_eq!(store.stats().unwrap().events, 1_000);
    assert_eq!(offsets(&all(&store)).first(), Some(&9_000));
    drop(store);
    assert_eq!(raw::pid_index_len(dir.path()), 1_000);
}
