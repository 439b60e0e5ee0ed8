//! The tables of the store file and how their keys are laid out.

use redb::{ReadableTable, StorageError, Table, TableDefinition, TableError, WriteTransaction};

/// `(time_ns, seq)`: time order, and append order among events of the same
/// nanosecond.
pub(super) type EventKey = (u64, u64);

/// `(pid, time_ns, seq)`: one pid's event keys, in time order.
pub(super) type PidKey = (u32, u64, u64);

/// Every event: key → one format-version byte + postcard(`Event`).
pub(super) const EVENTS: TableDefinition<EventKey, &[u8]> = TableDefinition::new("events");

/// Secondary index of [`EVENTS`] by pid.
pub(super) const PID_INDEX: TableDefinition<PidKey, ()> = TableDefinition::new("events_by_pid");

/// Event kind name (`EventKind::as_str`) → (events, value bytes) of that kind.
pub(super) const KIND_TOTALS: TableDefinition<&str, (u64, u64)> =
    TableDefinition::new("kind_totals");

/// Named counters of the store.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// [`META`] key of the sequence number the next appended event gets.
const NEXT_SEQ: &str = "next_seq";

pub(super) fn pid_key(pid: u32, (time_ns, seq): EventKey) -> PidKey {
    (pid, time_ns, seq)
}

/// Every table, opened for writing in one transaction.
pub(super) struct WriteTables<'txn> {
    pub events: Table<'txn, EventKey, &'static [u8]>,
    pub pid_index: Table<'txn, PidKey, ()>,
    pub kind_totals: Table<'txn, &'static str, (u64, u64)>,
    meta: Table<'txn, &'static str, u64>,
}

impl<'txn> WriteTables<'txn> {
    /// Opens every table, creating those that do not exist yet.
    pub fn open(txn: &'txn WriteTransaction) -> Result<Self, TableError> {
        Ok(WriteTables {
            events: txn.open_table(EVENTS)?,
            pid_index: txn.open_table(PID_INDEX)?,
            kind_totals: txn.open_table(KIND_TOTALS)?,
            meta: txn.open_table(META)?,
        })
    }

    /// The sequence number the next appended event gets.
    pub fn next_seq(&self) -> Result<u64, StorageError> {
        Ok(self.meta.get(NEXT_SEQ)?.map_or(0, |seq| seq.value()))
    }

    pub fn set_next_seq(&mut self, seq: u64) -> Result<(), StorageError> {
        self.meta.insert(NEXT_SEQ, seq).map(drop)
    }
}
