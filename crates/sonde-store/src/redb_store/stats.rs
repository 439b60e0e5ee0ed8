use redb::{ReadTransaction, ReadableTable};
use sonde_event::{EventKind, Timestamp};

use super::schema::{EVENTS, KIND_TOTALS};
use super::totals;
use crate::error::{StorageContext, StoreError};
use crate::{KindStats, StoreStats};

const ACTION: &str = "read the store's statistics";

/// The statistics `txn` sees: the kept totals and the first and last keys.
pub(super) fn read(txn: &ReadTransaction, file_bytes: u64) -> Result<StoreStats, StoreError> {
    let events = txn.open_table(EVENTS).during(ACTION)?;
    let kind_totals = txn.open_table(KIND_TOTALS).during(ACTION)?;
    let per_kind = EventKind::ALL
        .into_iter()
        .map(|kind| {
            let totals = totals::read(&kind_totals, kind)?;
            Ok(KindStats {
                kind,
                events: totals.events,
                bytes: totals.bytes,
            })
        })
        .collect::<Result<Vec<_>, redb::StorageError>>()
        .during(ACTION)?;
    let first = events.first().during(ACTION)?.map(|(key, _)| key.value());
    let last = events.last().during(ACTION)?.map(|(key, _)| key.value());
    Ok(StoreStats {
        events: per_kind.iter().map(|kind| kind.events).sum(),
        bytes: per_kind.iter().map(|kind| kind.bytes).sum(),
        file_bytes,
        oldest: first.map(|(time_ns, _)| Timestamp(time_ns)),
        newest: last.map(|(time_ns, _)| Timestamp(time_ns)),
        per_kind,
    })
}
