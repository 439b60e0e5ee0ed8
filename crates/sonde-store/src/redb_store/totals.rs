//! Per-kind event counts and value bytes, kept in the store file and updated
//! in the same transaction as the events they count.

use std::collections::HashMap;

use redb::{ReadableTable, StorageError, Table};
use sonde_event::EventKind;

/// Events and their encoded value bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Totals {
    pub events: u64,
    pub bytes: u64,
}

/// The stored totals of `kind`.
pub(super) fn read(
    table: &impl ReadableTable<&'static str, (u64, u64)>,
    kind: EventKind,
) -> Result<Totals, StorageError> {
    let stored = table.get(kind.as_str())?.map(|totals| totals.value());
    Ok(stored.map_or_else(Totals::default, |(events, bytes)| Totals { events, bytes }))
}

/// The stored totals of all kinds together.
pub(super) fn read_all(
    table: &impl ReadableTable<&'static str, (u64, u64)>,
) -> Result<Totals, StorageError> {
    EventKind::ALL
        .into_iter()
        .try_fold(Totals::default(), |sum, kind| {
            let totals = read(table, kind)?;
            Ok(Totals {
                events: sum.events + totals.events,
                bytes: sum.bytes + totals.bytes,
            })
        })
}

/// Per-kind changes gathered over one transaction, written once at its end.
#[derive(Debug, Default)]
pub(super) struct TotalsChange(HashMap<EventKind, Totals>);

impl TotalsChange {
    /// Counts one event of `kind` whose value is `bytes` long.
    pub fn record(&mut self, kind: EventKind, bytes: u64) {
        let totals = self.0.entry(kind).or_default();
        totals.events += 1;
        totals.bytes += bytes;
    }

    /// The change summed over all kinds.
    pub fn sum(&self) -> Totals {
        self.0
            .values()
            .fold(Totals::default(), |sum, totals| Totals {
                events: sum.events + totals.events,
                bytes: sum.bytes + totals.bytes,
            })
    }

    /// Records appended events.
    pub fn add_to(&self, table: &mut Table<&'static str, (u64, u64)>) -> Result<(), StorageError> {
        self.apply(table, |stored, change| Totals {
            events: stored.events + change.events,
            bytes: stored.bytes + change.bytes,
        })
    }

    /// Records deleted events.
    pub fn subtract_from(
        &self,
        table: &mut Table<&'static str, (u64, u64)>,
    ) -> Result<(), StorageError> {
        self.apply(table, |stored, change| Totals {
            events: stored.events.saturating_sub(change.events),
            bytes: stored.bytes.saturating_sub(change.bytes),
        })
    }

    fn apply(
        &self,
        table: &mut Table<&'static str, (u64, u64)>,
        combine: impl Fn(Totals, Totals) -> Totals,
    ) -> Result<(), StorageError> {
        for (&kind, &change) in &self.0 {
            let updated = combine(read(table, kind)?, change);
            table.insert(kind.as_str(), (updated.events, updated.bytes))?;
        }
        Ok(())
    }
}
