//! sonde's event store: the [`EventStore`] interface every collector writes
//! through and every reader (API, CLI) queries, and [`RedbStore`], the
//! embedded engine behind it.

mod error;
mod query;
mod redb_store;
mod retention;
mod stats;

pub use error::StoreError;
pub use query::{Query, QueryResult};
pub use redb_store::RedbStore;
pub use retention::{Retention, RetentionReport};
pub use stats::{KindStats, StoreStats};

use serde::Serialize;
use sonde_event::{Event, Timestamp};

/// A durable, time-ordered store of [`Event`]s.
///
/// Shared between the collector that appends and the readers that query, so
/// every method takes `&self`; implementations synchronise internally.
pub trait EventStore: Send + Sync {
    /// Stores `events`, all of them or none. Once this returns `Ok` they are on
    /// disk: a crash afterwards loses none of them.
    fn append(&self, events: &[Event]) -> Result<AppendReport, StoreError>;

    /// The stored events `query` selects, oldest first (ties in append order).
    fn query(&self, query: &Query) -> Result<QueryResult, StoreError>;

    /// Deletes what `retention` no longer allows to keep at time `now`.
    fn apply_retention(
        &self,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<RetentionReport, StoreError>;

    /// What the store holds; cheap enough to call on every status request.
    fn stats(&self) -> Result<StoreStats, StoreError>;
}

/// What one [`EventStore::append`] stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppendReport {
    /// Events stored.
    pub events: usize,
    /// Encoded bytes of those events (the values, without keys or indexes).
    pub bytes: u64,
}
