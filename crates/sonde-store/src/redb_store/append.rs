use redb::WriteTransaction;
use sonde_event::Event;

use super::codec;
use super::schema::{pid_key, WriteTables};
use super::totals::TotalsChange;
use crate::error::{StorageContext, StoreError};

const ACTION: &str = "append events";

/// Writes `events`, their pid index entries and the updated totals in `txn`;
/// returns the value bytes written.
pub(super) fn append(txn: &WriteTransaction, events: &[Event]) -> Result<u64, StoreError> {
    let mut tables = WriteTables::open(txn).during(ACTION)?;
    let mut seq = tables.next_seq().during(ACTION)?;
    let mut change = TotalsChange::default();
    for event in events {
        let value = codec::encode(event)?;
        let key = (event.time().as_nanos(), seq);
        tables.events.insert(key, value.as_slice()).during(ACTION)?;
        // Events about no known process (a drop on the wire) are not indexed.
        if let Some(pid) = event.pid() {
            tables
                .pid_index
                .insert(pid_key(pid, key), ())
                .during(ACTION)?;
        }
        change.record(event.kind(), value.len() as u64);
        seq += 1;
    }
    tables.set_next_seq(seq).during(ACTION)?;
    change.add_to(&mut tables.kind_totals).during(ACTION)?;
    Ok(change.sum().bytes)
}
