use sonde_event::{Event, EventFilter, Timestamp};

/// Which stored events to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only events strictly before this time.
    pub until: Option<Timestamp>,
    /// Only events the filter matches.
    pub filter: EventFilter,
    /// At most this many events.
    pub limit: Option<usize>,
    /// With `limit`, keep the newest events instead of the oldest (`--last N`).
    /// The result is ascending by time either way.
    pub tail: bool,
}

impl Query {
    /// The newest `n` events, as `--last N` asks.
    pub fn last(n: usize) -> Self {
        Query {
            limit: Some(n),
            tail: true,
            ..Query::default()
        }
    }
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    /// Matching events, ascending by time, ties in append order.
    pub events: Vec<Event>,
    /// Stored values met on the way that could not be decoded. They are left
    /// in place and not returned.
    pub skipped_corrupt: u64,
}
