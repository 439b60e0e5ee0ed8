use sonde_event::{Event, EventFilter, EventKind, Timestamp};
use sonde_store::{EventStore, Query, RedbStore};

use crate::common::*;

/// Ten events one second apart: execs and exits of `ls`, `curl` and `nginx`
/// processes, `nginx` in a container.
fn mixed_events() -> Vec<Event> {
    let ls = process(100, "/usr/bin/ls", &["ls", "-la"]);
    let curl = process(200, "/usr/bin/curl", &["curl", "-s", "https://example.com"]);
    let nginx = in_container(
        process(300, "/usr/sbin/nginx", &["nginx", "-g", "daemon off;"]),
        CONTAINER_ID,
    );
    vec![
        exec_of(T0, ls.clone()),
        exec_of(T0 + SECOND, curl.clone()),
        exit_of(T0 + 2 * SECOND, ls, 0),
        exec_of(T0 + 3 * SECOND, nginx.clone()),
        exec_of(T0 + 4 * SECOND, process(101, "/usr/bin/ls", &["ls"])),
        exit_of(T0 + 5 * SECOND, curl, 6),
        exit_of(T0 + 6 * SECOND, process(101, "/usr/bin/ls", &["ls"]), 0),
        exec_of(
            T0 + 7 * SECOND,
            process(200, "/usr/bin/curl", &["curl", "-I", "x"]),
        ),
        exit_of(T0 + 8 * SECOND, nginx, 0),
        exit_of(
            T0 + 9 * SECOND,
            process(200, "/usr/bin/curl", &["curl", "-I", "x"]),
            0,
        ),
    ]
}

fn store_with(events: &[Event]) -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append(events).unwrap();
    (dir, store)
}

fn seconds(store: &RedbStore, query: Query) -> Vec<u64> {
    let result = store.query(&query).unwrap();
    assert_eq!(result.skipped_corrupt, 0);
    offsets(&result.events)
        .into_iter()
        .map(|offset| offset / SECOND)
        .collect()
}

fn filtered(filter: EventFilter) -> Query {
    Query {
        filter,
        ..Query::default()
    }
}

fn at(second: u64) -> Option<Timestamp> {
    Some(Timestamp(T0 + second * SECOND))
}

#[test]
fn time_range_includes_since_and_excludes_until() {
    let (_dir, store) = store_with(&mixed_events());

    assert_eq!(
        seconds(
            &store,
            Query {
                since: at(3),
                until: at(7),
                ..Query::default()
            }
        ),
        [3, 4, 5, 6]
    );
    assert_eq!(
        seconds(
            &store,
            Query {
                since: at(8),
                ..Query::default()
            }
        ),
        [8, 9]
    );
    assert_eq!(
        seconds(
            &store,
            Query {
                until: at(2),
                ..Query::default()
            }
        ),
        [0, 1]
    );
    assert_eq!(
        seconds(
            &store,
            Query {
                since: at(5),
                until: at(5),
                ..Query::default()
            }
        ),
        [] as [u64; 0]
    );
    assert_eq!(
        seconds(
            &store,
            Query {
                since: at(6),
                until: at(5),
                ..Query::default()
            }
        ),
        [] as [u64; 0]
    );
}

#[test]
fn filters_by_kind() {
    let (_dir, store) = store_with(&mixed_events());

    let exits = EventFilter {
        kinds: vec![EventKind::ProcessExit],
        ..EventFilter::default()
    };
    assert_eq!(seconds(&store, filtered(exits)), [2, 5, 6, 8, 9]);
    let both = EventFilter {
        kinds: EventKind::ALL.to_vec(),
        ..EventFilter::default()
    };
    assert_eq!(seconds(&store, filtered(both)).len(), 10);
}

#[test]
fn filters_by_pid_within_a_time_range() {
    let (_dir, store) = store_with(&mixed_events());
    let pid = |pid| EventFilter {
        pid: Some(pid),
        ..EventFilter::default()
    };

    assert_eq!(seconds(&store, filtered(pid(200))), [1, 5, 7, 9]);
    assert_eq!(
        seconds(
            &store,
            Query {
                since: at(2),
                until: at(9),
                ..filtered(pid(200))
            }
        ),
        [5, 7]
    );
    assert_eq!(seconds(&store, filtered(pid(u32::MAX))), [] as [u64; 0]);
}

#[test]
fn filters_by_binary_path_or_file_name() {
    let (_dir, store) = store_with(&mixed_events());
    let binary = |name: &str| EventFilter {
        binary: Some(name.into()),
        ..EventFilter::default()
    };

    assert_eq!(
        seconds(&store, filtered(binary("/usr/bin/ls"))),
        [0, 2, 4, 6]
    );
    assert_eq!(seconds(&store, filtered(binary("nginx"))), [3, 8]);
}

#[test]
fn filters_by_comm() {
    let (_dir, store) = store_with(&mixed_events());
    let comm = EventFilter {
        comm: Some("curl".into()),
        ..EventFilter::default()
    };

    assert_eq!(seconds(&store, filtered(comm)), [1, 5, 7, 9]);
}

#[test]
fn filters_by_container_id_prefix() {
    let (_dir, store) = store_with(&mixed_events());
    let container = |prefix: &str| EventFilter {
        container: Some(prefix.into()),
        ..EventFilter::default()
    };

    assert_eq!(
        seconds(&store, filtered(container(&CONTAINER_ID[..12]))),
        [3, 8]
    );
    assert_eq!(seconds(&store, filtered(container("ffff"))), [] as [u64; 0]);
}

#[test]
fn filters_by_exec_id() {
    let (_dir, store) = store_with(&mixed_events());
    let exec_id = EventFilter {
        exec_id: Some(exec_id(101)),
        ..EventFilter::default()
    };

    assert_eq!(seconds(&store, filtered(exec_id)), [4, 6]);
}

#[test]
fn limit_keeps_the_first_and_tail_the_last_in_ascending_order() {
    let (_dir, store) = store_with(&mixed_events());

    assert_eq!(
        seconds(
            &store,
            Query {
                limit: Some(3),
                ..Query::default()
            }
        ),
        [0, 1, 2]
    );
    assert_eq!(seconds(&store, Query::last(3)), [7, 8, 9]);
    assert_eq!(seconds(&store, Query::last(50)).len(), 10);
    assert_eq!(
        seconds(
            &store,
            Query {
                limit: Some(0),
                ..Query::default()
            }
        ),
        [] as [u64; 0]
    );
    let in_range = Query {
        since: at(2),
        until: at(8),
        ..Query::last(2)
    };
    assert_eq!(seconds(&store, in_range), [6, 7]);
}

#[test]
fn limit_and_tail_apply_after_the_filter() {
    let (_dir, store) = store_with(&mixed_events());
    let curl = EventFilter {
        pid: Some(200),
        ..EventFilter::default()
    };
    let exits = EventFilter {
        kinds: vec![EventKind::ProcessExit],
        ..EventFilter::default()
    };

    assert_eq!(
        seconds(
            &store,
            Query {
                filter: curl.clone(),
                ..Query::last(2)
            }
        ),
        [7, 9]
    );
    assert_eq!(
        seconds(
            &store,
            Query {
                filter: curl,
                limit: Some(2),
                ..Query::default()
            }
        ),
        [1, 5]
    );
    assert_eq!(
        seconds(
            &store,
            Query {
                filter: exits,
                ..Query::last(2)
            }
        ),
        [8, 9]
    );
}

#[test]
fn tail_keeps_append_order_among_ties() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append(&[exec(T0, 1), exec(T0, 2), exec(T0, 3), exec(T0, 4)])
        .unwrap();

    assert_eq!(pids(&store.query(&Query::last(2)).unwrap().events), [3, 4]);
}
