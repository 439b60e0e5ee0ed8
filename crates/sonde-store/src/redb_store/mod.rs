//! [`RedbStore`]: the [`EventStore`] kept in one redb file, `events.redb`, in
//! the data directory.
//!
//! Events are keyed by `(time_ns, seq)` so that a time range is one ordered
//! scan; a second table indexes them by pid, and a third keeps per-kind
//! totals so that [`EventStore::stats`] reads a few keys, not every event.
//! Every write is one fsync'd transaction that updates all of them together.

mod append;
mod codec;
mod open;
mod query;
mod retention;
mod schema;
mod stats;
mod totals;

use std::fs;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, WriteTransaction};
use sonde_event::{Event, Timestamp};

use crate::error::{StorageContext, StoreError};
use crate::{AppendReport, EventStore, Query, QueryResult, Retention, RetentionReport, StoreStats};

/// The event store in an embedded redb database.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl RedbStore {
    /// Name of the store file inside the data directory.
    pub const FILE_NAME: &'static str = "events.redb";

    /// Opens the store in `data_dir`, creating the directory and the store file
    /// if they are missing. A file that is not a sonde store is left untouched
    /// and reported as [`StoreError::Corrupt`].
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        open::ensure_writable_dir(data_dir)?;
        let path = data_dir.join(Self::FILE_NAME);
        let db = open::open_database(&path)?;
        open::ensure_schema(&db, &path)?;
        tracing::debug!(path = %path.display(), "opened the event store");
        Ok(RedbStore { db, path })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A write transaction that is on disk once its commit returns, and that
    /// keeps recovery after a crash quick.
    fn begin_write(&self, action: &'static str) -> Result<WriteTransaction, StoreError> {
        let mut txn = self.db.begin_write().during(action)?;
        txn.set_durability(Durability::Immediate).during(action)?;
        txn.set_quick_repair(true);
        Ok(txn)
    }
}

impl EventStore for RedbStore {
    fn append(&self, events: &[Event]) -> Result<AppendReport, StoreError> {
        if events.is_empty() {
            return Ok(AppendReport::default());
        }
        let txn = self.begin_write("append events")?;
        let bytes = append::append(&txn, events)?;
        txn.commit().during("commit appended events")?;
        Ok(AppendReport {
            events: events.len(),
            bytes,
        })
    }

    fn query(&self, query: &Query) -> Result<QueryResult, StoreError> {
        let txn = self.db.begin_read().during("read events")?;
        query::run(&txn, query)
    }

    fn apply_retention(
        &self,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<RetentionReport, StoreError> {
        let txn = self.begin_write("delete old events")?;
        let report = retention::apply(&txn, retention, now)?;
        if report.deleted_events == 0 {
            txn.abort().during("delete old events")?;
        } else {
            txn.commit().during("commit deleted events")?;
        }
        Ok(report)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let file_bytes = fs::metadata(&self.path)
            .during("read the store file's size")?
            .len();
        let txn = self.db.begin_read().during("read the store's statistics")?;
        stats::read(&txn, file_bytes)
    }
}
