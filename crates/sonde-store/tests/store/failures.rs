use std::fs;
use std::path::Path;
use std::time::Duration;

use redb::{Database, ReadableDatabase, TableDefinition, TableHandle};
use sonde_event::Timestamp;
use sonde_store::{EventStore, Query, RedbStore, Retention, StoreError};

use crate::common::*;
use crate::raw;

/// Bytes that look like nothing in particular.
fn garbage(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

fn open_err(dir: &Path) -> StoreError {
    match RedbStore::open(dir) {
        Ok(_) => panic!("opening {} should fail", dir.display()),
        Err(err) => err,
    }
}

#[test]
fn a_garbage_file_is_reported_corrupt_and_left_untouched() {
    for bytes in [garbage(64 * 1024), b"abc".to_vec()] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(RedbStore::FILE_NAME);
        fs::write(&file, &bytes).unwrap();

        let err = open_err(dir.path());

        assert!(
            matches!(err, StoreError::Corrupt { ref path, .. } if *path == file),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("is corrupt or not a sonde store"),
            "{message}"
        );
        assert!(
            message.contains("it was left untouched — move it aside"),
            "{message}"
        );
        assert!(
            fs::read(&file).unwrap() == bytes,
            "the file must not change"
        );
    }
}

/// redb's own open rewrites the header of a valid redb file, so the bytes may
/// change; the other program's data must not, and no sonde table is added.
#[test]
fn another_programs_redb_database_is_not_a_sonde_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(RedbStore::FILE_NAME);
    let settings: TableDefinition<&str, &str> = TableDefinition::new("settings");
    let db = Database::create(&file).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(settings)
        .unwrap()
        .insert("theme", "dark")
        .unwrap();
    txn.commit().unwrap();
    drop(db);

    let err = open_err(dir.path());

    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let db = Database::open(&file).unwrap();
    let txn = db.begin_read().unwrap();
    let tables: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(tables, ["settings"]);
    let theme = txn
        .open_table(settings)
        .unwrap()
        .get("theme")
        .unwrap()
        .unwrap()
        .value()
        .to_string();
    assert_eq!(theme, "dark");
}

#[test]
fn a_data_dir_that_is_a_regular_file_is_not_writable() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("data");
    fs::write(&not_a_dir, b"keep me").unwrap();

    let err = open_err(&not_a_dir);

    assert!(
        matches!(err, StoreError::NotWritable { ref dir, .. } if *dir == not_a_dir),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "data directory {} is not writable (",
            not_a_dir.display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with("choose another with --data-dir or fix its permissions"),
        "{message}"
    );
    assert_eq!(fs::read(&not_a_dir).unwrap(), b"keep me");
}

#[test]
fn a_missing_data_dir_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("var/lib/sonde");

    let store = open(&nested);

    assert_eq!(store.path(), nested.join("events.redb"));
    assert!(store.path().is_file());
    let leftovers: Vec<_> = fs::read_dir(&nested)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["events.redb"], "the write probe is removed");
}

#[test]
fn a_store_open_elsewhere_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());

    let err = open_err(dir.path());

    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
}

#[test]
fn undecodable_values_are_skipped_counted_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append(&[exec(T0, 10), exec(T0 + 2, 20)]).unwrap();
    let good = store.append(&[exec(T0 + 4, 30)]).unwrap().bytes as usize;
    drop(store);
    let mut future_version = vec![2];
    future_version.extend(garbage(good - 1));
    raw::insert_value(dir.path(), (T0 + 1, 1_000), &future_version);
    raw::insert_value(dir.path(), (T0 + 3, 1_001), &[1, 0xff, 0xff]);
    raw::insert_value(dir.path(), (T0 + 5, 1_002), &[]);

    let store = open(dir.path());
    let result = store.query(&Query::default()).unwrap();
    assert_eq!(pids(&result.events), [10, 20, 30]);
    assert_eq!(result.skipped_corrupt, 3);
    let last = store.query(&Query::last(1)).unwrap();
    assert_eq!((pids(&last.events), last.skipped_corrupt), (vec![30], 1));

    let everything = Retention {
        max_age: Some(Duration::ZERO),
        max_bytes: None,
    };
    let report = store
        .apply_retention(&everything, Timestamp(u64::MAX))
        .unwrap();
    assert_eq!((report.deleted_events, report.skipped_corrupt), (3, 3));
    let after = store.query(&Query::default()).unwrap();
    assert_eq!((after.events.len(), after.skipped_corrupt), (0, 3));
}
