//! Deleting the oldest events: those past the age limit, then more until the
//! stored bytes fit the size limit. One pass from the oldest key serves both.

use std::ops::Bound;

use redb::{ReadableTable, WriteTransaction};
use sonde_event::{EventKind, Timestamp};
use tracing::{debug, warn};

use super::codec;
use super::schema::{pid_key, EventKey, WriteTables};
use super::totals::{self, TotalsChange};
use crate::error::{StorageContext, StoreError};
use crate::{Retention, RetentionReport};

const ACTION: &str = "delete old events";

/// Events deleted per round, bounding the memory a large deletion takes.
const ROUND: usize = 4096;

/// Deletes in `txn` what `retention` does not allow to keep at `now`.
pub(super) fn apply(
    txn: &WriteTransaction,
    retention: &Retention,
    now: Timestamp,
) -> Result<RetentionReport, StoreError> {
    let mut tables = WriteTables::open(txn).during(ACTION)?;
    let stored = totals::read_all(&tables.kind_totals).during(ACTION)?;
    let mut budget = Budget::new(retention, now, stored.bytes);
    let mut report = RetentionReport::default();
    let mut from = Bound::Unbounded;
    loop {
        let round = select_round(&tables, from, &mut budget)?;
        report.skipped_corrupt += round.corrupt;
        delete(&mut tables, &round.victims, &mut report)?;
        match round.resume_after {
            Some(key) => from = Bound::Excluded(key),
            None => break,
        }
    }
    if report.skipped_corrupt > 0 {
        warn!(
            kept = report.skipped_corrupt,
            "kept expired events that do not decode"
        );
    }
    Ok(report)
}

/// Which events are still due for deletion, as the oldest ones go.
struct Budget {
    /// Events before this time are expired.
    cutoff_ns: u64,
    max_bytes: u64,
    /// Stored bytes once the events selected so far are deleted.
    remaining_bytes: u64,
}

impl Budget {
    fn new(retention: &Retention, now: Timestamp, stored_bytes: u64) -> Self {
        let max_age_ns =
            |age: std::time::Duration| u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
        Budget {
            cutoff_ns: retention
                .max_age
                .map_or(0, |age| now.as_nanos().saturating_sub(max_age_ns(age))),
            max_bytes: retention.max_bytes.unwrap_or(u64::MAX),
            remaining_bytes: stored_bytes,
        }
    }

    fn wants(&self, time_ns: u64) -> bool {
        time_ns < self.cutoff_ns || self.remaining_bytes > self.max_bytes
    }
}

/// An event chosen for deletion, with what its index entry and totals need.
struct Victim {
    key: EventKey,
    /// Indexed under this pid, if the event is about a process.
    pid: Option<u32>,
    kind: EventKind,
    bytes: u64,
}

#[derive(Default)]
struct Round {
    victims: Vec<Victim>,
    corrupt: u64,
    /// Where the next round starts; `None` when nothing more is due.
    resume_after: Option<EventKey>,
}

/// Picks up to [`ROUND`] events due for deletion, oldest first, from `from` on.
fn select_round(
    tables: &WriteTables,
    from: Bound<EventKey>,
    budget: &mut Budget,
) -> Result<Round, StoreError> {
    let mut round = Round::default();
    for entry in tables
        .events
        .range((from, Bound::Unbounded))
        .during(ACTION)?
    {
        let (key, value) = entry.during(ACTION)?;
        let key = key.value();
        if !budget.wants(key.0) {
            return Ok(round);
        }
        let value = value.value();
        match codec::decode(value) {
            Ok(event) => {
                let bytes = value.len() as u64;
                budget.remaining_bytes = budget.remaining_bytes.saturating_sub(bytes);
                let (pid, kind) = (event.pid(), event.kind());
                round.victims.push(Victim {
                    key,
                    pid,
                    kind,
                    bytes,
                });
            }
            Err(err) => {
                round.corrupt += 1;
                debug!(time_ns = key.0, seq = key.1, %err, "keeping a stored event that does not decode");
            }
        }
        if round.victims.len() == ROUND {
            round.resume_after = Some(key);
            return Ok(round);
        }
    }
    Ok(round)
}

/// Deletes `victims` with their index entries and takes them off the totals.
fn delete(
    tables: &mut WriteTables,
    victims: &[Victim],
    report: &mut RetentionReport,
) -> Result<(), StoreError> {
    let mut change = TotalsChange::default();
    for victim in victims {
        tables.events.remove(victim.key).during(ACTION)?;
        if let Some(pid) = victim.pid {
            tables
                .pid_index
                .remove(pid_key(pid, victim.key))
                .during(ACTION)?;
        }
        change.record(victim.kind, victim.bytes);
    }
    change
        .subtract_from(&mut tables.kind_totals)
        .during(ACTION)?;
    let deleted = change.sum();
    report.deleted_events += deleted.events;
    report.deleted_bytes += deleted.bytes;
    Ok(())
}
