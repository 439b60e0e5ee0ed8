use std::ops::Bound;

use redb::ReadTransaction;
use sonde_event::{Event, EventFilter};
use tracing::debug;

use super::codec;
use super::schema::{EventKey, PidKey, EVENTS, PID_INDEX};
use crate::error::{StorageContext, StoreError};
use crate::{Query, QueryResult};

const ACTION: &str = "read events";

/// Answers `query` from the snapshot `txn` sees. A pid filter reads only that
/// pid's index entries; everything else scans the time range.
pub(super) fn run(txn: &ReadTransaction, query: &Query) -> Result<QueryResult, StoreError> {
    let Some(range) = TimeRange::of(query) else {
        return Ok(QueryResult::default());
    };
    let events = txn.open_table(EVENTS).during(ACTION)?;
    let mut collector = Collector::new(query);
    match query.filter.pid {
        Some(pid) => scan_pid(txn, &events, pid, &range, &mut collector)?,
        None => scan_all(&events, &range, &mut collector)?,
    }
    Ok(collector.finish())
}

type EventTable = redb::ReadOnlyTable<EventKey, &'static [u8]>;

fn scan_all(events: &EventTable, range: &TimeRange, out: &mut Collector) -> Result<(), StoreError> {
    let entries = events.range(range.event_keys()).during(ACTION)?;
    for entry in in_order(entries, out.tail) {
        if out.is_full() {
            break;
        }
        let (key, value) = entry.during(ACTION)?;
        out.offer(key.value(), value.value());
    }
    Ok(())
}

fn scan_pid(
    txn: &ReadTransaction,
    events: &EventTable,
    pid: u32,
    range: &TimeRange,
    out: &mut Collector,
) -> Result<(), StoreError> {
    let index = txn.open_table(PID_INDEX).during(ACTION)?;
    let entries = index.range(range.pid_keys(pid)).during(ACTION)?;
    for entry in in_order(entries, out.tail) {
        if out.is_full() {
            break;
        }
        let (_, time_ns, seq) = entry.during(ACTION)?.0.value();
        if let Some(value) = events.get((time_ns, seq)).during(ACTION)? {
            out.offer((time_ns, seq), value.value());
        }
    }
    Ok(())
}

/// Oldest first, or newest first for a tail query.
fn in_order<'a, T: 'a>(
    entries: impl DoubleEndedIterator<Item = T> + 'a,
    newest_first: bool,
) -> Box<dyn Iterator<Item = T> + 'a> {
    if newest_first {
        Box::new(entries.rev())
    } else {
        Box::new(entries)
    }
}

/// `[start, end)` in nanoseconds; `end: None` is open-ended.
struct TimeRange {
    start: u64,
    end: Option<u64>,
}

impl TimeRange {
    /// `None` when the query's range is empty.
    fn of(query: &Query) -> Option<Self> {
        let start = query.since.map_or(0, |t| t.as_nanos());
        let end = query.until.map(|t| t.as_nanos());
        let empty = end.is_some_and(|end| end <= start);
        (!empty).then_some(TimeRange { start, end })
    }

    fn event_keys(&self) -> (Bound<EventKey>, Bound<EventKey>) {
        let end = self
            .end
            .map_or(Bound::Unbounded, |end| Bound::Excluded((end, 0)));
        (Bound::Included((self.start, 0)), end)
    }

    fn pid_keys(&self, pid: u32) -> (Bound<PidKey>, Bound<PidKey>) {
        let end = match self.end {
            Some(end) => Bound::Excluded((pid, end, 0)),
            None => Bound::Included((pid, u64::MAX, u64::MAX)),
        };
        (Bound::Included((pid, self.start, 0)), end)
    }
}

/// Decodes, filters and gathers events until the limit is reached.
struct Collector<'q> {
    filter: &'q EventFilter,
    limit: usize,
    tail: bool,
    events: Vec<Event>,
    skipped_corrupt: u64,
}

impl<'q> Collector<'q> {
    fn new(query: &'q Query) -> Self {
        Collector {
            filter: &query.filter,
            limit: query.limit.unwrap_or(usize::MAX),
            tail: query.tail,
            events: Vec::new(),
            skipped_corrupt: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.events.len() >= self.limit
    }

    fn offer(&mut self, (time_ns, seq): EventKey, value: &[u8]) {
        match codec::decode(value) {
            Ok(event) if self.filter.matches(&event) => self.events.push(event),
            Ok(_) => {}
            Err(err) => {
                self.skipped_corrupt += 1;
                debug!(time_ns, seq, %err, "skipping a stored event that does not decode");
            }
        }
    }

    /// The gathered events, ascending by time.
    fn finish(mut self) -> QueryResult {
        if self.tail {
            self.events.reverse();
        }
        QueryResult {
            events: self.events,
            skipped_corrupt: self.skipped_corrupt,
        }
    }
}
