//! Direct access to the store file through redb, for what the store's own
//! interface rightly does not allow. The table definitions repeat the store's
//! on-disk layout on purpose: a change to it breaks these tests loudly.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};
use sonde_store::RedbStore;

const EVENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("events");
const PID_INDEX: TableDefinition<(u32, u64, u64), ()> = TableDefinition::new("events_by_pid");

fn database(dir: &Path) -> Database {
    Database::open(dir.join(RedbStore::FILE_NAME)).expect("open the store file with redb")
}

/// Stores `value` under `key` as is, bypassing encoding and totals.
pub fn insert_value(dir: &Path, key: (u64, u64), value: &[u8]) {
    let db = database(dir);
    let txn = db.begin_write().unwrap();
    txn.open_table(EVENTS).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

/// Entries in the pid index.
pub fn pid_index_len(dir: &Path) -> u64 {
    let db = database(dir);
    let txn = db.begin_read().unwrap();
    txn.open_table(PID_INDEX).unwrap().len().unwrap()
}
